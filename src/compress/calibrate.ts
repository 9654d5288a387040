// Calibration: run the float model on sample batches with the tensors to observe added as graph outputs, and turn
// what they held into ranges (histogram.ts). MinMax needs one pass; percentile and entropy a second one, over
// histograms that span the first pass's [min, max].
import type * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import type { ModelProto } from '../onnx/proto.js';
import { toOrt } from '../runtime/convert.js';
import type { SessionConfig } from '../runtime/device.js';
import { createSession } from '../runtime/session.js';
import { CompressError } from './errors.js';
import { entropyThreshold, Histogram, MinMax, percentileRange, type CalibrationMethod } from './histogram.js';

/** Feeds by input name, one batch each. */
export type Feeds = Readonly<Record<string, NDArray>>;

/**
 * Options of {@link calibrate}: how activation ranges are chosen from the observed values (`method`, default
 * `minmax`), the histogram settings of the percentile and entropy methods, the ORT session and a progress callback.
 */
export interface CalibrationOptions {
  readonly method?: CalibrationMethod;
  /** For 'percentile': the percentile kept (default 99.999). */
  readonly percentile?: number;
  /** Histogram bins for percentile and entropy (default 2048). */
  readonly bins?: number;
  readonly session?: SessionConfig;
  /** Called after each batch of each pass. */
  readonly onProgress?: (pass: number, batch: number, of: number) => void;
}

/** The model with `tensors` added as float outputs (so a session returns them). */
export function withObservedOutputs(model: ModelProto, tensors: readonly string[]): ModelProto {
  const have = new Set(model.graph.output.map((o) => o.name));
  const extra = tensors.filter((t) => !have.has(t)).map((name) => ({ name, type: { tensorType: { elemType: 1 } } }));
  return { ...model, graph: { ...model.graph, output: [...model.graph.output, ...extra] } };
}

/** Splits arrays along their first axis into feeds of `batchSize` rows. */
export function batchFeeds(inputs: Readonly<Record<string, NDArray>>, batchSize: number): Feeds[] {
  const entries = Object.entries(inputs);
  if (entries.length === 0) throw new CompressError('calibration: no inputs given');
  const n = entries[0][1].shape[0];
  const out: Feeds[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const feeds: Record<string, NDArray> = {};
    for (const [k, a] of entries) {
      const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
      feeds[k] = {
        dtype: a.dtype,
        shape: [e - s, ...a.shape.slice(1)],
        data: a.data.subarray(s * row, e * row),
      } as NDArray;
    }
    out.push(feeds);
  }
  return out;
}

/** Ranges [min, max] of `tensors` over the calibration batches. */
export async function calibrate(
  model: ModelProto,
  tensors: readonly string[],
  batches: readonly Feeds[],
  opts: CalibrationOptions = {},
): Promise<Map<string, [number, number]>> {
  if (batches.length === 0 || batches.every((b) => Object.values(b).every((a) => a.shape[0] === 0)))
    throw new CompressError(
      'calibration set is empty: give at least one sample (calibration.samples > 0, and a data set with rows)',
    );
  const method = opts.method ?? 'minmax';
  const session = await createSession(withObservedOutputs(model, tensors), opts.session);
  const run = async (b: Feeds): Promise<Record<string, ort.Tensor>> => {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, a] of Object.entries(b)) feeds[k] = toOrt(a);
    return session.run(feeds, [...tensors]);
  };
  try {
    const mm = new Map(tensors.map((t) => [t, new MinMax()]));
    for (const [k, b] of batches.entries()) {
      const out = await run(b);
      for (const t of tensors) mm.get(t)!.add(out[t].data as Float32Array);
      opts.onProgress?.(1, k + 1, batches.length);
    }
    const ranges = new Map(tensors.map((t) => [t, [mm.get(t)!.min, mm.get(t)!.max] as [number, number]]));
    if (method === 'minmax') return ranges;
    const bins = opts.bins ?? 2048;
    // percentile: signed values over [min, max]; entropy: |x| over [0, max |x|]
    const hists = new Map(
      tensors.map((t) => {
        const [lo, hi] = ranges.get(t)!;
        return [
          t,
          method === 'percentile'
            ? new Histogram(lo, hi, bins)
            : new Histogram(0, Math.max(Math.abs(lo), Math.abs(hi)), bins),
        ];
      }),
    );
    for (const [k, b] of batches.entries()) {
      const out = await run(b);
      for (const t of tensors) hists.get(t)!.add(out[t].data as Float32Array, method === 'entropy');
      opts.onProgress?.(2, k + 1, batches.length);
    }
    for (const t of tensors) {
      const [lo, hi] = ranges.get(t)!;
      const h = hists.get(t)!;
      if (method === 'percentile') ranges.set(t, percentileRange(h, opts.percentile ?? 99.999));
      else {
        // a non-negative tensor spends all 256 levels on [0, t]; a signed one 128 per side
        const th = entropyThreshold(h, lo >= 0 ? 256 : 128);
        ranges.set(t, [Math.max(lo, -th), Math.min(hi, th)]);
      }
    }
    return ranges;
  } finally {
    await session.release();
  }
}
