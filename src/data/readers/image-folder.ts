// Image folders: root/<class>/<image>.{png,jpg,jpeg,webp}, one class per subfolder (sorted names → indices),
// decoded (common PNGs in JS, the rest by sharp) and resized as Pillow does when a sample is read.
// Samples: { x: float32 [C, H, W] in [0, 1], y: class }.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { assertIndex, type Dataset } from '../dataset.js';
import type { NDArray } from '../../graph/ndarray.js';
import { withDefaults } from '../transforms/transform.js';
import { resample2d, type Interpolation } from '../transforms/resample2d.js';
import { decodePng, type RawImage } from './png.js';

/**
 * Options of {@link imageFolder}: the root folder (one subfolder per class), the output size, the channel count and the
 * file extensions to read.
 */
export interface ImageFolderOptions {
  readonly root: string;
  /** Every image is resized to this (square or [height, width]); aspect ratio is not kept ('fill'). */
  readonly size: number | readonly [number, number];
  /** 1: greyscale (PIL's convert('L') luma), 3: RGB (default 3); alpha is dropped. */
  readonly channels?: 1 | 3;
  readonly extensions?: readonly string[];
  /** Resampling filter when an image is not already `size` (default 'bilinear', as torchvision's Resize). */
  readonly interpolation?: Interpolation;
  /** Widen the filter when shrinking (default true: PIL, and so torchvision on PIL images, always do). */
  readonly antialias?: boolean;
}

export interface ImageFolderDataset extends Dataset {
  readonly classes: readonly string[];
  readonly files: readonly { readonly path: string; readonly label: number }[];
}

/** How `decodeImage` makes the pixels: PIL's conventions (see resample2d.ts). */
export interface DecodeOptions {
  /** Resampling filter (default 'bilinear', torchvision's Resize default). */
  readonly interpolation?: Interpolation;
  /** Widen the filter when shrinking, as PIL always does (default true). */
  readonly antialias?: boolean;
}

/**
 * Reads and decodes a file to 8-bit pixels: common PNGs in JS (png.ts), everything else with sharp (as sRGB). The
 * file is read synchronously: for dataset-sized files that costs a tenth of fs.promises.readFile's CPU (its open,
 * stat, read and close are four thread-pool round trips), and decoding belongs in worker threads anyway.
 */
export async function decodeRaw(path: string): Promise<RawImage> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  const png = decodePng(bytes, path);
  if (png) return png;
  try {
    const { data, info } = await sharp(bytes)
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3 after sRGB conversion`);
    return { width: info.width, height: info.height, channels: 3, data };
  } catch (e) {
    throw new Error(`${path}: cannot decode image (${(e as Error).message})`);
  }
}

/** Interleaved 8-bit pixels to planes [C, H, W]: grey by PIL's convert('L') luma, RGB replicating grey; alpha dropped. */
export function toPlanes(img: RawImage, channels: 1 | 3): Uint8Array {
  const n = img.width * img.height;
  const s = img.channels;
  const d = img.data;
  const out = new Uint8Array(channels * n);
  if (channels === 1) {
    if (s <= 2) for (let p = 0; p < n; p++) out[p] = d[p * s];
    // PIL's L24: (r·19595 + g·38470 + b·7471 + 0x8000) >> 16
    else
      for (let p = 0; p < n; p++)
        out[p] = (d[p * s] * 19595 + d[p * s + 1] * 38470 + d[p * s + 2] * 7471 + 0x8000) >>> 16;
  } else if (s <= 2) {
    for (let p = 0; p < n; p++) out[p] = out[n + p] = out[2 * n + p] = d[p * s];
  } else {
    for (let p = 0; p < n; p++) (out[p] = d[p * s]), (out[n + p] = d[p * s + 1]), (out[2 * n + p] = d[p * s + 2]);
  }
  return out;
}

/**
 * Decodes one image file to float32 [C, H, W] in [0, 1] as torchvision's PIL path does: 8-bit pixels, `channels: 1`
 * by PIL's convert('L') luma (R·299 + G·587 + B·114)/1000 in its fixed-point form, alpha dropped, and PIL's resize
 * (8-bit rounding after each pass). An image already at `size` is not resampled.
 */
export async function decodeImage(
  path: string,
  size: readonly [number, number],
  channels: 1 | 3,
  o: DecodeOptions = {},
): Promise<NDArray<'float32'>> {
  const [h, w] = size;
  const img = await decodeRaw(path);
  const planes = toPlanes(img, channels);
  const out = new Float32Array(channels * h * w);
  if (img.height === h && img.width === w) {
    for (let i = 0; i < out.length; i++) out[i] = planes[i] / 255;
  } else {
    const sized = resample2d(
      planes,
      channels,
      img.height,
      img.width,
      h,
      w,
      o.interpolation ?? 'bilinear',
      o.antialias ?? true,
      true,
    );
    for (let i = 0; i < out.length; i++) out[i] = sized[i] / 255;
  }
  return { dtype: 'float32', shape: [channels, h, w], data: out };
}

/** Lists root/<class>/* and returns a Dataset that decodes lazily (so workers decode in parallel). */
export function imageFolder(options: ImageFolderOptions): ImageFolderDataset {
  const o = withDefaults<ImageFolderOptions>(
    'imageFolder',
    {
      root: '',
      size: 0,
      channels: 3,
      extensions: ['.png', '.jpg', '.jpeg', '.webp'],
      interpolation: 'bilinear',
      antialias: true,
    },
    options,
  );
  if (!['nearest', 'bilinear', 'bicubic'].includes(o.interpolation))
    throw new Error(
      `imageFolder: interpolation must be nearest, bilinear or bicubic, got ${JSON.stringify(o.interpolation)}`,
    );
  if (o.channels !== 1 && o.channels !== 3)
    throw new Error(`imageFolder: channels must be 1 or 3, got ${JSON.stringify(o.channels)}`);
  const exts = new Set(o.extensions.map((e) => e.toLowerCase()));
  const size: [number, number] = typeof o.size === 'number' ? [o.size, o.size] : [o.size[0], o.size[1]];
  const channels = o.channels;
  const decode = { interpolation: o.interpolation, antialias: o.antialias };
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
      return { x: await decodeImage(f.path, size, channels, decode), y: f.label };
    },
  };
}
