// Fashion-MNIST (MIT, Zalando Research): the dataset found locally or downloaded with checksums, the subset shipped
// in the repository for the quickstart, and a worker-rebuildable source with augmentation.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readIdx } from './idx.js';
import { assertIndex, type Dataset, type SampleContext } from './dataset.js';
import type { Sample } from './tensor.js';
import type { NDArray } from '../graph/ndarray.js';
import { packageRoot } from '../util/package-root.js';
import { writeAtomicFile } from '../util/write-atomic.js';

/** Mean and standard deviation of the training pixels scaled to [0, 1]. */
export const FASHION_MEAN = 0.286;
/** Standard deviation of the Fashion-MNIST training pixels scaled to [0, 1]. */
export const FASHION_STD = 0.353;
/** The ten Fashion-MNIST class names, in label order (0 = 'T-shirt/top' … 9 = 'Ankle boot'). */
export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The official files and their MD5 sums as published by the project (github.com/zalandoresearch/fashion-mnist). */
export const FASHION_FILES: Readonly<Record<string, string>> = {
  'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
  't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
  't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
};
/** The project's canonical download location. */
export const FASHION_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
/** The download cache folder: $LATHE_CACHE/fashion-mnist when LATHE_CACHE is set, else ~/.cache/lathe/fashion-mnist. */
export const fashionCacheDir = (): string =>
  process.env.LATHE_CACHE
    ? join(process.env.LATHE_CACHE, 'fashion-mnist')
    : join(homedir(), '.cache', 'lathe', 'fashion-mnist');
/** The class-balanced subset shipped in the repository (data/fashion-mnist-subset). */
export const fashionSubsetDir = (): string => join(packageRoot(), 'data', 'fashion-mnist-subset');

/** A Fashion-MNIST split: 'train' (60,000 images, files train-*) or 'test' (10,000 images, files t10k-*). */
export type FashionSplit = 'train' | 'test';
const prefix = (split: FashionSplit): string => (split === 'train' ? 'train' : 't10k');
const hasSplit = (dir: string, split: FashionSplit): boolean =>
  existsSync(join(dir, `${prefix(split)}-images-idx3-ubyte.gz`)) &&
  existsSync(join(dir, `${prefix(split)}-labels-idx1-ubyte.gz`));

/**
 * Options of {@link downloadFashionMnist}: target folder, mirror URL (default the official one), fetch function and the
 * expected files with their MD5 sums.
 */
export interface DownloadOptions {
  /** Target folder (default: the cache dir, ~/.cache/lathe/fashion-mnist or $LATHE_CACHE/fashion-mnist). */
  readonly dir?: string;
  readonly baseUrl?: string;
  /** The fetch implementation used for downloads (default: the global `fetch`); tests pass a stub. */
  readonly fetchImpl?: typeof fetch;
  /** File name → MD5 (default: the four official files). */
  readonly files?: Readonly<Record<string, string>>;
}

/**
 * Makes sure the files are in `dir`, downloading missing ones from `baseUrl` and verifying their MD5 sums; a file
 * with a wrong sum is rejected and nothing partial is left behind (each file is written atomically after the check).
 */
