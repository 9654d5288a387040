// Datasets by name for training configs and the quickstart. Each entry returns in-memory arrays for its splits.
import { existsSync } from 'node:fs';
import { readIdx } from '../data/idx.js';
import type { SourceSpec } from '../data/loader.js';
export { readIdx };
import { join } from 'node:path';
import { z } from 'zod';
import { ndarray, type NDArray } from '../graph/ndarray.js';
import { packageRoot } from '../util/package-root.js';

export type Split = {
  readonly x: NDArray;
  readonly y: NDArray;
};
export interface DatasetSplits {
  readonly train: Split;
  readonly test: Split;
  readonly classes: readonly string[];
  readonly source: string;
}

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
export const FASHION_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

/** Normalised images [N, 1, 28, 28] (mean 0.2860, std 0.3530, as commonly used for Fashion-MNIST) and int64 labels. */
function loadIdxPair(dir: string, prefix: 'train' | 't10k', limit?: number): Split {
  const imgs = readIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  if (imgs.dims[0] !== labels.dims[0]) throw new Error(`${dir}: ${imgs.dims[0]} images but ${labels.dims[0]} labels in ${prefix}`);
  const n = Math.min(imgs.dims[0], limit ?? Infinity);
  const px = imgs.dims[1] * imgs.dims[2];
  const x = new Float32Array(n * px);
  for (let i = 0; i < n * px; i++) x[i] = (imgs.data[i] / 255 - 0.286) / 0.353;
  return {
    x: ndarray('float32', [n, 1, imgs.dims[1], imgs.dims[2]], x),
    y: ndarray('int64', [n], Array.from(labels.data.subarray(0, n))),
  };
}

function findFashionDir(root?: string): string {
  const candidates = [root, process.env.LATHE_FASHION_MNIST, FASHION_SYSTEM_DIR].filter((d): d is string => !!d);
  for (const d of candidates) if (existsSync(join(d, 'train-images-idx3-ubyte.gz'))) return d;
  throw new Error(
    `Fashion-MNIST not found (looked in ${candidates.join(', ')}). Pass data.root, set LATHE_FASHION_MNIST, ` +
      `or install Debian's dataset-fashion-mnist.`,
  );
}

export interface DatasetEntry {
  readonly name: string;
  readonly description: string;
  readonly inputShape: readonly number[];
  load(opts: { root?: string; limit?: number }): DatasetSplits;
  /** Where workers can rebuild the training split (decoded and augmented off the main thread). */
  trainSource?(opts: { root?: string; augment: boolean }): SourceSpec;
}

const registry = new Map<string, DatasetEntry>();
export function registerDataset(e: DatasetEntry): void {
  registry.set(e.name, e);
}
export function getDataset(name: string): DatasetEntry {
  const e = registry.get(name);
  if (!e) throw new Error(`unknown dataset "${name}" (known: ${[...registry.keys()].sort().join(', ')})`);
  return e;
}
export const datasetNames = (): string[] => [...registry.keys()].sort();

registerDataset({
  name: 'fashion-mnist',
  description: 'Fashion-MNIST, 60,000 train / 10,000 test 28×28 greyscale images in 10 classes (MIT, Zalando Research)',
  inputShape: [1, 28, 28],
  load: ({ root, limit }) => {
    const dir = findFashionDir(root);
    return { train: loadIdxPair(dir, 'train', limit), test: loadIdxPair(dir, 't10k'), classes: FASHION_CLASSES, source: dir };
  },
  trainSource: ({ root, augment }) => fashionSpec(findFashionDir(root), augment),
});

/** The subset shipped in the repository for the quickstart (data/fashion-mnist-subset). */
export const FASHION_SUBSET_DIR = (): string => join(packageRoot(), 'data', 'fashion-mnist-subset');

registerDataset({
  name: 'fashion-mnist-subset',
  description: 'the Fashion-MNIST subset shipped with lathe (data/fashion-mnist-subset): a class-balanced slice of train and test',
  inputShape: [1, 28, 28],
  load: ({ root, limit }) => {
    const dir = root ?? FASHION_SUBSET_DIR();
    return { train: loadIdxPair(dir, 'train', limit), test: loadIdxPair(dir, 't10k'), classes: FASHION_CLASSES, source: dir };
  },
  trainSource: ({ root, augment }) => fashionSpec(root ?? FASHION_SUBSET_DIR(), augment),
});

function fashionSpec(dir: string, augment: boolean): SourceSpec {
  return { module: new URL('../data/fashion.js', import.meta.url).href, export: 'fashionSource', options: { dir, split: 'train', augment } };
}

export const datasetOptions = z.object({ root: z.string().optional(), limit: z.number().int().positive().optional() });
