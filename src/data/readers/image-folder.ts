// Image folders: root/<class>/<image>.{png,jpg,jpeg,webp}, one class per subfolder (sorted names → indices),
// decoded and resized with sharp when a sample is read. Samples: { x: float32 [C, H, W] in [0, 1], y: class }.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { assertIndex, type Dataset } from '../dataset.js';
import type { NDArray } from '../../graph/ndarray.js';

export interface ImageFolderOptions {
  readonly root: string;
  /** Every image is resized to this (square or [height, width]); aspect ratio is not kept ('fill'). */
  readonly size: number | readonly [number, number];
  /** 1: greyscale, 3: RGB (default 3); alpha is dropped. */
  readonly channels?: 1 | 3;
  readonly extensions?: readonly string[];
}

export interface ImageFolderDataset extends Dataset {
  readonly classes: readonly string[];
  readonly files: readonly { readonly path: string; readonly label: number }[];
}

/** Decodes one image file to float32 [C, H, W] in [0, 1]. */
export async function decodeImage(path: string, size: readonly [number, number], channels: 1 | 3): Promise<NDArray<'float32'>> {
  const [h, w] = size;
  let raw: Buffer;
  try {
    let img = sharp(path).resize(w, h, { fit: 'fill' }).removeAlpha();
    img = channels === 1 ? img.greyscale() : img.toColourspace('srgb');
    raw = await img.raw().toBuffer();
  } catch (e) {
    throw new Error(`${path}: cannot decode image (${(e as Error).message})`);
  }
  const got = raw.length / (h * w);
  if (got !== channels) throw new Error(`${path}: decoded ${got} channels, expected ${channels}`);
  const x = new Float32Array(channels * h * w);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < channels; k++) x[k * h * w + p] = raw[p * channels + k] / 255; // HWC → CHW
  return { dtype: 'float32', shape: [channels, h, w], data: x };
}

/** Lists root/<class>/* and returns a Dataset that decodes lazily (so workers decode in parallel). */
export function imageFolder(o: ImageFolderOptions): ImageFolderDataset {
  const exts = new Set((o.extensions ?? ['.png', '.jpg', '.jpeg', '.webp']).map((e) => e.toLowerCase()));
  const size: [number, number] = typeof o.size === 'number' ? [o.size, o.size] : [o.size[0], o.size[1]];
  const channels = o.channels ?? 3;
  let entries: string[];
  try {
    entries = readdirSync(o.root).sort();
  } catch (e) {
    throw new Error(`imageFolder: cannot read ${o.root} (${(e as Error).message})`);
  }
  const classes = entries.filter((d) => statSync(join(o.root, d)).isDirectory());
  if (classes.length === 0) throw new Error(`imageFolder: ${o.root} has no class subfolders`);
  const files = classes.flatMap((c, label) =>
    readdirSync(join(o.root, c))
      .sort()
      .filter((f) => exts.has(extname(f).toLowerCase()))
      .map((f) => ({ path: join(o.root, c, f), label })),
  );
  return {
    length: files.length,
    classes,
    files,
    describe: (i) => files[i]?.path,
    async get(i) {
      assertIndex(i, files.length, `imageFolder ${o.root}`);
      const f = files[i];
      return { x: await decodeImage(f.path, size, channels), y: f.label };
    },
  };
}
