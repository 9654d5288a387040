// Message passing: gatherRows (gather by edge index), segmentSum / segmentMax (primitives) and segmentMean,
// segmentSoftmax (composites) over destination nodes.
//
// Lowering, measured on this 2-vCPU machine (lscpu: "AMD EPYC"; shared, load average 8–21 during these runs,
// 2026-12-06) with onnxruntime-node 1.30 at Cora's size (E = 13,264 edges with self loops into N = 2,708 nodes,
// R features; `npm run bench -- segment`), median ms per call including the feed, 1 / 2 intra-op threads:
//   sorted float64 prefix sums (below) ..... R 16: 21.6 / 31.6 ms   R 64: 53.5 / 31.4 ms   (load 16.9)
//   ScatterElements(add) into zeros ........ R 16: 19.4 / 24.7 ms   R 64: 90.0 / 82.0 ms   (same run)
//   OneHot(seg)ᵀ · x as one Gemm ........... R 16: 1468 / 1571 ms   R 64: 1689 / 971 ms    (a 144 MB [E, N] matrix)
// In a GAT training step on Cora ScatterElements(add) was 76 % of the time (ORT's kernel does index arithmetic per
// element; 17 calls on up to [E, 8, 8]); with the prefix sums the step went from 1,446 to 591 ms (1 thread, load
// ~20). ScatterElements(add) is serial in ORT and was bit-identical at 1 and 2 threads too; ScatterND(add) races
// across threads (ORT #18048, #23396) and is never used. The prefix sums are bit-identical at 1 and 2 threads
// (test/graph/segment.test.ts).
// segmentMax is ScatterElements(max) from -inf; empty segments give 0 (as torch_scatter / PyG), and its gradient is
// shared equally among the entries that tie for a segment's maximum (as torch.scatter_reduce 'amax').
import { isInteger, ONNX_DTYPE } from '../dtype.js';
import { ndarray } from '../ndarray.js';
import { primitive, type LowerCtx } from '../primitive.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast, div, equal, exp, maximum, mul, sub } from './elementwise.js';
import { stopGradient } from './differentiation.js';
import { concat, onesLike } from './movement.js';

function requireSegments(op: string, x: Tensor, seg: Tensor): void {
  if (!isInteger(seg.dtype)) throw new Error(`${op}: segment ids must be int32 or int64, got ${seg.dtype}`);
  if (seg.rank !== 1) throw new Error(`${op}: segment ids must be 1-D [E], got ${formatShape(seg.shape)}`);
  if (x.rank < 1) throw new Error(`${op}: values must have at least one dim [E, ...], got a scalar`);
  const [e, s] = [x.shape[0], seg.shape[0]];
  if (typeof e === 'number' && typeof s === 'number' && e !== s) {
    throw new Error(`${op}: values ${formatShape(x.shape)} and segment ids ${formatShape(seg.shape)} disagree on E`);
  }
}

/** [N, ...rest] from the segment count (rows of `like`) and the trailing dims of `x` [E, ...rest], at run time. */
function outShape(ctx: LowerCtx, x: Tensor, like: Tensor): string {
  const rows = ctx.emit('Slice', [ctx.shapeOf(like), ctx.i64([0]), ctx.i64([1])])[0];
  if (x.rank === 1) return rows;
  const rest = ctx.emit('Slice', [ctx.shapeOf(x), ctx.i64([1]), ctx.i64([x.rank])])[0];
  return ctx.emit('Concat', [rows, rest], { axis: 0 })[0];
}

