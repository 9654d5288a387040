// Measuring a model before and after compression with ONNX Runtime: top-1 accuracy on a held-out set and latency
// at a batch size (median ms per run after warm-up; the session settings are the caller's).
import type * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import { encodeModel } from '../onnx/encode.js';
import type { ModelProto } from '../onnx/proto.js';
import { toOrt } from '../runtime/convert.js';
import type { SessionConfig } from '../runtime/device.js';
import { createSession } from '../runtime/session.js';
import { CompressError } from './errors.js';

/** Inputs [N, ...] and, for accuracy, integer class labels [N]. */
export interface EvalSet {
  readonly x: NDArray;
  readonly y?: NDArray;
  /** Where the set came from (named in errors). */
  readonly source?: string;
}

const bytesOf = (m: ModelProto | Uint8Array): Uint8Array => (m instanceof Uint8Array ? m : encodeModel(m));

function rows(a: NDArray, s: number, e: number): NDArray {
  const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
  return { dtype: a.dtype, shape: [e - s, ...a.shape.slice(1)], data: a.data.subarray(s * row, e * row) } as NDArray;
}

/** The labels of `set`, or a clear error when it has none. */
export function labelsOf(set: EvalSet, what: string): NDArray {
  if (!set.y)
    throw new CompressError(
      `${what} needs labels, but ${set.source ?? 'the evaluation set'} has none (give a labelled data set)`,
    );
  if (set.y.shape[0] !== set.x.shape[0])
    throw new CompressError(`${set.source ?? 'evaluation set'}: ${set.x.shape[0]} inputs but ${set.y.shape[0]} labels`);
  return set.y;
}

/** Top-1 accuracy of a classifier (its first output holds [N, classes] scores). */
export async function accuracyOf(
  model: ModelProto | Uint8Array,
  set: EvalSet,
  opts: { batchSize?: number; session?: SessionConfig } = {},
): Promise<number> {
  const y = labelsOf(set, 'accuracy');
  const session = await createSession(bytesOf(model), opts.session);
  try {
    const input = session.inputNames[0];
    const n = set.x.shape[0];
    if (n === 0) throw new CompressError(`${set.source ?? 'evaluation set'} is empty`);
    const bs = opts.batchSize ?? 256;
    let correct = 0;
    for (let s = 0; s < n; s += bs) {
      const e = Math.min(n, s + bs);
      const out = (await session.run({ [input]: toOrt(rows(set.x, s, e)) }))[session.outputNames[0]];
      const scores = out.data as Float32Array;
      const c = scores.length / (e - s);
      for (let i = 0; i < e - s; i++) {
        let best = 0;
        for (let k = 1; k < c; k++) if (scores[i * c + k] > scores[i * c + best]) best = k;
        if (best === Number(y.data[s + i])) correct++;
      }
    }
    return correct / n;
  } finally {
    await session.release();
  }
}

/** Measured inference latency at one batch size: median milliseconds per batch and samples per second. */
export interface Latency {
  readonly batch: number;
  readonly msPerBatch: number;
  readonly samplesPerS: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median ms per run of `session` on `feeds` over `reps` repetitions of ~`repMs` each, after warm-up. */
export async function timeSession(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  reps = 5,
  repMs = 300,
): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const per = (performance.now() - t0) / 5;
  const runs = Math.max(3, Math.round(repMs / Math.max(per, 1e-3)));
  const times: number[] = [];
  for (let k = 0; k < reps; k++) {
    const s = performance.now();
    for (let i = 0; i < runs; i++) await session.run(feeds);
    times.push((performance.now() - s) / runs);
  }
  return median(times);
}

/** Latency at `batch`, fed with the first rows of `x` (repeated when it has fewer). */
export async function latencyOf(
  model: ModelProto | Uint8Array,
  x: NDArray,
  batch: number,
  opts: { session?: SessionConfig; reps?: number } = {},
): Promise<Latency> {
  const session = await createSession(bytesOf(model), opts.session);
  try {
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const n = x.shape[0];
    if (n === 0) throw new CompressError('latency: no input rows');
    const data = new (x.data.constructor as Float32ArrayConstructor)(batch * row);
    for (let i = 0; i < batch; i++)
      data.set((x.data as Float32Array).subarray((i % n) * row, ((i % n) + 1) * row), i * row);
    const feed = toOrt({ dtype: x.dtype, shape: [batch, ...x.shape.slice(1)], data } as NDArray);
    const ms = await timeSession(session, { [session.inputNames[0]]: feed }, opts.reps ?? 5);
    return { batch, msPerBatch: ms, samplesPerS: batch / (ms / 1000) };
  } finally {
    await session.release();
  }
}
