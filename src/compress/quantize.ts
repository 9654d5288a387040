// Post-training static quantization of an ONNX model: plan (qdq-plan.ts) → calibrate the planned tensors on sample
// batches (calibrate.ts) → insert Q/DQ and int8 weights (qdq.ts). The per-layer sensitivity analysis quantizes one
// layer at a time with the same calibrated ranges and scores each on a labelled set.
import type { ModelProto } from '../onnx/proto.js';
import { calibrate, type CalibrationOptions, type Feeds } from './calibrate.js';
import { accuracyOf, labelsOf, type EvalSet } from './evaluate.js';
import { insertQdq, type QdqOptions, type Ranges } from './qdq.js';
import { nameNodes, planQuantization, type PlanOptions, type QuantPlan } from './qdq-plan.js';
import type { SessionConfig } from '../runtime/device.js';

/** Options of {@link quantizeStatic}: what to quantize (plan), how (Q/DQ types) and how to calibrate. */
export interface StaticQuantOptions extends PlanOptions, QdqOptions, CalibrationOptions {}

/**
 * What {@link quantizeStatic} returns: the quantized model in QDQ form, the float model with unique node names the
 * plan refers to, the plan and the calibrated ranges.
 */
export interface StaticQuantResult {
  /** The quantized model (QDQ form). */
  readonly model: ModelProto;
  /** The float model with unique node names (what the plan's names refer to). */
  readonly float: ModelProto;
  readonly plan: QuantPlan;
  readonly ranges: Ranges;
}

/** A copy of `model` whose nodes all have unique names (the input is not changed). */
export function withNodeNames(model: ModelProto): ModelProto {
  const m: ModelProto = { ...model, graph: { ...model.graph, node: model.graph.node.map((n) => ({ ...n })) } };
  nameNodes(m.graph);
  return m;
}

/** The tensors calibration has to observe for `plan`. */
export function observedTensors(plan: QuantPlan): string[] {
  return [...new Set([...plan.tensors.values()].flatMap((s) => (s.kind === 'observe' ? [s.observe] : [])))];
}

/** Quantizes `model` with ranges calibrated on `calibration` (one feed per batch). */
export async function quantizeStatic(
  model: ModelProto,
  calibration: readonly Feeds[],
  opts: StaticQuantOptions = {},
): Promise<StaticQuantResult> {
  const float = withNodeNames(model);
  const plan = planQuantization(float, opts);
  // inherited tensors are observed too: a plan that quantizes fewer nodes (sensitivity) may need their own range
  const inherited = [...plan.tensors].flatMap(([t, s]) => (s.kind === 'inherit' ? [t] : []));
  const ranges = await calibrate(float, [...new Set([...observedTensors(plan), ...inherited])], calibration, opts);
  return { model: insertQdq(float, plan, ranges, opts), float, plan, ranges };
}

/**
 * One layer of the sensitivity analysis: its node and op type, the accuracy (0–1) with only that layer quantized,
 * and the drop from the float accuracy in points.
 */
export interface SensitivityRow {
  readonly node: string;
  readonly opType: string;
  /** Accuracy with only this layer (and the ops that follow its range) quantized. */
  readonly accuracy: number;
  /** Float accuracy minus that, in points. */
  readonly dropPoints: number;
}

/**
 * Per-layer sensitivity: for every quantized compute layer (conv, gemm, matmul, add, ...), the accuracy on `set`
 * when only that layer is quantized, worst first. Uses the ranges of a full quantization (`quantizeStatic`).
 */
export async function sensitivity(
  q: StaticQuantResult,
  set: EvalSet,
  opts: PlanOptions &
    QdqOptions & {
      session?: SessionConfig;
      floatAccuracy?: number;
      onProgress?: (i: number, of: number, node: string) => void;
    } = {},
): Promise<SensitivityRow[]> {
  labelsOf(set, 'a sensitivity analysis');
  const base = opts.floatAccuracy ?? (await accuracyOf(q.float, set, { session: opts.session }));
  const layers = q.plan.nodes.filter((n) => q.plan.kinds.get(n) !== 'same');
  const types = new Map(q.float.graph.node.map((n) => [n.name!, n.opType]));
  const rows: SensitivityRow[] = [];
  for (const [i, node] of layers.entries()) {
    const plan = planQuantization(q.float, { ...opts, onlyNodes: [node] });
    const acc = await accuracyOf(insertQdq(q.float, plan, q.ranges, opts), set, { session: opts.session });
    rows.push({ node, opType: types.get(node) ?? '?', accuracy: acc, dropPoints: 100 * (base - acc) });
    opts.onProgress?.(i + 1, layers.length, node);
  }
  return rows.sort((a, b) => b.dropPoints - a.dropPoints);
}
