// The loader of one rank in data-parallel training: batches over in-memory arrays chosen by the distributed sampler
// (distributed/sampler.ts) from the data layer's seeded per-epoch permutation. Every rank builds the same order and
// takes its own disjoint slice of each global batch; every rank has the same number of batches; resumable at any
// batch like every BatchLoader.
import { allocate } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { shardedBatchCount, shardRows, type ShardSpec } from '../distributed/sampler.js';
import { type Batch, type BatchLoader, permutation } from './loader.js';

/** Options of {@link ShardedLoader}: rows per rank per batch, this rank, the world size, the shuffle seed. */
export interface ShardedLoaderOptions {
  readonly batchSize: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly seed?: number;
  /** Shuffle each epoch (default true); off, the global order is 0..n−1. */
  readonly shuffle?: boolean;
}

/** This rank's shard of in-memory arrays that share their first dimension (see the file header). */
export class ShardedLoader implements BatchLoader {
  readonly length: number;
  /** Rows this rank sees per epoch. */
  readonly size: number;
  private readonly spec: ShardSpec;
  private readonly rows: number;

  constructor(
    readonly arrays: Readonly<Record<string, NDArray>>,
    readonly opts: ShardedLoaderOptions,
  ) {
    const first = Object.entries(arrays)[0];
    if (!first) throw new Error('ShardedLoader: no arrays');
    this.rows = first[1].shape[0];
    for (const [k, a] of Object.entries(arrays))
      if (a.shape[0] !== this.rows)
        throw new Error(`ShardedLoader: "${k}" has ${a.shape[0]} rows, "${first[0]}" has ${this.rows}`);
    this.spec = { size: this.rows, worldSize: opts.worldSize, rank: opts.rank, batchSize: opts.batchSize };
    this.length = shardedBatchCount(this.spec);
    this.size = this.length * opts.batchSize;
  }

  /** Yields this rank's batches `fromBatch..length-1` of `epoch`, the same on every call. */
  async *iterate(epoch: number, fromBatch = 0): AsyncIterable<Batch> {
    const order =
      this.opts.shuffle === false
        ? Uint32Array.from({ length: this.rows }, (_, i) => i)
        : permutation(this.rows, this.opts.seed ?? 0, epoch);
    for (let b = fromBatch; b < this.length; b++) {
      const idx = shardRows(order, this.spec, b);
      const out: Record<string, NDArray> = {};
      for (const [k, a] of Object.entries(this.arrays)) {
        const row = a.shape.slice(1).reduce((p, q) => p * q, 1);
        const data = allocate(a.dtype, idx.length * row);
        const src = a.data as Float32Array;
        idx.forEach((j, i) => (data as Float32Array).set(src.subarray(j * row, (j + 1) * row), i * row));
        out[k] = { dtype: a.dtype, shape: [idx.length, ...a.shape.slice(1)], data };
      }
      yield out;
    }
  }
}