export async function downloadFashionMnist(opts: DownloadOptions = {}): Promise<string> {
  const dir = opts.dir ?? fashionCacheDir();
  mkdirSync(dir, { recursive: true });
  const base = opts.baseUrl ?? FASHION_URL;
  const get = opts.fetchImpl ?? fetch;
  for (const [name, md5] of Object.entries(opts.files ?? FASHION_FILES)) {
    const path = join(dir, name);
    if (existsSync(path) && createHash('md5').update(readFileSync(path)).digest('hex') === md5) continue;
    const url = new URL(name, base);
    let res: Response;
    try {
      res = await get(url);
    } catch (e) {
      throw new Error(`Fashion-MNIST download: ${url}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new Error(`Fashion-MNIST download: ${url}: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const got = createHash('md5').update(bytes).digest('hex');
    if (got !== md5)
      throw new Error(`Fashion-MNIST download: ${name} has MD5 ${got}, expected ${md5} (corrupt or tampered download)`);
    writeAtomicFile(path, bytes);
  }
  return dir;
}

/**
 * Options of {@link fashionMnist}: which split, where to look for the files (`root` alone when given, else
 * $LATHE_FASHION_MNIST, the system dir and the cache dir), whether to download when none is found, and pixel scaling.
 */
export interface FashionOptions {
  readonly split: FashionSplit;
  /** A folder holding the four IDX .gz files; looked at first. */
  readonly root?: string;
  /** Download into the cache dir when no local copy is found (default true). */
  readonly download?: boolean;
  /** Overrides for tests and mirrors. */
  readonly cacheDir?: string;
  readonly systemDir?: string;
  readonly baseUrl?: string;
  readonly files?: Readonly<Record<string, string>>;
  /** Samples' x: 'standard' (mean/std normalised, default) or 'unit' ([0, 1]). */
  readonly scale?: 'standard' | 'unit';
}

/** A Fashion-MNIST split: a Dataset of `{ x: float32 [1,28,28], y: label }` plus the raw arrays. */
export interface FashionDataset extends Dataset {
  readonly dir: string;
  readonly images: NDArray<'uint8'>;
  readonly labels: NDArray<'uint8'>;
  readonly classes: readonly string[];
  /** Sample i (no randomness: augment with transforms). */
  get(index: number, ctx?: SampleContext): Sample;
  /** The whole split as arrays `{ x: float32 [N,1,28,28], y: int64 [N] }` (for ArrayLoader). */
  toArrays(): { readonly x: NDArray<'float32'>; readonly y: NDArray<'int64'> };
}

/** `root` if given (and nothing else), else the first of $LATHE_FASHION_MNIST, the system dir and the cache dir that holds `split`. */
export function findFashionMnist(o: Omit<FashionOptions, 'download'>): string | undefined {
  const candidates = o.root
    ? [o.root]
    : [process.env.LATHE_FASHION_MNIST, o.systemDir ?? FASHION_SYSTEM_DIR, o.cacheDir ?? fashionCacheDir()];
  return candidates.find((d): d is string => !!d && hasSplit(d, o.split));
}

/**
 * Fashion-MNIST from `root` (only there, when given), else $LATHE_FASHION_MNIST, else /usr/share/datasets/fashion-mnist, else the cache dir,
 * else downloaded from the official location into the cache dir with checksums verified.
 */
export async function fashionMnist(o: FashionOptions): Promise<FashionDataset> {
  let dir = findFashionMnist(o);
  if (!dir) {
    if (o.root)
      throw new Error(
        `Fashion-MNIST: ${o.root} has no ${prefix(o.split)}-images-idx3-ubyte.gz / ${prefix(o.split)}-labels-idx1-ubyte.gz`,
      );
    if (o.download === false)
      throw new Error(
        `Fashion-MNIST not found (looked in $LATHE_FASHION_MNIST, ${o.systemDir ?? FASHION_SYSTEM_DIR}, ${o.cacheDir ?? fashionCacheDir()}) and download is off`,
      );
    dir = await downloadFashionMnist({ dir: o.cacheDir ?? fashionCacheDir(), baseUrl: o.baseUrl, files: o.files });
  }
  return fashionFromDir(dir, o.split, o.scale);
}

/** The subset shipped with lathe (8,000 train / 2,000 test images, class-balanced): what `lathe quickstart` trains on. */
export function fashionMnistSubset(split: FashionSplit, scale: 'standard' | 'unit' = 'standard'): FashionDataset {
  return fashionFromDir(fashionSubsetDir(), split, scale);
}

/** Reads a split from a folder of IDX .gz files. */
export function fashionFromDir(
  dir: string,
  split: FashionSplit,
  scale: 'standard' | 'unit' = 'standard',
): FashionDataset {
  const imgs = readIdx(join(dir, `${prefix(split)}-images-idx3-ubyte.gz`));
  const labs = readIdx(join(dir, `${prefix(split)}-labels-idx1-ubyte.gz`));
  if (imgs.dims.length !== 3)
    throw new Error(`${dir}: ${prefix(split)} images have rank ${imgs.dims.length}, expected 3`);
  if (imgs.dims[0] !== labs.dims[0])
    throw new Error(`${dir}: ${imgs.dims[0]} images but ${labs.dims[0]} labels in ${prefix(split)}`);
  const [n, h, w] = imgs.dims;
  const px = h * w;
  const [mean, std] = scale === 'standard' ? [FASHION_MEAN, FASHION_STD] : [0, 1];
  const lut = Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean) / std);
  return {
    dir,
    length: n,
    classes: FASHION_CLASSES,
    images: { dtype: 'uint8', shape: [n, h, w], data: imgs.data },
    labels: { dtype: 'uint8', shape: [n], data: labs.data },
    get(i) {
      assertIndex(i, n, `Fashion-MNIST ${split}`);
      const x = new Float32Array(px);
      const src = imgs.data.subarray(i * px, (i + 1) * px);
      for (let k = 0; k < px; k++) x[k] = lut[src[k]];
      return { x: { dtype: 'float32', shape: [1, h, w], data: x }, y: labs.data[i] };
    },
    toArrays() {
      const x = new Float32Array(n * px);
      for (let k = 0; k < n * px; k++) x[k] = lut[imgs.data[k]];
      const y = BigInt64Array.from(labs.data, (v) => BigInt(v));
      return { x: { dtype: 'float32', shape: [n, 1, h, w], data: x }, y: { dtype: 'int64', shape: [n], data: y } };
    },
  };
}

/** Options of {@link fashionSource}: the folder holding the IDX files, the split, and whether to augment. */
export interface FashionSourceOptions {
  readonly dir: string;
  readonly split: FashionSplit;
  /** Random crop (padding 2) and horizontal flip, seeded per (seed, epoch, index). */
  readonly augment?: boolean;
}

/** A worker-rebuildable Dataset over a Fashion-MNIST folder: { x: float32 [1,28,28] normalised, y: label }. */
export function fashionSource(o: FashionSourceOptions): Dataset {
  const base = fashionFromDir(o.dir, o.split);
  if (!o.augment) return base;
  const h = base.images.shape[1];
  const w = base.images.shape[2];
  const bg = (0 - FASHION_MEAN) / FASHION_STD;
  return {
    length: base.length,
    get(i, ctx) {
      assertIndex(i, base.length, `Fashion-MNIST ${o.split}`);
      const px = base.images.data.subarray(i * h * w, (i + 1) * h * w);
      const dy = Math.floor(ctx.random() * 5) - 2;
      const dx = Math.floor(ctx.random() * 5) - 2;
      const flip = ctx.random() < 0.5;
      const x = new Float32Array(h * w);
      for (let r = 0; r < h; r++)
        for (let c = 0; c < w; c++) {
          const sr = r + dy;
          const sc0 = c + dx;
          const sc = flip ? w - 1 - sc0 : sc0;
          x[r * w + c] =
            sr < 0 || sr >= h || sc < 0 || sc >= w ? bg : (px[sr * w + sc] / 255 - FASHION_MEAN) / FASHION_STD;
        }
      return { x: { dtype: 'float32', shape: [1, h, w], data: x }, y: base.labels.data[i] };
    },
  };
}