/** ScatterElements along axis 0 of a tensor of `fill` shaped [N, ...rest]; the ids broadcast over the rest dims. */
function scatterSegments(
  ctx: LowerCtx,
  x: Tensor,
  like: Tensor,
  [xs, seg]: readonly string[],
  reduction: 'add' | 'max',
  fill: number,
): string {
  const init = ctx.emit('ConstantOfShape', [outShape(ctx, x, like)], {
    value: { tensor: ndarray(x.dtype, [1], [fill]) },
  })[0];
  let idx = ctx.emit('Cast', [seg], { to: 7 })[0];
  if (x.rank > 1) {
    idx = ctx.emit('Unsqueeze', [idx, ctx.i64(Array.from({ length: x.rank - 1 }, (_, i) => i + 1))])[0];
    idx = ctx.emit('Expand', [idx, ctx.shapeOf(x)])[0];
  }
  return ctx.emit('ScatterElements', [init, idx, xs], { axis: 0, reduction })[0];
}

// Segment sum as sorted prefix sums. segmentLayout orders the entries by segment id (TopK over the ids) and finds each
// segment's [start, end) in that order (a CumSum of per-segment counts); it is traced once per id tensor and shared by
// every segmentSum over those ids. segmentSum then gathers the rows in that order, prefix-sums them in float64
// (CumSum) and takes differences at the boundaries. Every kernel is a row-wise pass or a small 1-D one, serial or
// order-independent, so results are deterministic at any thread count; float64 accumulation keeps each difference
// exact to float32 rounding.
const segmentLayoutPrim = primitive<Record<string, never>>({
  name: 'segmentLayout',
  infer: ([seg, like]) => [
    { dtype: 'int64', shape: seg.shape },
    { dtype: 'int64', shape: [like.shape[0]] },
    { dtype: 'int64', shape: [like.shape[0]] },
  ],
  lower: (ctx, n, [seg]) => {
    const idx = ctx.emit('Cast', [seg], { to: 7 })[0];
    const e = ctx.shapeOf(n.inputs[0]); // [1] = E
    const [, perm] = ctx.emit('TopK', [idx, e], { axis: 0, largest: 0, sorted: 1 }, 2); // ids ascending
    const rows = ctx.emit('Slice', [ctx.shapeOf(n.inputs[1]), ctx.i64([0]), ctx.i64([1])])[0];
    const zeros = ctx.emit('ConstantOfShape', [rows], { value: { tensor: ndarray('int64', [1], [0]) } })[0];
    const ones = ctx.emit('ConstantOfShape', [e], { value: { tensor: ndarray('int64', [1], [1]) } })[0];
    const counts = ctx.emit('ScatterElements', [zeros, idx, ones], { axis: 0, reduction: 'add' })[0]; // [N], E updates
    const ends = ctx.emit('CumSum', [counts, ctx.scalar(0, 'int64')])[0];
    return [perm, ctx.emit('Sub', [ends, counts])[0], ends];
  },
  vjp: 'none',
});
const layouts = new WeakMap<Tensor, Map<string, Tensor[]>>();
/** [perm, starts, ends] of the ids `seg` into the rows of `like`, traced once per id tensor and segment count. */
function segmentLayout(seg: Tensor, like: Tensor): Tensor[] {
  let m = layouts.get(seg);
  if (!m) layouts.set(seg, (m = new Map()));
  const key = String(like.shape[0]);
  let l = m.get(key);
  if (!l) m.set(key, (l = segmentLayoutPrim([seg, like], {})));
  return l;
}

function sortedSegmentSum(
  ctx: LowerCtx,
  x: Tensor,
  like: Tensor,
  [xs, , , perm, starts, ends]: readonly string[],
): string {
  const x2d = ctx.emit('Reshape', [xs, ctx.i64([0, -1])])[0]; // [E, R] (R = 1 for a 1-D x)
  const sorted = ctx.emit('Cast', [ctx.emit('Gather', [x2d, perm], { axis: 0 })[0]], { to: 11 })[0]; // [E, R] f64
  const csum = ctx.emit('CumSum', [sorted, ctx.scalar(0, 'int64')])[0];
  const zeroRow = ctx.emit('Mul', [
    ctx.emit('Slice', [csum, ctx.i64([0]), ctx.i64([1]), ctx.i64([0])])[0],
    ctx.scalar(0, 'float64'),
  ])[0];
  const padded = ctx.emit('Concat', [zeroRow, csum], { axis: 0 })[0]; // [E + 1, R]: padded[k] = sum of the first k rows
  const sums = ctx.emit('Sub', [
    ctx.emit('Gather', [padded, ends], { axis: 0 })[0],
    ctx.emit('Gather', [padded, starts], { axis: 0 })[0],
  ])[0];
  const cast = ctx.emit('Cast', [sums], { to: ONNX_DTYPE[x.dtype] })[0]; // [N, R]
  return ctx.emit('Reshape', [cast, outShape(ctx, x, like)])[0];
}

