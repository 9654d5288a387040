// The catalog of named datasets that configs, `lathe train`, `lathe predict` and serving refer to by name, with the
// metadata a model trained on them needs at inference: input shape, class names, input normalisation. Dataset
// *kinds* for pipelines described as data (idx, csv, image-folder, ...) are a separate registry (registry.ts).
import { existsSync } from 'node:fs';
import type { NDArray } from '../graph/ndarray.js';
import {
  FASHION_CLASSES,
  FASHION_MEAN,
  FASHION_STD,
  fashionFromDir,
  fashionSubsetDir,
  findFashionMnist,
  FASHION_SYSTEM_DIR,
  type FashionSplit,
} from './fashion.js';
import type { SourceSpec } from './loader.js';

/** One split as arrays: inputs x [N, ...] and targets y [N]. (A type, not an interface: it is passed as a record of arrays.) */
export type Split = {
  readonly x: NDArray;
  readonly y: NDArray;
};

/** A catalog dataset loaded in memory: train and test splits as arrays, the class names, and where it was read from. */
export interface DatasetSplits {
  readonly train: Split;
  readonly test: Split;
  readonly classes: readonly string[];
  /** Where the data was read from. */
  readonly source: string;
}

/** What inference needs to know about data a model was trained on. */
export interface DatasetInfo {
  readonly name: string;
  readonly description: string;
  /** Per-sample input shape, e.g. [1, 28, 28]. */
  readonly inputShape: readonly number[];
  readonly classes?: readonly string[];
  /** Inputs are fed as (pixel / 255 − mean) / std, per channel. */
  readonly normalization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

export interface CatalogDataset extends DatasetInfo {
  /** The splits in memory; `root` names the folder to read (it must exist), `limit` caps the training rows. */
  load(opts: { root?: string; limit?: number }): DatasetSplits;
  /** The folder `load` reads for this `root` (what a run's dataset fingerprint hashes); throws when it is missing. */
  locate?(root?: string): string;
  /** Where workers can rebuild the training split (decoded and augmented off the main thread). */
  trainSource?(opts: { root?: string; augment: boolean }): SourceSpec;
}

const catalog = new Map<string, CatalogDataset>();

/** Adds (or replaces) a named dataset. */
export function registerDataset(d: CatalogDataset): void {
  catalog.set(d.name, d);
}

/** The catalog entry named `name`; throws an Error listing the known names when there is none. */
export function getDataset(name: string): CatalogDataset {
  const d = catalog.get(name);
  if (!d) throw new Error(`unknown dataset "${name}" (known: ${datasetNames().join(', ')})`);
  return d;
}

/** The names of every dataset in the catalog, sorted. */
export const datasetNames = (): string[] => [...catalog.keys()].sort();

function fashionSplits(dir: string, limit?: number): DatasetSplits {
  const arrays = (split: FashionSplit, cap?: number): Split => {
    const { x, y } = fashionFromDir(dir, split).toArrays();
    const n = Math.min(x.shape[0], cap ?? Infinity);
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
    return {
      x: { dtype: 'float32', shape: [n, ...x.shape.slice(1)], data: x.data.subarray(0, n * row) },
      y: { dtype: 'int64', shape: [n], data: y.data.subarray(0, n) },
    };
  };
  return { train: arrays('train', limit), test: arrays('test'), classes: FASHION_CLASSES, source: dir };
}

/** The folder to read: `root` when the user names one (it must hold the files), else the first standard place. */
function fashionDir(root: string | undefined): string {
  if (root !== undefined && !existsSync(root)) throw new Error(`data.root: ${root} does not exist`);
  const dir = findFashionMnist({ root, split: 'train' });
  if (dir) return dir;
  if (root !== undefined)
    throw new Error(
      `data.root: ${root} has no Fashion-MNIST files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz)`,
    );
  throw new Error(
    `Fashion-MNIST not found (looked in $LATHE_FASHION_MNIST, ${FASHION_SYSTEM_DIR} and the cache dir). Pass data.root, set LATHE_FASHION_MNIST, install Debian's dataset-fashion-mnist, or download it with downloadFashionMnist().`,
  );
}

const fashionSource = (dir: string, augment: boolean): SourceSpec => ({
  module: new URL('./fashion.js', import.meta.url).href,
  export: 'fashionSource',
  options: { dir, split: 'train', augment },
});

const fashionInfo = {
  inputShape: [1, 28, 28],
  classes: FASHION_CLASSES,
  normalization: { mean: [FASHION_MEAN], std: [FASHION_STD] },
} as const;

registerDataset({
  name: 'fashion-mnist',
  description: 'Fashion-MNIST, 60,000 train / 10,000 test 28×28 greyscale images in 10 classes (MIT, Zalando Research)',
  ...fashionInfo,
  load: ({ root, limit }) => fashionSplits(fashionDir(root), limit),
  locate: (root) => fashionDir(root),
  trainSource: ({ root, augment }) => fashionSource(fashionDir(root), augment),
});

registerDataset({
  name: 'fashion-mnist-subset',
  description:
    'the Fashion-MNIST subset shipped with lathe (data/fashion-mnist-subset): a class-balanced slice of train and test',
  ...fashionInfo,
  load: ({ root, limit }) => fashionSplits(root === undefined ? fashionSubsetDir() : fashionDir(root), limit),
  locate: (root) => (root === undefined ? fashionSubsetDir() : fashionDir(root)),
  trainSource: ({ root, augment }) =>
    fashionSource(root === undefined ? fashionSubsetDir() : fashionDir(root), augment),
});
