// The distributed sampler: which rows each rank trains on. One global order per epoch (the data layer's seeded
// permutation, the same on every rank) is cut into global batches of worldSize·batchSize rows; rank r takes the r-th
// slice of batchSize rows of each. The tail that does not fill a global batch is dropped, so every rank sees exactly
// the same number of batches, of the same size, and the shards are disjoint: unequal data across ranks (the hang of
// pytorch #38174) cannot happen. With worldSize 1 it is a drop-last loader over the same order, so N ranks with batch b
// see the same global batches as one process with batch N·b.
import { UserError } from '../util/errors.js';

/** Shape of a sharded epoch: rows, ranks, this rank and rows per rank per batch. */
export interface ShardSpec {
  readonly size: number;
  readonly worldSize: number;
  readonly rank: number;
  readonly batchSize: number;
}

/** Batches per epoch on every rank: ⌊size / (worldSize·batchSize)⌋ (a UserError when that is 0). */
export function shardedBatchCount(spec: ShardSpec): number {
  const { size, worldSize, rank, batchSize } = spec;
  if (!(Number.isInteger(worldSize) && worldSize >= 1)) throw new UserError(`sampler: worldSize ${worldSize}`);
  if (!(Number.isInteger(rank) && rank >= 0 && rank < worldSize))
    throw new UserError(`sampler: rank ${rank} outside 0..${worldSize - 1}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new UserError(`sampler: batchSize ${batchSize}`);
  const n = Math.floor(size / (worldSize * batchSize));
  if (n === 0)
    throw new UserError(
      `data.batchSize: ${size} training rows cannot fill one global batch of ${worldSize} ranks × ${batchSize} rows`,
    );
  return n;
}

/**
 * The row indices of batch `batch` on rank `spec.rank`, taken from the epoch's global `order` (a permutation of
 * 0..size-1, identical on every rank).
 */
export function shardRows(order: ArrayLike<number>, spec: ShardSpec, batch: number): Uint32Array {
  const start = (batch * spec.worldSize + spec.rank) * spec.batchSize;
  const out = new Uint32Array(spec.batchSize);
  for (let i = 0; i < spec.batchSize; i++) out[i] = order[start + i];
  return out;
}