// ---- gatherRows / segmentSum: each other's transpose ----------------------------------------------------------

const gatherRowsPrim = primitive<Record<string, never>>({
  name: 'gatherRows',
  infer: ([x, idx]) => {
    requireSegments('gatherRows', idx, idx);
    if (x.rank < 1) throw new Error('gatherRows: x must have at least one dim [N, ...]');
    return [{ dtype: x.dtype, shape: [idx.shape[0], ...x.shape.slice(1)] }];
  },
  lower: (ctx, _n, ins) => ctx.emit('Gather', ins, { axis: 0 }),
  vjp: (n, [g]) => [g && segmentSum(g, n.inputs[1], n.inputs[0]), null],
});
/** Rows of node features x [N, ...] at edge endpoints `index` [E] → [E, ...] (the message-passing gather). */
export const gatherRows = (x: Tensor, index: Tensor): Tensor => gatherRowsPrim([x, index], {})[0];

const segmentSumPrim = primitive<Record<string, never>>({
  name: 'segmentSum',
  infer: ([x, seg, like]) => (
    requireSegments('segmentSum', x, seg), [{ dtype: x.dtype, shape: [like.shape[0], ...x.shape.slice(1)] }]
  ),
  lower: (ctx, n, ins) => [sortedSegmentSum(ctx, n.inputs[0], n.inputs[2], ins)],
  vjp: (n, [g]) => [g && gatherRows(g, n.inputs[1]), null, null, null, null, null],
});

/**
 * Sums the rows of x [E, ...] into segments: out[n] = Σ_{e : seg[e] = n} x[e], out [N, ...] with N the rows of
 * `nodes` (a tensor [N, ...] whose first dim is the node count; only its shape is read). Ids must lie in [0, N);
 * they need not be sorted, may repeat, and segments with no entries are 0.
 */
export function segmentSum(x: Tensor, segments: Tensor, nodes: Tensor): Tensor {
  requireSegments('segmentSum', x, segments);
  return segmentSumPrim([x, segments, nodes, ...segmentLayout(segments, nodes)], {})[0];
}

// ---- segmentMax -----------------------------------------------------------------------------------------------

const segmentMaxPrim = primitive<Record<string, never>>({
  name: 'segmentMax',
  infer: ([x, seg, like]) => (
    requireSegments('segmentMax', x, seg), [{ dtype: x.dtype, shape: [like.shape[0], ...x.shape.slice(1)] }]
  ),
  lower: (ctx, n, ins) => {
    const m = scatterSegments(ctx, n.inputs[0], n.inputs[2], ins, 'max', -Infinity);
    const empty = ctx.emit('IsInf', [m], { detect_positive: 0, detect_negative: 1 })[0];
    return ctx.emit('Where', [empty, ctx.scalar(0, n.inputs[0].dtype), m]);
  },
  vjp: (n, [g]) => {
    if (!g) return [null, null, null];
    const [x, seg] = n.inputs;
    const mask = cast(equal(x, gatherRows(n.outputs[0], seg)), x.dtype); // [E, ...] 1 where x is its segment's max
    const ties = maximum(segmentSum(mask, seg, n.outputs[0]), 1); // [N, ...]
    return [mul(mask, gatherRows(div(g, ties), seg)), null, null];
  },
});
/** The largest row entry per segment (elementwise over the rest dims); empty segments give 0. */
export const segmentMax = (x: Tensor, segments: Tensor, nodes: Tensor): Tensor =>
  segmentMaxPrim([x, segments, nodes], {})[0];

