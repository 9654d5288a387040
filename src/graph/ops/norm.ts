// Normalisation: softmax, logSoftmax (primitives with fused kernels), layerNorm (ONNX LayerNormalization with
// its Mean/InvStdDev outputs), batchNorm (training with PyTorch's unbiased running variance; eval as one
// BatchNormalization node, which inference exports fold into the preceding conv), groupNorm.
import { isFloat, ONNX_DTYPE } from '../dtype.js';
import { primitive } from '../primitive.js';
import { formatShape, normAxis, type Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, div, exp, mul, neg, rsqrt, sub } from './elementwise.js';
import { customVjp } from './differentiation.js';
import { expand, reshape, reshapeLike } from './movement.js';
import { mean, reducedCount, sum } from './reduce.js';
import { stopGradient } from './differentiation.js';
import { constant, scalar } from './leaf.js';
import { ndarray } from '../ndarray.js';

const softmaxPrim = primitive<{ axis: number }>({
  name: 'softmax',
  infer: ([x]) => {
    if (!isFloat(x.dtype)) throw new Error(`softmax: needs a floating-point tensor, got ${x.dtype}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  lower: (ctx, n, [x]) => ctx.emit('Softmax', [x], { axis: n.attrs.axis }),
  vjp: (n, [g]) => {
    if (!g) return [null];
    const y = n.outputs[0];
    return [mul(y, sub(g, sum(mul(g, y), n.attrs.axis, true)))];
  },
});
/**
 * Softmax along `axis` (default −1; ONNX Softmax): exp(x)/Σexp(x), same shape; float tensors only; throws on a
 * non-float dtype or an out-of-range axis.
 */
export const softmax = (x: Tensor, axis = -1): Tensor =>
  softmaxPrim([x], { axis: normAxis('softmax', axis, x.rank) })[0];

const logSoftmaxPrim = primitive<{ axis: number }>({
  name: 'logSoftmax',
  infer: ([x]) => {
    if (!isFloat(x.dtype)) throw new Error(`logSoftmax: needs a floating-point tensor, got ${x.dtype}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  lower: (ctx, n, [x]) => ctx.emit('LogSoftmax', [x], { axis: n.attrs.axis }),
  vjp: (n, [g]) => {
    if (!g) return [null];
    return [sub(g, mul(exp(n.outputs[0]), sum(g, n.attrs.axis, true)))];
  },
});
/**
 * log(softmax(x)) along `axis` (default −1), computed stably as one op (ONNX LogSoftmax); float tensors only; throws on
 * a non-float dtype or an out-of-range axis.
 */
export const logSoftmax = (x: Tensor, axis = -1): Tensor =>
  logSoftmaxPrim([x], { axis: normAxis('logSoftmax', axis, x.rank) })[0];

// ---- layerNorm ---------------------------------------------------------------------------------

const layerNormPrim = primitive<{ axis: number; eps: number }>({
  name: 'layerNorm',
  infer: ([x, w, b], a) => {
    const norm = x.shape.slice(a.axis);
    for (const p of b ? [w, b] : [w]) {
      if (formatShape(p.shape) !== formatShape(norm))
        throw new Error(
          `layerNorm: weight/bias ${formatShape(p.shape)} must match the normalised dims ${formatShape(norm)} of ${formatShape(x.shape)}`,
        );
    }
    const statShape: Dim[] = x.shape.map((d, i) => (i >= a.axis ? 1 : d));
    return [
      { dtype: x.dtype, shape: x.shape },
      { dtype: x.dtype, shape: statShape },
      { dtype: x.dtype, shape: statShape },
    ];
  },
  lower: (ctx, n, ins) =>
    ctx.emit(
      'LayerNormalization',
      ins,
      { axis: n.attrs.axis, epsilon: { float: n.attrs.eps }, stash_type: ONNX_DTYPE[n.inputs[0].dtype] },
      3,
    ),
  vjp: (n, [gy, gMean, gInv]) => {
    const [x, w, b] = n.inputs;
    const [, mu, r] = n.outputs;
    const axes = x.shape.map((_, i) => i).filter((i) => i >= n.attrs.axis);
    const xhat = mul(sub(x, mu), r);
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    let db: Tensor | null = null;
    if (gy) {
      const dxhat = mul(gy, w);
      dx = mul(r, sub(sub(dxhat, mean(dxhat, axes, true)), mul(xhat, mean(mul(dxhat, xhat), axes, true))));
      dw = mul(gy, xhat);
      db = b ? gy : null;
    }
    const m = reducedCount(x, axes, x.dtype);
    if (gMean) dx = add(dx ?? mul(x, 0), div(gMean, m));
    if (gInv) dx = add(dx ?? mul(x, 0), neg(div(mul(mul(gInv, mul(r, r)), xhat), m)));
    return b ? [dx, dw, db] : [dx, dw];
  },
});

/** Layer normalisation over the trailing dims `normalizedShape` covers (default: the last axis). */
export function layerNorm(
  x: Tensor,
  weight?: Tensor,
  bias?: Tensor,
  opts: { eps?: number; normalizedDims?: number } = {},
): Tensor {
  const k = opts.normalizedDims ?? weight?.rank ?? 1;
  const axis = x.rank - k;
  const w = weight ?? expand(scalar(1, x.dtype), x.shape.slice(axis));
  return layerNormPrim(bias ? [x, w, bias] : [x, w], { axis, eps: opts.eps ?? 1e-5 })[0];
}

/** RMSNorm: x / sqrt(mean(x²) + eps) · weight over the last axis. */
export function rmsNorm(x: Tensor, weight?: Tensor, eps = 1e-6): Tensor {
  const y = mul(x, rsqrt(add(mean(mul(x, x), -1, true), eps)));
  return weight ? mul(y, weight) : y;
}

// ---- batchNorm ---------------------------------------------------------------------------------

/**
 * What {@link batchNorm} returns: the normalized output `y` (shape of x) and the running statistics [C] to carry into
 * the next step.
 */
export interface BatchNormResult {
  readonly y: Tensor;
  /** Updated running statistics (training mode); the inputs themselves in eval mode. */
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
}

/**
 * Eval-mode batch norm as one primitive: y = (x − μ)·w/√(σ² + ε) + b with the running statistics, lowered to ONNX
 * BatchNormalization (inference mode, one output), the node a hand-written inference graph has and the one an
 * inference export folds into the preceding Conv (onnx/inference.ts). Inputs [x, w, b, μ, σ²], the last four [C].
 */
const batchNormEvalPrim = primitive<{ eps: number }>({
  name: 'batchNormEval',
  infer: ([x, ...stats]) => {
    for (const p of stats) {
      if (p.rank !== 1 || p.shape[0] !== x.shape[1])
        throw new Error(
          `batchNorm: weight, bias and running statistics must be [${x.shape[1]}], got ${formatShape(p.shape)}`,
        );
    }
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  lower: (ctx, n, ins) => ctx.emit('BatchNormalization', ins, { epsilon: { float: n.attrs.eps } }),
  vjp: (n, [g]) => {
    if (!g) return n.inputs.map(() => null);
    const [x, w, , mu, v] = n.inputs;
    const bshape: Dim[] = x.shape.map((d, i) => (i === 1 ? d : 1));
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const c = [x.shape[1]];
    const r = rsqrt(add(v, n.attrs.eps)); // [C]
    const xc = sub(x, reshape(mu, bshape));
    const sg = reshape(sum(g, axes, true), c); // Σdy [C]
    const sgxc = reshape(sum(mul(g, xc), axes, true), c); // Σdy·(x − μ) [C]
    return [
      mul(g, reshape(mul(w, r), bshape)),
      mul(sgxc, r),
      sg,
      neg(mul(sg, mul(w, r))),
      mul(mul(sgxc, w), mul(mul(r, mul(r, r)), -0.5)),
    ];
  },
});

/**
 * Batch normalisation over every axis but 1. Training mode normalises with the batch statistics (biased variance)
 * and updates the running variance with the UNBIASED batch variance, as PyTorch does (ORT's training-mode
 * BatchNormalization uses the biased one, so this is written out).
 */
export function batchNorm(
  x: Tensor,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  runningMean: Tensor,
  runningVar: Tensor,
  opts: { training: boolean; momentum?: number; eps?: number },
): BatchNormResult {
  if (x.rank < 2) throw new Error(`batchNorm: input must be [N, C, ...], got ${formatShape(x.shape)}`);
  const c = x.shape[1];
  const bshape: Dim[] = x.shape.map((_d, i) => (i === 1 ? c : 1));
  const eps = opts.eps ?? 1e-5;
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const affine = (z: Tensor): Tensor => {
    let y = z;
    if (weight) y = mul(y, reshape(weight, bshape));
    if (bias) y = add(y, reshape(bias, bshape));
    return y;
  };
  if (!opts.training) {
    // ORT's CPU BatchNormalization has float32/float64 kernels; other dtypes (float16 under autocast) stay decomposed
    if (typeof c === 'number' && (x.dtype === 'float32' || x.dtype === 'float64')) {
      const w = weight ?? constant(ndarray(x.dtype, [c], new Array<number>(c).fill(1)));
      const b = bias ?? constant(ndarray(x.dtype, [c]));
      return { y: batchNormEvalPrim([x, w, b, runningMean, runningVar], { eps })[0], runningMean, runningVar };
    }
    const z = mul(sub(x, reshape(runningMean, bshape)), rsqrt(add(reshape(runningVar, bshape), eps)));
    return { y: affine(z), runningMean, runningVar };
  }
  const m = opts.momentum ?? 0.1;
  const w = weight ? reshape(weight, bshape) : undefined;
  const b = bias ? reshape(bias, bshape) : undefined;
  const n = reducedCount(x, axes, x.dtype);
  const [y, mu, varB] = batchNormTraining(x, w, b, axes, n, eps);
  const unbiased = mul(stopGradient(reshape(varB, [c])), div(n, sub(n, scalar(1, x.dtype))));
  return {
    y,
    runningMean: add(mul(runningMean, 1 - m), mul(stopGradient(reshape(mu, [c])), m)),
    runningVar: add(mul(runningVar, 1 - m), mul(unbiased, m)),
  };
}

/**
 * Training-mode batch norm with a hand-written gradient: y = (x − μ)·s + b with s = w/√(σ² + ε), outputs
 * [y, μ, σ²] (kept dims). Differentiating the decomposed forward costs ~15 passes over the activation (every
 * broadcast's Expand/ReduceSum pair); the closed form needs 6: Σdy, Σdy·(x − μ), and
 *   dx = s·dy + (x − μ)·(−s·Σdy(x − μ)/(n(σ² + ε))) − s·Σdy/n.
 */
function batchNormTraining(
  x: Tensor,
  w: Tensor | undefined,
  b: Tensor | undefined,
  axes: readonly number[],
  n: Tensor,
  eps: number,
): Tensor[] {
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  const fused = customVjp(
    'batchNorm',
    (xi) => {
      const mu = mean(xi, axes, true);
      const xc = sub(xi, mu);
      const varB = mean(mul(xc, xc), axes, true);
      const inv = rsqrt(add(varB, eps));
      const s = w ? mul(w, inv) : inv;
      const y = b ? add(mul(xc, s), b) : mul(xc, s);
      return { outputs: [y, mu, varB], residuals: [xc, inv, s] };
    },
    ([gy], [xc, inv, s]) => {
      // μ and σ² leave only through stopGradient (running statistics): no cotangent reaches them.
      let dx: Tensor | null = null;
      let dw: Tensor | null = null;
      let db: Tensor | null = null;
      if (gy) {
        const sdy = sum(gy, axes, true);
        const sdyxc = sum(mul(gy, xc), axes, true);
        const k = neg(div(mul(mul(s, sdyxc), mul(inv, inv)), n));
        dx = add(add(mul(gy, s), mul(xc, k)), neg(div(mul(s, sdy), n)));
        if (w) dw = mul(sdyxc, inv);
        if (b) db = sdy;
      }
      return [dx, ...(w ? [dw] : []), ...(b ? [db] : [])];
    },
  );
  return fused(...inputs);
}

/** Group normalisation: channels split into `groups`, each normalised over its channels and spatial dims. */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const c = x.shape[1];
  if (typeof c !== 'number' || c % groups !== 0)
    throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
  const g = reshape(x, [x.shape[0], groups, -1]);
  const mu = mean(g, -1, true);
  const xc = sub(g, mu);
  const v = mean(mul(xc, xc), -1, true);
  let y = reshapeLike(mul(xc, rsqrt(add(v, eps))), x);
  const bshape: Dim[] = x.shape.map((d, i) => (i === 1 ? d : 1));
  if (weight) y = mul(y, reshape(weight, bshape));
  if (bias) y = add(y, reshape(bias, bshape));
  return y;
}
