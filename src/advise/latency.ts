// Inference latency of an exported model as one serving worker sees it: ORT, a fixed thread count, a deterministic
// synthetic batch of the model's input shapes, median of several runs after a warm-up. `design` ranks candidates by
// it and a `lathe tune` study with `objective.latency` minimises it.
import type { NDArray } from '../graph/ndarray.js';
import { allocate } from '../graph/dtype.js';
import { createSession } from '../runtime/session.js';
import { toOrt } from '../runtime/convert.js';
import { medianMs } from './timing.js';
import { UserError } from '../util/errors.js';
import type * as ort from 'onnxruntime-node';

/** One model input: its dtype and per-sample shape (the batch dimension is added). */
export interface InputSpec {
  readonly dtype: NDArray['dtype'];
  readonly shape: readonly number[];
}

/**
 * A deterministic batch of `b` samples for each input: token ids below `vocab` for integer inputs, values in
 * [−0.5, 0.5] for float ones.
 */
export function syntheticBatch(inputs: readonly InputSpec[], b: number, vocab: number): NDArray[] {
  return inputs.map((i) => {
    const n = b * i.shape.reduce((x, y) => x * y, 1);
    const data = allocate(i.dtype, n);
    if (data instanceof BigInt64Array) for (let k = 0; k < n; k++) data[k] = BigInt((k * 7919) % Math.max(1, vocab));
    else for (let k = 0; k < n; k++) (data as Float32Array)[k] = Math.sin(k * 12.9898) * 0.5;
    return { dtype: i.dtype, shape: [b, ...i.shape], data } as NDArray;
  });
}

/** Options of {@link onnxLatencyMs}. */
export interface LatencyOptions {
  /** Batch size (default 1). */
  readonly batch?: number;
  /** ORT intra-op threads (default 1: what one serving worker gets). */
  readonly threads?: number;
  /** Timed runs; the median is returned (default 15). */
  readonly runs?: number;
  /** Upper bound of synthetic token ids (default 256). */
  readonly vocab?: number;
}

/**
 * The per-sample inputs an ONNX model declares: its first dimension is the batch, the others must be fixed numbers;
 * float32 and int64 inputs only. Throws a UserError naming the model and input otherwise.
 */
function declaredInputs(session: ort.InferenceSession, source: string): InputSpec[] {
  return session.inputMetadata.map((m) => {
    if (!m.isTensor) throw new UserError(`${source}: input '${m.name}' is not a tensor`);
    const rest = m.shape.slice(1);
    if (m.type !== 'float32' && m.type !== 'int64')
      throw new UserError(`${source}: input '${m.name}' is ${m.type}; latency is measured on float32 and int64 inputs`);
    if (!m.shape.length || rest.some((d) => typeof d !== 'number'))
      throw new UserError(
        `${source}: input '${m.name}' has shape [${m.shape.join(', ')}]; a batch dimension then fixed sizes are needed to measure latency`,
      );
    return { dtype: m.type, shape: rest as number[] };
  });
}

/**
 * Median inference time (ms per batch) of an ONNX model (bytes or a path) in ORT on this machine, on a synthetic
 * batch of `inputs` (default: the shapes the model declares).
 */
export async function onnxLatencyMs(
  model: Uint8Array | string,
  inputs?: readonly InputSpec[],
  opts: LatencyOptions = {},
): Promise<number> {
  const session = await createSession(model, { threads: opts.threads ?? 1 });
  try {
    const specs = inputs ?? declaredInputs(session, typeof model === 'string' ? model : 'model');
    const xs = syntheticBatch(specs, opts.batch ?? 1, opts.vocab ?? 256);
    const feeds = Object.fromEntries(session.inputNames.map((n, i) => [n, toOrt(xs[i])]));
    return await medianMs(() => session.run(feeds), opts.runs ?? 15);
  } finally {
    await session.release();
  }
}
