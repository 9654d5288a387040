// The selective scan of state-space models (Mamba, Gu & Dao 2023) as one primitive: a first-order linear recurrence
// along axis 1 with input-dependent decay, h_t = exp(logA_t) ⊙ h_{t−1} + b_t (h_{−1} = 0), or from the last step to
// the first with `reverse` (h_t = exp(logA_t) ⊙ h_{t+1} + b_t). Mamba's ZOH-discretised scan is this with
// logA = Δ·A and b = Δ·B·u (models/mamba.ts); the decay enters as its logarithm so no Log is ever taken and every
// exp is of a non-positive number there.
//
// Why a primitive: the recurrence written with ops retraces the sequence (T steps of ops, and a VJP over each), and
// its gradient is itself a scan — the reverse recurrence g_t = dh_t + exp(logA_{t+1}) g_{t+1} — so the VJP below is
// one more linearScan (reverse) plus elementwise ops, and grad-of-grad works because the VJP is made of primitives.
//
// Three lowerings of the same recurrence, chosen by `method` (the emitter has no graph-valued attributes, so ONNX
// Scan/Loop bodies cannot be emitted; 'sequential' is the unrolled loop the DESIGN.md LSTM measurements found as fast
// as Scan):
//   'doubling'   Hillis–Steele in log space: for k = 1, 2, 4, … < T, b_t += exp(logA_t)·b_{t−k}, logA_t += logA_{t−k}
//                (shifted values are zero-padded). log2(T) passes of Pad/Slice, Exp, Mul, Add over the whole tensor;
//                works for a symbolic T given `maxLength`.
//   'chunked'    doubling inside chunks of `chunk` steps (the cumulative log-decay per position falls out of it),
//                then a sequential carry between chunks: h[c] += exp(cumLogA[c])·h[c−1][last]. T must be static.
//   'sequential' T steps unrolled: h = exp(logA_t)·h + b_t, then Concat. T must be static.
// Measured (`npm run bench -- mamba`, a Mamba LM training step, batch 8, T 128, E 64, N 16; AMD EPYC, load average
// 24–29, 2026-12-06): sequential 699 ms, chunked L=8 963 ms, chunked L=16 1,410 ms, doubling 1,335 ms. The scan is
// memory-bound — each doubling level is ~8 passes over the [B, T, E, N] state, the sequential loop about three — so
// 'sequential' is the Mamba default; its graph grows with T (slower session creation), so long evaluations use
// 'chunked'.
import { isFloat } from '../dtype.js';
import { primitive, type LowerCtx } from '../primitive.js';
import { formatShape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { exp, mul } from './elementwise.js';
import { pad, sliceAxis } from './movement.js';

/** How {@link linearScan} is lowered to ONNX (see the header of graph/ops/scan.ts). */
export type ScanMethod = 'doubling' | 'chunked' | 'sequential';

interface ScanAttrs {
  readonly reverse: boolean;
  readonly method: ScanMethod;
  /** Chunk length of 'chunked'. */
  readonly chunk: number;
  /** Upper bound of T for 'doubling' over a symbolic T (0: T must be static). */
  readonly maxLength: number;
}

/** x shifted by k along `axis` (towards later steps, or earlier ones with `back`), zero-filled. */
function shift(ctx: LowerCtx, x: string, rank: number, axis: number, k: number, back: boolean, dtype: Tensor['dtype']) {
  const pads = new Array<number>(2 * rank).fill(0);
  pads[back ? rank + axis : axis] = k;
  const padded = ctx.emit('Pad', [x, ctx.i64(pads), ctx.scalar(0, dtype)])[0];
  return back
    ? ctx.emit('Slice', [padded, ctx.i64([k]), ctx.i64([Number.MAX_SAFE_INTEGER]), ctx.i64([axis])])[0]
    : ctx.emit('Slice', [padded, ctx.i64([0]), ctx.i64([-k]), ctx.i64([axis])])[0];
}

/** Hillis–Steele doubling along `axis` over `length` steps: returns [h, cumulative logA]. */
function doubling(
  ctx: LowerCtx,
  la: string,
  b: string,
  rank: number,
  axis: number,
  length: number,
  back: boolean,
  dtype: Tensor['dtype'],
): [string, string] {
  for (let k = 1; k < length; k *= 2) {
    const carried = ctx.emit('Mul', [ctx.emit('Exp', [la])[0], shift(ctx, b, rank, axis, k, back, dtype)])[0];
    b = ctx.emit('Add', [b, carried])[0];
    la = ctx.emit('Add', [la, shift(ctx, la, rank, axis, k, back, dtype)])[0];
  }
  return [b, la];
}

function lowerSequential(ctx: LowerCtx, n: { inputs: readonly Tensor[] }, [la, b]: readonly string[], rev: boolean) {
  const t = n.inputs[0].shape[1] as number;
  const las = ctx.emit('Split', [la, ctx.i64(new Array<number>(t).fill(1))], { axis: 1 }, t);
  const bs = ctx.emit('Split', [b, ctx.i64(new Array<number>(t).fill(1))], { axis: 1 }, t);
  const hs = new Array<string>(t);
  let h = '';
  for (let s = 0; s < t; s++) {
    const i = rev ? t - 1 - s : s;
    h = s === 0 ? bs[i] : ctx.emit('Add', [ctx.emit('Mul', [ctx.emit('Exp', [las[i]])[0], h])[0], bs[i]])[0];
    hs[i] = h;
  }
  return t === 1 ? [ctx.emit('Identity', [hs[0]])[0]] : ctx.emit('Concat', hs, { axis: 1 });
}

function lowerChunked(ctx: LowerCtx, n: { inputs: readonly Tensor[] }, [la, b]: readonly string[], a: ScanAttrs) {
  const x = n.inputs[0];
  const t = x.shape[1] as number;
  const l = Math.min(a.chunk, t);
  const chunks = Math.ceil(t / l);
  const padded = chunks * l;
  const dtype = x.dtype;
  const toChunks = (v: string): string => {
    // pad T up to a multiple of the chunk with logA = 0, b = 0 (after the sequence in scan order: harmless)
    if (padded !== t) {
      const pads = new Array<number>(2 * x.rank).fill(0);
      pads[a.reverse ? 1 : x.rank + 1] = padded - t;
      v = ctx.emit('Pad', [v, ctx.i64(pads), ctx.scalar(0, dtype)])[0];
    }
    return ctx.emit('Reshape', [v, ctx.i64([0, chunks, l, -1])])[0]; // [B, C, L, R]
  };
  const [hLoc, cum] = doubling(ctx, toChunks(la), toChunks(b), 4, 2, l, a.reverse, dtype);
  const hs = ctx.emit('Split', [hLoc, ctx.i64(new Array<number>(chunks).fill(1))], { axis: 1 }, chunks); // C × [B, 1, L, R]
  const cs = ctx.emit('Split', [cum, ctx.i64(new Array<number>(chunks).fill(1))], { axis: 1 }, chunks);
  const edge = a.reverse ? 0 : l - 1; // the chunk's last step in scan order
  const out = new Array<string>(chunks);
  let carry = '';
  for (let s = 0; s < chunks; s++) {
    const c = a.reverse ? chunks - 1 - s : s;
    out[c] = s === 0 ? hs[c] : ctx.emit('Add', [hs[c], ctx.emit('Mul', [ctx.emit('Exp', [cs[c]])[0], carry])[0]])[0];
    carry = ctx.emit('Slice', [out[c], ctx.i64([edge]), ctx.i64([edge + 1]), ctx.i64([2])])[0]; // [B, 1, 1, R]
  }
  let h = chunks === 1 ? out[0] : ctx.emit('Concat', out, { axis: 1 })[0]; // [B, C, L, R]
  h = ctx.emit('Reshape', [h, ctx.emit('Concat', [ctx.i64([0, padded]), restDims(ctx, x)], { axis: 0 })[0]])[0];
  if (padded !== t)
    h = a.reverse
      ? ctx.emit('Slice', [h, ctx.i64([padded - t]), ctx.i64([padded]), ctx.i64([1])])[0]
      : ctx.emit('Slice', [h, ctx.i64([0]), ctx.i64([t]), ctx.i64([1])])[0];
  return [h];
}

/** The runtime dims after axis 1 of x, as a 1-D int64 (empty for rank 2). */
const restDims = (ctx: LowerCtx, x: Tensor): string =>
  ctx.emit('Slice', [ctx.shapeOf(x), ctx.i64([2]), ctx.i64([Number.MAX_SAFE_INTEGER])])[0];

const linearScanPrim = primitive<ScanAttrs>({
  name: 'linearScan',
  infer: ([la, b], a) => {
    if (!isFloat(la.dtype) || la.dtype !== b.dtype)
      throw new Error(`linearScan: logA and b must share one float dtype, got ${la.dtype} and ${b.dtype}`);
    if (la.rank < 2 || !sameShape(la.shape, b.shape))
      throw new Error(
        `linearScan: logA ${formatShape(la.shape)} and b ${formatShape(b.shape)} must have one shape [B, T, ...]`,
      );
    const t = la.shape[1];
    if (typeof t !== 'number' && (a.method !== 'doubling' || a.maxLength <= 0))
      throw new Error(`linearScan: a symbolic length (${t}) needs method 'doubling' with maxLength`);
    if (a.method === 'chunked' && !(Number.isInteger(a.chunk) && a.chunk >= 1))
      throw new Error(`linearScan: chunk must be a positive integer, got ${a.chunk}`);
    return [{ dtype: b.dtype, shape: b.shape }];
  },
  lower: (ctx, n, ins) => {
    const a = n.attrs;
    const x = n.inputs[0];
    if (a.method === 'sequential') return lowerSequential(ctx, n, ins, a.reverse);
    if (a.method === 'chunked') return lowerChunked(ctx, n, ins, a);
    const t = x.shape[1];
    return [doubling(ctx, ins[0], ins[1], x.rank, 1, typeof t === 'number' ? t : a.maxLength, a.reverse, x.dtype)[0]];
  },
  vjp: (n, [g]) => {
    if (!g) return [null, null];
    const [la] = n.inputs;
    const h = n.outputs[0];
    const a = n.attrs;
    // the state flows t−1 → t (reverse: t+1 → t); its cotangent flows the other way, scaled by the decay that
    // multiplied it: gs_t = g_t + exp(logA_{t+1})·gs_{t+1} (reverse: logA_{t−1}, gs_{t−1})
    const next = a.reverse ? shiftAxis1(la, 1) : shiftAxis1(la, -1);
    const gs = linearScan(next, g, { ...a, reverse: !a.reverse });
    // ∂h_t/∂logA_t = exp(logA_t)·h_{t∓1}
    const prev = a.reverse ? shiftAxis1(h, -1) : shiftAxis1(h, 1);
    return [mul(gs, mul(exp(la), prev)), gs];
  },
});

/** x shifted along axis 1 by k steps (k > 0: towards later steps; k < 0: earlier), zero-filled. */
function shiftAxis1(x: Tensor, k: number): Tensor {
  const pads = new Array<number>(2 * x.rank).fill(0);
  if (k > 0) {
    pads[1] = k;
    return sliceAxis(pad(x, pads), 1, 0, -k);
  }
  pads[x.rank + 1] = -k;
  return sliceAxis(pad(x, pads), 1, -k);
}

/** Options of {@link linearScan}. */
export interface LinearScanOptions {
  /** Run from the last step to the first: h_t = exp(logA_t)·h_{t+1} + b_t (default false). */
  readonly reverse?: boolean;
  /** The lowering (default 'chunked' for a static T, 'doubling' for a symbolic one). */
  readonly method?: ScanMethod;
  /** Chunk length of 'chunked' (default 16). */
  readonly chunk?: number;
  /** Upper bound of a symbolic T (needed by 'doubling' when T is symbolic). */
  readonly maxLength?: number;
}

/**
 * First-order linear recurrence along axis 1: h_t = exp(logA_t) ⊙ h_{t−1} + b_t with h_{−1} = 0 (or from the end
 * with `reverse`), for logA and b of one shape [B, T, ...] → h [B, T, ...]. The selective scan of Mamba is this with
 * logA = Δ·A and b = Δ·B·u. Differentiable in both inputs (the VJP is a reverse linearScan).
 */
export function linearScan(logA: Tensor, b: Tensor, opts: LinearScanOptions = {}): Tensor {
  const staticT = typeof logA.shape[1] === 'number';
  const method = opts.method ?? (staticT ? 'chunked' : 'doubling');
  return linearScanPrim([logA, b], {
    reverse: opts.reverse ?? false,
    method,
    chunk: opts.chunk ?? 16,
    maxLength: opts.maxLength ?? 0,
  })[0];
}
