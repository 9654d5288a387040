// What the Trainer reads batches from. A loader is deterministic: the batches of an epoch are a pure function
// of (seed, epoch), so a resumed run can start epoch e at batch i and see exactly what it would have seen.
import type { NDArray } from '../graph/ndarray.js';
import { allocate } from '../graph/dtype.js';
import { permutation } from './random.js';
import type { Batch } from './tensor.js';

export { permutation };
export type { Batch };

/**
 * Contract: `iterate(epoch, from)` yields batches `from..length-1` of epoch `epoch`, identical on every call with
 * the same arguments; `length` is the number of batches per epoch. Implementations may prefetch in workers.
 */
export interface BatchLoader {
  readonly length: number;
  /** Samples per epoch (for weighting averages). */
  readonly size: number;
  /**
   * Yields batches `fromBatch..length-1` (default from 0) of `epoch`, the same batches on every call with the same
   * arguments.
   */
  iterate(epoch: number, fromBatch?: number): AsyncIterable<Batch>;
}

/**
 * Options of {@link ArrayLoader}: rows per batch (`batchSize` ≥ 1, else the constructor throws), per-epoch shuffling
 * seeded by `seed` (default off, seed 0), and whether to drop the last incomplete batch (default false).
 */
export interface ArrayLoaderOptions {
  readonly batchSize: number;
  readonly shuffle?: boolean;
  readonly seed?: number;
  readonly dropLast?: boolean;
}

/** Batches over in-memory arrays that share their first dimension (e.g. { x: [N,1,28,28], y: [N] }). */
export class ArrayLoader implements BatchLoader {
  readonly size: number;
  readonly length: number;
  constructor(
    readonly arrays: Readonly<Record<string, NDArray>>,
    readonly opts: ArrayLoaderOptions,
  ) {
    const sizes = Object.entries(arrays).map(([k, a]) => [k, a.shape[0]] as const);
    if (sizes.length === 0) throw new Error('ArrayLoader: no arrays');
    const n = sizes[0][1];
    for (const [k, s] of sizes)
      if (s !== n) throw new Error(`ArrayLoader: "${k}" has ${s} rows, "${sizes[0][0]}" has ${n}`);
    if (!(opts.batchSize >= 1)) throw new Error(`ArrayLoader: batchSize must be ≥ 1, got ${opts.batchSize}`);
    this.size = n;
    this.length = opts.dropLast ? Math.floor(n / opts.batchSize) : Math.ceil(n / opts.batchSize);
  }

  /**
   * Yields batches `fromBatch..length-1` of `epoch`: row slices of every array, in permutation(size, seed, epoch) order
   * when shuffling; deterministic for the same arguments.
   */
  async *iterate(epoch: number, fromBatch = 0): AsyncIterable<Batch> {
    const n = this.size;
    const order = this.opts.shuffle ? permutation(n, this.opts.seed ?? 0, epoch) : undefined;
    for (let b = fromBatch; b < this.length; b++) {
      const start = b * this.opts.batchSize;
      const end = Math.min(n, start + this.opts.batchSize);
      const out: Record<string, NDArray> = {};
      for (const [k, a] of Object.entries(this.arrays)) {
        const row = a.shape.slice(1).reduce((p, q) => p * q, 1);
        const data = allocate(a.dtype, (end - start) * row);
        const src = a.data as Float32Array;
        for (let i = start; i < end; i++) {
          const j = order ? order[i] : i;
          (data as Float32Array).set(src.subarray(j * row, (j + 1) * row), (i - start) * row);
        }
        out[k] = { dtype: a.dtype, shape: [end - start, ...a.shape.slice(1)], data };
      }
      yield out;
    }
  }
}
