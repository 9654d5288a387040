// Indexing: gather/indexSelect, gatherElements, scatterAdd, embedding, oneHot, topk, cumsum, triu/tril.
import { isInteger, type DType } from '../dtype.js';
import { ndarray } from '../ndarray.js';
import { primitive, type PrimFn } from '../primitive.js';
import { formatShape, normAxis, type Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { constant } from './leaf.js';
import { gemm } from './linalg.js';
import { reshape, reshapeLike, transpose, zerosLike } from './movement.js';

function requireIndex(op: string, idx: Tensor): void {
  if (!isInteger(idx.dtype)) throw new Error(`${op}: indices must be int32 or int64, got ${idx.dtype}`);
}

// ---- gather ------------------------------------------------------------------------------------

const gatherPrim = primitive<{ axis: number }>({
  name: 'gather',
  infer: ([x, idx], a) => {
    requireIndex('gather', idx);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, a.axis), ...idx.shape, ...x.shape.slice(a.axis + 1)] }];
  },
  lower: (ctx, n, ins) => ctx.emit('Gather', ins, { axis: n.attrs.axis }),
  vjp: (n, [g]) => {
    if (!g) return [null, null];
    const [x, idx] = n.inputs;
    return [gatherGrad(g, x, idx, n.attrs.axis), null];
  },
});
/** Takes slices of x along `axis` at integer `indices` (any rank); negative indices count from the end. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  return gatherPrim([x, indices], { axis: normAxis('gather', axis, x.rank) })[0];
}
/**
 * Selects slices of x along `axis` at the integer `indices` (ONNX Gather; PyTorch's argument order): the axis is
 * replaced by the indices' shape.
 */
export const indexSelect = (x: Tensor, axis: number, indices: Tensor): Tensor => gather(x, indices, axis);

/**
 * Transpose of gather: sums rows of g back into the rows of x they came from (repeated indices add up).
 * Small tables (≤ 2048 rows) use OneHotᵀ·g as one Gemm — deterministic and fast; larger ones ScatterElements(add).
 * Never ScatterND(add): it races across threads (ORT #18048).
 */
function gatherGrad(g: Tensor, x: Tensor, idx: Tensor, axis: number): Tensor {
  const rows = x.shape[axis];
  // move `axis` first: xt [rows, rest...]; g becomes [idx..., rest...] with rest = the other axes of x in order
  const perm = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
  const xt = transpose(x, perm);
  const q = idx.rank;
  const gPerm = [
    ...Array.from({ length: q }, (_, i) => axis + i),
    ...g.shape.map((_, i) => i).filter((i) => i < axis || i >= axis + q),
  ];
  const gt = transpose(g, gPerm);
  const rest = xt.shape.slice(1);
  const flatIdx = reshape(cast(idx, 'int64'), [-1]);
  const g2 = reshape(gt, [
    -1,
    ...(rest.length
      ? [rest.reduce<Dim>((a, d) => (typeof a === 'number' && typeof d === 'number' ? a * d : `${a}*${d}`), 1)]
      : [1]),
  ]);
  let dxt: Tensor;
  if (typeof rows === 'number' && rows <= 2048) {
    const oh = cast(oneHot(flatIdx, rows), g.dtype); // [n, rows]
    dxt = gemm(oh, g2, { transA: true }); // [n, rows]ᵀ·[n, R] = [rows, R]: one Gemm(transA), no Transpose
  } else {
    dxt = scatterRows(g2, flatIdx, xt);
  }
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return transpose(reshapeLike(dxt, xt), inv);
}

