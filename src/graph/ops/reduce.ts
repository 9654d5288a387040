// Reductions: sum mean max min prod (primitives) and var, logsumexp, argmax/argmin.
import { isFloat, ONNX_DTYPE, type DType } from '../dtype.js';
import { primitive } from '../primitive.js';
import { normAxes, normAxis, numel as shapeNumel, type Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast, div, equal, exp, log, mul, sqrt, sub } from './elementwise.js';
import { scalar } from './leaf.js';
import { expandAs, squeeze, unsqueeze } from './movement.js';
import { stopGradient } from './differentiation.js';

type ReduceAttrs = { axes: readonly number[]; keepdims: boolean };

function reducedShape(shape: readonly Dim[], axes: readonly number[], keep: boolean): Dim[] {
  return keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** The cotangent of a reduction, reshaped so it broadcasts against the input. */
function keepDims(g: Tensor, a: ReduceAttrs): Tensor {
  return a.keepdims ? g : unsqueeze(g, a.axes);
}

function reduction(
  name: string,
  onnx: string,
  vjp: (x: Tensor, y: Tensor, gk: Tensor, yk: Tensor, a: ReduceAttrs) => Tensor,
  floatOnly = true,
) {
  const prim = primitive<ReduceAttrs>({
    name,
    infer: ([x], a) => {
      if (floatOnly && !isFloat(x.dtype)) throw new Error(`${name}: needs a floating-point tensor, got ${x.dtype}`);
      return [{ dtype: x.dtype, shape: reducedShape(x.shape, a.axes, a.keepdims) }];
    },
    // axes are an input from opset 18 (ReduceSum: 13); an attribute before
    lower: (ctx, n, [x]) =>
      ctx.opset >= 18 || onnx === 'ReduceSum'
        ? ctx.emit(onnx, [x, ctx.i64(n.attrs.axes)], { keepdims: n.attrs.keepdims ? 1 : 0 })
        : ctx.emit(onnx, [x], { axes: n.attrs.axes, keepdims: n.attrs.keepdims ? 1 : 0 }),
    vjp: (n, [g]) => {
      if (!g) return [null];
      const y = n.outputs[0];
      return [vjp(n.inputs[0], y, keepDims(g, n.attrs), keepDims(y, n.attrs), n.attrs)];
    },
  });
  return (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor => {
    const ax = normAxes(name, axes, x.rank);
    if (ax.length === 0) return x;
    return prim([x], { axes: ax, keepdims: keepdim })[0];
  };
}

/** Number of elements reduced (input elements per output element), as a scalar of `dtype`. */
export function reducedCount(x: Tensor, axes: readonly number[], dtype: DType): Tensor {
  const n = shapeNumel(x.shape.filter((_, i) => axes.includes(i)));
  if (typeof n === 'number') return scalar(n, dtype);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return div(numelOf(x, dtype), numelOfShape(x, kept, dtype));
}

/**
 * Sums over `axes` (default: all; a number or a list, negatives count from the end) keeping them as size 1 when
 * `keepdim` (ONNX ReduceSum); any numeric dtype; throws on an out-of-range or repeated axis.
 */
export const sum = reduction('sum', 'ReduceSum', (x, _y, gk) => expandAs(gk, x), false);
/**
 * Mean over `axes` (default: all) keeping them as size 1 when `keepdim` (ONNX ReduceMean); float tensors only; throws
 * on a non-float dtype or an out-of-range or repeated axis.
 */
export const mean = reduction('mean', 'ReduceMean', (x, _y, gk, _yk, a) =>
  div(expandAs(gk, x), reducedCount(x, a.axes, x.dtype)),
);
/**
 * Maximum over `axes` (default: all) keeping them as size 1 when `keepdim` (ONNX ReduceMax); tied maxima share the
 * gradient equally; float tensors only.
 */
export const max = reduction('max', 'ReduceMax', (x, _y, gk, yk, a) => {
  const mask = cast(equal(x, expandAs(yk, x)), x.dtype);
  return div(mul(mask, gk), sum(mask, a.axes, true)); // ties share the gradient equally (as torch.amax)
});
/**
 * Minimum over `axes` (default: all) keeping them as size 1 when `keepdim` (ONNX ReduceMin); tied minima share the
 * gradient equally; float tensors only.
 */
export const min = reduction('min', 'ReduceMin', (x, _y, gk, yk, a) => {
  const mask = cast(equal(x, expandAs(yk, x)), x.dtype);
  return div(mul(mask, gk), sum(mask, a.axes, true));
});
/**
 * Product over `axes` (default: all) keeping them as size 1 when `keepdim` (ONNX ReduceProd); float tensors only; its
 * gradient y/x is not defined at zeros.
 */
export const prod = reduction('prod', 'ReduceProd', (x, _y, gk, yk) => div(mul(expandAs(gk, x), yk), x));

/** Variance with Bessel's `correction` (1 = unbiased, as torch.var's default). */
export function variance(
  x: Tensor,
  axes?: number | readonly number[],
  opts: { correction?: number; keepdim?: boolean } = {},
): Tensor {
  const ax = normAxes('var', axes, x.rank);
  const correction = opts.correction ?? 1;
  const d = sub(x, mean(x, ax, true));
  const ss = sum(mul(d, d), ax, opts.keepdim ?? false);
  return div(ss, sub(reducedCount(x, ax, x.dtype), correction));
}
/**
 * Standard deviation over `axes` (default: all): √variance with Bessel's `correction` (default 1, unbiased) and
 * optional `keepdim`; float tensors only.
 */
export const std = (
  x: Tensor,
  axes?: number | readonly number[],
  opts: { correction?: number; keepdim?: boolean } = {},
): Tensor => sqrt(variance(x, axes, opts));

/** log(sum(exp(x))) over axes, stable: the max is subtracted first (and carries no gradient). */
export function logsumexp(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const ax = normAxes('logsumexp', axes, x.rank);
  const m = stopGradient(max(x, ax, true));
  const out = add(log(sum(exp(sub(x, m)), ax, true)), m);
  return keepdim ? out : squeeze(out, ax);
}

function argReduce(name: string, onnx: string) {
  const prim = primitive<{ axis: number; keepdims: boolean }>({
    name,
    infer: ([x], a) => [{ dtype: 'int64', shape: reducedShape(x.shape, [a.axis], a.keepdims) }],
    lower: (ctx, n, [x]) => ctx.emit(onnx, [x], { axis: n.attrs.axis, keepdims: n.attrs.keepdims ? 1 : 0 }),
    vjp: 'none',
  });
  return (x: Tensor, axis = -1, keepdim = false): Tensor =>
    prim([x], { axis: normAxis(name, axis, x.rank), keepdims: keepdim })[0];
}
/**
 * int64 index of the largest value along `axis` (default −1; first one on ties), the axis dropped unless `keepdim`
 * (ONNX ArgMax); no gradient.
 */
export const argmax = argReduce('argmax', 'ArgMax');
/**
 * int64 index of the smallest value along `axis` (default −1; first one on ties), the axis dropped unless `keepdim`
 * (ONNX ArgMin); no gradient.
 */
export const argmin = argReduce('argmin', 'ArgMin');

const numelPrim = primitive<{ dtype: DType; shape?: readonly Dim[] }>({
  name: 'numel',
  infer: (_x, a) => [{ dtype: a.dtype, shape: [] }],
  lower: (ctx, n, [x]) => {
    const size = n.attrs.shape
      ? ctx.emit('ReduceProd', [ctx.dims(n.attrs.shape)], { keepdims: 0 })[0]
      : ctx.emit('Size', [x])[0];
    return ctx.emit('Cast', [size], { to: castCode(n.attrs.dtype) });
  },
  vjp: 'none',
});
const castCode = (d: DType): number => ONNX_DTYPE[d];
/** Number of elements of x at run time, as a scalar of `dtype`. */
export const numelOf = (x: Tensor, dtype: DType = 'float32'): Tensor => numelPrim([x], { dtype })[0];
const numelOfShape = (x: Tensor, shape: readonly Dim[], dtype: DType): Tensor => numelPrim([x], { dtype, shape })[0];