// ---- composites -----------------------------------------------------------------------------------------------

/** Mean of the rows in each segment; empty segments give 0. */
export function segmentMean(x: Tensor, segments: Tensor, nodes: Tensor): Tensor {
  const n = stopGradient(segmentSum(onesLike(x), segments, nodes));
  return div(segmentSum(x, segments, nodes), maximum(n, 1));
}

/**
 * Softmax of edge scores x [E, ...] over the edges of each segment (GAT's attention over a node's in-edges):
 * out[e] = exp(x[e] − m) / Σ_{e' in seg(e)} exp(x[e'] − m), with m the segment's max (held constant: the softmax
 * does not depend on it, so no gradient flows through it).
 */
export function segmentSoftmax(x: Tensor, segments: Tensor, nodes: Tensor): Tensor {
  const m = stopGradient(segmentMax(x, segments, nodes));
  const e = exp(sub(x, gatherRows(m, segments)));
  return div(e, gatherRows(segmentSum(e, segments, nodes), segments));
}

// ---- node ids -------------------------------------------------------------------------------------------------

const rowIdsPrim = primitive<Record<string, never>>({
  name: 'rowIds',
  infer: ([x]) => {
    if (x.rank < 1) throw new Error('rowIds: needs a tensor with at least one dim [N, ...]');
    return [{ dtype: 'int64', shape: [x.shape[0]] }];
  },
  lower: (ctx, n) => {
    const rows = ctx.emit('Squeeze', [
      ctx.emit('Slice', [ctx.shapeOf(n.inputs[0]), ctx.i64([0]), ctx.i64([1])])[0],
      ctx.i64([0]),
    ])[0];
    return ctx.emit('Range', [ctx.scalar(0, 'int64'), rows, ctx.scalar(1, 'int64')]);
  },
  vjp: 'none',
});
/** The row numbers 0..N-1 of x [N, ...] as int64 [N] (self loops: every node as its own source and destination). */
export const rowIds = (x: Tensor): Tensor => rowIdsPrim([x], {})[0];

const withLoops = new WeakMap<Tensor, Map<string, { dst: Tensor; out: [Tensor, Tensor] }>>();
/**
 * Edge lists with a self loop appended for every node of x [N, ...]: [src ‖ 0..N-1], [dst ‖ 0..N-1]. Traced once
 * per (src, dst, N), so the layers of a model share the lists and their segment layouts (one sort per id list).
 */
export function addSelfLoops(src: Tensor, dst: Tensor, x: Tensor): [Tensor, Tensor] {
  let m = withLoops.get(src);
  if (!m) withLoops.set(src, (m = new Map()));
  const key = String(x.shape[0]);
  const hit = m.get(key);
  if (hit && hit.dst === dst) return hit.out;
  const ids = rowIds(x);
  const out: [Tensor, Tensor] = [concat([cast(src, 'int64'), ids], 0), concat([cast(dst, 'int64'), ids], 0)];
  m.set(key, { dst, out });
  return out;
}

// ---- sparse rows ----------------------------------------------------------------------------------------------

let nnzCount = 0;
const nonzeroFlatPrim = primitive<{ dim: string }>({
  name: 'nonzeroFlat',
  infer: (_ins, a) => [{ dtype: 'int64', shape: [a.dim] }],
  lower: (ctx, _n, [x]) => {
    const flat = ctx.emit('Reshape', [x, ctx.i64([-1])])[0];
    return ctx.emit('Reshape', [ctx.emit('NonZero', [flat])[0], ctx.i64([-1])]);
  },
  vjp: 'none',
});
/** Row-major flat positions of the nonzero entries of x (any shape), int64 [nnz]; nnz is known at run time only. */
export const nonzeroFlat = (x: Tensor): Tensor => nonzeroFlatPrim([x], { dim: `nnz${nnzCount++}` })[0];
