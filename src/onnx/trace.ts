// Tracing: call a TypeScript function over placeholders and emit the graph it records as an ONNX model.
// Needs no ONNX Runtime, so export (onnx/export.ts), compile (runtime/compile.ts) and the training-step builder
// (train/step-graph.ts) all build on it.
import type { DType } from '../graph/dtype.js';
import { placeholder } from '../graph/ops/leaf.js';
import type { Shape } from '../graph/shape.js';
import { Tensor } from '../graph/tensor.js';
import { emitModel, type EmitOptions } from './emit.js';
import type { ModelProto } from './proto.js';

/** dtype and shape of one input; dims may be symbols ("batch"). */
export interface InputSpec {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly name?: string;
}

/** What a traced function may return: one tensor, a list, or a record of named tensors. */
export type TraceResult = Tensor | readonly Tensor[] | Readonly<Record<string, Tensor>>;

/** The result of {@link trace}: the emitted ONNX model and how its graph inputs and outputs map to the function's. */
export interface Traced {
  /** The emitted ONNX model. */
  readonly model: ModelProto;
  /** Graph input names in argument order (each spec's `name`, or x0, x1, ...). */
  readonly inputNames: readonly string[];
  /** Graph output names: `y` for a single tensor, y0, y1, ... for a list, the keys for a record. */
  readonly outputNames: readonly string[];
  /** The shape of the function's result (one tensor, a list, or a record), so outputs can be rebuilt the same way. */
  readonly kind: 'single' | 'list' | 'record';
}

/** Traces `fn` over placeholders and emits its ONNX model. */
export function trace(
  fn: (...xs: Tensor[]) => TraceResult,
  specs: readonly InputSpec[],
  opts: EmitOptions = {},
): Traced {
  const inputs = specs.map((s, i) => placeholder(s.name ?? `x${i}`, s.dtype, s.shape));
  const out = fn(...inputs);
  let kind: Traced['kind'];
  let outputs: Record<string, Tensor>;
  if (out instanceof Tensor) {
    kind = 'single';
    outputs = { y: out };
  } else if (Array.isArray(out)) {
    kind = 'list';
    outputs = Object.fromEntries((out as readonly Tensor[]).map((t, i) => [`y${i}`, t]));
  } else {
    kind = 'record';
    outputs = { ...(out as Record<string, Tensor>) };
  }
  for (const [k, t] of Object.entries(outputs)) {
    if (!(t instanceof Tensor)) throw new Error(`trace: output ${k} is not a Tensor`);
  }
  const model = emitModel({ inputs, outputs }, opts);
  return {
    model,
    inputNames: inputs.map((t) => (t.node.attrs as { name: string }).name),
    outputNames: Object.keys(outputs),
    kind,
  };
}
