// Fashion-MNIST as a SampleSource for DataLoader (decoded and augmented in worker threads), plus the official
// download with checksums into a cache directory for machines without a local copy.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ndarray } from '../graph/ndarray.js';
import { readIdx } from './idx.js';
import type { SampleSource } from './loader.js';
import { writeAtomicFile } from '../util/write-atomic.js';

export const FASHION_MEAN = 0.286;
export const FASHION_STD = 0.353;

/** The official files and their MD5 sums (github.com/zalandoresearch/fashion-mnist). */
export const FASHION_FILES: Readonly<Record<string, string>> = {
  'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
  't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
  't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
};
export const FASHION_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
export const fashionCacheDir = (): string => process.env.LATHE_CACHE ? join(process.env.LATHE_CACHE, 'fashion-mnist') : join(homedir(), '.cache', 'lathe', 'fashion-mnist');

/**
 * Makes sure the four files are in `dir` (default: the cache dir), downloading missing ones from `baseUrl` and
 * verifying their MD5 sums; a file with a wrong sum is rejected, and nothing partial is left behind.
 */
export async function downloadFashionMnist(opts: { dir?: string; baseUrl?: string; fetchImpl?: typeof fetch; files?: Readonly<Record<string, string>> } = {}): Promise<string> {
  const dir = opts.dir ?? fashionCacheDir();
  mkdirSync(dir, { recursive: true });
  const base = opts.baseUrl ?? FASHION_URL;
  const get = opts.fetchImpl ?? fetch;
  for (const [name, md5] of Object.entries(opts.files ?? FASHION_FILES)) {
    const path = join(dir, name);
    if (existsSync(path) && createHash('md5').update(readFileSync(path)).digest('hex') === md5) continue;
    const res = await get(new URL(name, base));
    if (!res.ok) throw new Error(`Fashion-MNIST download: ${base}${name}: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const got = createHash('md5').update(bytes).digest('hex');
    if (got !== md5) throw new Error(`Fashion-MNIST download: ${name} has MD5 ${got}, expected ${md5} (corrupt or tampered download)`);
    writeAtomicFile(path, bytes);
  }
  return dir;
}

export interface FashionSourceOptions {
  readonly dir: string;
  readonly split: 'train' | 'test';
  /** Random crop (padding 2) and horizontal flip, seeded per (seed, epoch, index). */
  readonly augment?: boolean;
}

/** A SampleSource over Fashion-MNIST IDX files: { x: float32 [1,28,28] normalised, y: label }. */
export function fashionSource(o: FashionSourceOptions): SampleSource {
  const prefix = o.split === 'train' ? 'train' : 't10k';
  const imgs = readIdx(join(o.dir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(o.dir, `${prefix}-labels-idx1-ubyte.gz`));
  const [n, h, w] = imgs.dims;
  return {
    length: n,
    get(i, ctx) {
      const px = imgs.data.subarray(i * h * w, (i + 1) * h * w);
      const x = new Float32Array(h * w);
      if (o.augment) {
        const dy = Math.floor(ctx.random() * 5) - 2;
        const dx = Math.floor(ctx.random() * 5) - 2;
        const flip = ctx.random() < 0.5;
        const bg = (0 - FASHION_MEAN) / FASHION_STD;
        for (let r = 0; r < h; r++)
          for (let c = 0; c < w; c++) {
            const sr = r + dy;
            const sc0 = c + dx;
            const sc = flip ? w - 1 - sc0 : sc0;
            x[r * w + c] = sr < 0 || sr >= h || sc < 0 || sc >= w ? bg : (px[sr * w + sc] / 255 - FASHION_MEAN) / FASHION_STD;
          }
      } else for (let k = 0; k < h * w; k++) x[k] = (px[k] / 255 - FASHION_MEAN) / FASHION_STD;
      return { x: ndarray('float32', [1, h, w], x), y: labels.data[i] };
    },
  };
}
