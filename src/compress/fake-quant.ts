// Fake quantization for quantization-aware training: y = (clamp(round(x / s) + zp, qmin, qmax) − zp) · s, the exact
// float value a QuantizeLinear → DequantizeLinear pair produces (ONNX rounds half to even, as the Round op does), so
// the training graph sees the int8 model's rounding and clipping. round() has no gradient, so the backward pass is
// a custom rule: the straight-through estimator passes the gradient to x where x lands inside the integer range and
// blocks it where it was clipped; a learnable scale gets LSQ's gradient (Esser et al. 2020, with a zero point):
//   ∂y/∂s = (q − zp) − x/s inside the range, (q − zp) where clipped (q is the clamped integer),
// multiplied by LSQ's gradient scale 1/√(N·qmax) so that the step stays on the weights' scale.
import { customVjp } from '../graph/ops/differentiation.js';
import {
  abs,
  add,
  cast,
  clamp,
  div,
  greater,
  greaterOrEqual,
  lessOrEqual,
  logicalAnd,
  mul,
  round,
  sub,
  where,
} from '../graph/ops/elementwise.js';
import { stopGradient } from '../graph/ops/differentiation.js';
import { scalar } from '../graph/ops/leaf.js';
import { max } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';

/** The integer range of a fake quantizer and whether (and with what gradient scale) its scale is learned. */
export interface FakeQuantOptions {
  readonly qmin: number;
  readonly qmax: number;
  /** Multiplier of the scale's gradient (LSQ: 1/√(N·qmax)); default 1. Ignored when the scale gets no gradient. */
  readonly scaleGradScale?: number;
}

/**
 * (clamp(round(x/s) + zp, qmin, qmax) − zp)·s with a straight-through gradient for `x` and LSQ's gradient for the
 * scale `s` (broadcastable to x: a scalar, or per channel); the zero point `zp` gets none.
 */
export function fakeQuantize(x: Tensor, scale: Tensor, zeroPoint: Tensor, opts: FakeQuantOptions): Tensor {
  const { qmin, qmax } = opts;
  const gradScale = opts.scaleGradScale ?? 1;
  const f = customVjp(
    'fakeQuantize',
    (xv, s, zp) => {
      const v = add(round(div(xv, s)), zp);
      const q = clamp(v, qmin, qmax);
      return { outputs: [mul(sub(q, zp), s)], residuals: [v, q] };
    },
    ([g], [v, q], [xv, s, zp]) => {
      if (!g) return [null, null, null];
      const inside = cast(logicalAnd(greaterOrEqual(v, qmin), lessOrEqual(v, qmax)), xv.dtype);
      const gx = mul(g, inside);
      const ds = sub(sub(q, zp), mul(inside, div(xv, s)));
      return [gx, mul(mul(g, ds), gradScale), null];
    },
  );
  return f(x, scale, zeroPoint)[0];
}

/**
 * Symmetric per-channel (or per-tensor, `axis` undefined) fake quantization of a weight, with the scale computed as
 * {@link quantizeWeight} does at export (max |w| of the channel / qmax, 1 for an all-zero channel) and treated as a
 * constant by the gradient: the weight's int8 values at export are exactly the ones this forward used.
 */
export function fakeQuantizeWeight(w: Tensor, axis: number | undefined, reduceRange = false): Tensor {
  const qmax = reduceRange ? 63 : 127;
  const axes = w.shape.map((_, i) => i).filter((i) => i !== axis);
  const m = stopGradient(max(abs(w), axes, axis !== undefined));
  const s = where(greater(m, 0), div(m, qmax), 1);
  return fakeQuantize(w, s, scalar(0), { qmin: -qmax - 1, qmax });
}