const scatterRowsPrim = primitive<Record<string, never>>({
  name: 'scatterRows',
  infer: ([g2, , like]) => [{ dtype: g2.dtype, shape: [like.shape[0], g2.shape[1]] }],
  lower: (ctx, n, [g2, idx, like]) => {
    const rows = ctx.emit('Slice', [ctx.shapeOf(n.inputs[2]), ctx.i64([0]), ctx.i64([1])])[0];
    const outShape = ctx.emit(
      'Concat',
      [rows, ctx.emit('Slice', [ctx.shapeOf(n.inputs[0]), ctx.i64([1]), ctx.i64([2])])[0]],
      { axis: 0 },
    )[0];
    const zeros = ctx.emit('ConstantOfShape', [outShape], {
      value: { tensor: ndarray(n.inputs[0].dtype, [1], [0]) },
    })[0];
    const idx2 = ctx.emit('Expand', [ctx.emit('Unsqueeze', [idx, ctx.i64([1])])[0], ctx.shapeOf(n.inputs[0])])[0];
    void like;
    return ctx.emit('ScatterElements', [zeros, idx2, g2], { axis: 0, reduction: 'add' });
  },
  vjp: (n, [g]) => [g && gatherPrim([g, n.inputs[1]], { axis: 0 })[0], null, null],
});
const scatterRows = (g2: Tensor, idx: Tensor, like: Tensor): Tensor => scatterRowsPrim([g2, idx, like], {})[0];

/** Embedding lookup: rows of `weight` [vocab, dim] at integer `ids` (any shape) → [...ids, dim]. */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (weight.rank !== 2) throw new Error(`embedding: weight must be [vocab, dim], got ${formatShape(weight.shape)}`);
  return gather(weight, ids, 0);
}

// ---- gatherElements / scatterAdd ---------------------------------------------------------------

const gatherElementsPrim = primitive<{ axis: number }>({
  name: 'gatherElements',
  infer: ([x, idx], a) => {
    requireIndex('gatherElements', idx);
    if (idx.rank !== x.rank)
      throw new Error(
        `gatherElements: indices ${formatShape(idx.shape)} must have the rank of x ${formatShape(x.shape)}`,
      );
    void a;
    return [{ dtype: x.dtype, shape: idx.shape }];
  },
  lower: (ctx, n, ins) => ctx.emit('GatherElements', ins, { axis: n.attrs.axis }),
  vjp: (n, [g]) => [g && scatterAdd(zerosLike(n.inputs[0]), n.attrs.axis, n.inputs[1], g), null],
});
/** torch.gather: out[i][j] = x[i][idx[i][j]] along `axis`. */
export const gatherElements = (x: Tensor, indices: Tensor, axis: number): Tensor =>
  gatherElementsPrim([x, indices], { axis: normAxis('gatherElements', axis, x.rank) })[0];

