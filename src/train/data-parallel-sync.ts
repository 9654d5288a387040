// The guards of data-parallel training, run through the collective: at the start every rank must hold the same model
// layout, the same number of batches per epoch and the same resume position (else a RankMismatchError naming the
// rank), then rank 0's whole training state is broadcast and a checksum of it compared on every rank. At each epoch's
// end rank 0's buffers (BatchNorm running statistics, which each rank updates from its own shard) are broadcast so
// validation, checkpoints and the stop decision agree, and rank 0's stop decision is the group's.
import { fnv1a, fnv1aText, hashHalves } from '../distributed/checksum.js';
import { CollectiveError, type Collective } from '../distributed/collective.js';
import type { NDArray } from '../graph/ndarray.js';
import { UserError } from '../util/errors.js';
import type { DataParallelStep } from './data-parallel-step.js';

/** The ranks of a data-parallel job disagree on the model, the data or the resume position. */
export class RankMismatchError extends UserError {}

/** Where this rank's run stands: its loader's batches per epoch and its resume position. */
export interface RankPosition {
  readonly batchesPerEpoch: number;
  readonly epoch: number;
  readonly batchInEpoch: number;
}

const float32Entries = (state: Readonly<Record<string, NDArray>>, keep: (k: string) => boolean) =>
  Object.keys(state)
    .sort()
    .filter((k) => keep(k) && state[k].dtype === 'float32')
    .map((k) => [k, state[k]] as const);

/** All float32 entries concatenated (sorted by key), to broadcast in one collective. */
function flatten(entries: readonly (readonly [string, NDArray])[]): Float32Array {
  const out = new Float32Array(entries.reduce((n, [, a]) => n + (a.data as Float32Array).length, 0));
  let at = 0;
  for (const [, a] of entries) {
    out.set(a.data as Float32Array, at);
    at += (a.data as Float32Array).length;
  }
  return out;
}

function unflatten(entries: readonly (readonly [string, NDArray])[], flat: Float32Array): Record<string, NDArray> {
  const out: Record<string, NDArray> = {};
  let at = 0;
  for (const [k, a] of entries) {
    const n = (a.data as Float32Array).length;
    out[k] = { dtype: 'float32', shape: a.shape, data: flat.subarray(at, at + n) };
    at += n;
  }
  return out;
}

/**
 * Checks that every rank holds the same state layout, batch count and position, broadcasts rank 0's training state
 * and verifies its checksum on every rank. Returns the checksum (hex).
 */
export async function syncRanks(
  c: Collective,
  step: DataParallelStep,
  pos: RankPosition,
): Promise<{ checksum: string }> {
  const state = step.state();
  const keys = Object.keys(state).sort();
  const layout = keys.map((k) => `${k}:${state[k].dtype}[${state[k].shape.join(',')}]`).join(';');
  const values = keys.reduce((n, k) => n + state[k].shape.reduce((a, b) => a * b, 1), 0);
  const FIELDS = 8;
  const mine = Float32Array.of(
    ...hashHalves(fnv1aText(layout)),
    values % 65536,
    Math.floor(values / 65536),
    pos.batchesPerEpoch,
    step.stepCount,
    pos.epoch,
    pos.batchInEpoch,
  );
  const all = await c.allGather(mine, 'checking that every rank has the same model and data');
  const row = (r: number) => all.subarray(r * FIELDS, (r + 1) * FIELDS);
  const size = (x: Float32Array) => x[2] + x[3] * 65536;
  const zero = row(0);
  for (let r = 1; r < c.worldSize; r++) {
    const x = row(r);
    if (x[0] !== zero[0] || x[1] !== zero[1] || size(x) !== size(zero))
      throw new RankMismatchError(
        `rank ${r} has a different model than rank 0 (${size(x)} vs ${size(zero)} state values, or different tensor names or shapes): every rank must train the same model, options and optimizer`,
      );
    if (x[4] !== zero[4])
      throw new RankMismatchError(
        `rank ${r} has ${x[4]} batches per epoch, rank 0 has ${zero[4]}: the ranks see different data (data.* or batch size differ)`,
      );
    if (x[5] !== zero[5] || x[6] !== zero[6] || x[7] !== zero[7])
      throw new RankMismatchError(
        `rank ${r} starts at step ${x[5]} (epoch ${x[6]}, batch ${x[7]}), rank 0 at step ${zero[5]} (epoch ${zero[6]}, batch ${zero[7]}): resume every rank from the same checkpoint`,
      );
  }
  const entries = float32Entries(state, () => true);
  const flat = flatten(entries);
  await c.broadcast(flat, 0, "broadcasting rank 0's training state");
  step.assign(unflatten(entries, flat));
  let h = 0x811c9dc5;
  for (const [, a] of float32Entries(step.state(), () => true)) h = fnv1a(a.data as Float32Array, h);
  const sums = await c.allGather(Float32Array.of(...hashHalves(h)), 'comparing model checksums');
  for (let r = 1; r < c.worldSize; r++)
    if (sums[2 * r] !== sums[0] || sums[2 * r + 1] !== sums[1])
      throw new CollectiveError(`rank ${r}: its training state differs from rank 0's after the broadcast (checksum)`);
  return { checksum: (h >>> 0).toString(16).padStart(8, '0') };
}

/** Makes every rank's buffers (BatchNorm running statistics) rank 0's. */
export async function syncBuffers(c: Collective, step: DataParallelStep): Promise<void> {
  if (c.worldSize === 1) return;
  const entries = float32Entries(step.state(), (k) => k.startsWith('b.'));
  if (!entries.length) return;
  const flat = flatten(entries);
  await c.broadcast(flat, 0, "broadcasting rank 0's buffers");
  step.assign(unflatten(entries, flat));
}

/** Rank 0's stop decision (early stopping) for every rank. */
export async function syncStopFlag(c: Collective, stop: boolean): Promise<boolean> {
  if (c.worldSize === 1) return stop;
  const f = Float32Array.of(stop ? 1 : 0);
  await c.broadcast(f, 0, "rank 0's stop decision");
  return f[0] === 1;
}