const scatterAddPrim = primitive<{ axis: number }>({
  name: 'scatterAdd',
  infer: ([x, idx, src]) => {
    requireIndex('scatterAdd', idx);
    if (formatShape(idx.shape) !== formatShape(src.shape))
      throw new Error(
        `scatterAdd: indices ${formatShape(idx.shape)} and src ${formatShape(src.shape)} must have the same shape`,
      );
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  lower: (ctx, n, ins) => ctx.emit('ScatterElements', ins, { axis: n.attrs.axis, reduction: 'add' }),
  vjp: (n, [g]) => [g, null, g && gatherElements(g, n.inputs[1], n.attrs.axis)],
});
/** torch.scatter_add: x with src added at idx along axis (repeated indices accumulate). */
export const scatterAdd = (x: Tensor, axis: number, indices: Tensor, src: Tensor): Tensor =>
  scatterAddPrim([x, indices, src], { axis: normAxis('scatterAdd', axis, x.rank) })[0];

// ---- oneHot ------------------------------------------------------------------------------------

const oneHotPrim = primitive<{ depth: number; dtype: DType }>({
  name: 'oneHot',
  infer: ([idx], a) => (requireIndex('oneHot', idx), [{ dtype: a.dtype, shape: [...idx.shape, a.depth] }]),
  lower: (ctx, n, [idx]) =>
    ctx.emit('OneHot', [idx, ctx.i64([n.attrs.depth]), ctx.constant(ndarray(n.attrs.dtype, [2], [0, 1]))], {
      axis: -1,
    }),
  vjp: 'none',
});
/** One-hot encoding along a new last axis. */
export const oneHot = (indices: Tensor, depth: number, dtype: DType = 'float32'): Tensor =>
  oneHotPrim([indices], { depth, dtype })[0];

// ---- topk --------------------------------------------------------------------------------------

const topkPrim = primitive<{ k: number; axis: number; largest: boolean }>({
  name: 'topk',
  infer: ([x], a) => {
    const d = x.shape[a.axis];
    if (typeof d === 'number' && a.k > d)
      throw new Error(`topk: k=${a.k} exceeds axis ${a.axis} of ${formatShape(x.shape)}`);
    const shape = [...x.shape];
    shape[a.axis] = a.k;
    return [
      { dtype: x.dtype, shape },
      { dtype: 'int64', shape },
    ];
  },
  lower: (ctx, n, [x]) =>
    ctx.emit('TopK', [x, ctx.i64([n.attrs.k])], { axis: n.attrs.axis, largest: n.attrs.largest ? 1 : 0, sorted: 1 }, 2),
  vjp: (n, [g]) => [g && scatterAdd(zerosLike(n.inputs[0]), n.attrs.axis, n.outputs[1], g)],
});
/** The k largest (or smallest) values along `axis` and their int64 indices; the gradient flows through values. */
export function topk(x: Tensor, k: number, axis = -1, largest = true): [Tensor, Tensor] {
  const [v, i] = topkPrim([x], { k, axis: normAxis('topk', axis, x.rank), largest });
  return [v, i];
}

// ---- cumsum ------------------------------------------------------------------------------------

const cumsumPrim: PrimFn<{ axis: number; exclusive: boolean; reverse: boolean }> = primitive<{
  axis: number;
  exclusive: boolean;
  reverse: boolean;
}>({
  name: 'cumsum',
  infer: ([x]) => [{ dtype: x.dtype, shape: x.shape }],
  lower: (ctx, n, [x]) =>
    ctx.emit('CumSum', [x, ctx.scalar(n.attrs.axis, 'int64')], {
      exclusive: n.attrs.exclusive ? 1 : 0,
      reverse: n.attrs.reverse ? 1 : 0,
    }),
  // the transpose of a (reverse) cumulative sum is the cumulative sum in the other direction
  vjp: (n, [g]) => [g && cumsumPrim([g], { ...n.attrs, reverse: !n.attrs.reverse })[0]],
});
/**
 * Cumulative sum along `axis` (ONNX CumSum), same shape; `exclusive` leaves out the current element and `reverse` sums
 * from the end (both default false); throws on an out-of-range axis.
 */
export const cumsum = (x: Tensor, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor =>
  cumsumPrim([x], {
    axis: normAxis('cumsum', axis, x.rank),
    exclusive: opts.exclusive ?? false,
    reverse: opts.reverse ?? false,
  })[0];

// ---- triu / tril / causal mask -----------------------------------------------------------------

const triluPrim: PrimFn<{ upper: boolean; k: number }> = primitive<{ upper: boolean; k: number }>({
  name: 'trilu',
  infer: ([x]) => {
    if (x.rank < 2) throw new Error(`triu/tril: needs at least 2 dims, got ${formatShape(x.shape)}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  lower: (ctx, n, [x]) => ctx.emit('Trilu', [x, ctx.scalar(n.attrs.k, 'int64')], { upper: n.attrs.upper ? 1 : 0 }),
  vjp: (n, [g]) => [g && triluPrim([g], n.attrs)[0]],
});
/**
 * Keeps the upper triangle of the last two dims (j − i ≥ k, default k = 0) and zeroes the rest (ONNX Trilu, upper = 1);
 * throws below rank 2.
 */
export const triu = (x: Tensor, k = 0): Tensor => triluPrim([x], { upper: true, k })[0];
/**
 * Keeps the lower triangle of the last two dims (j − i ≤ k, default k = 0) and zeroes the rest (ONNX Trilu, upper = 0);
 * throws below rank 2.
 */
export const tril = (x: Tensor, k = 0): Tensor => triluPrim([x], { upper: false, k })[0];

/** A [t, t] additive causal mask: 0 on and below the diagonal, -inf above (a constant for static t). */
export function causalMask(t: number, dtype: DType = 'float32'): Tensor {
  const m = new Float64Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = -Infinity;
  return constant(ndarray(dtype, [t, t], Array.from(m)));
}
