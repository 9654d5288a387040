// Linear algebra: matmul (batched, broadcast), gemm/linear, einsum.
import { isFloat, sameDType } from '../dtype.js';
import { primitive } from '../primitive.js';
import { broadcastShapes, formatShape, type Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast } from './elementwise.js';
import { autocastTarget } from '../autocast.js';
import { expandAs, reshape, squeeze, swapAxes, unsqueeze } from './movement.js';

type NoAttrs = Record<string, never>;

const matmulPrim = primitive<NoAttrs>({
  name: 'matmul',
  infer: ([a, b]) => {
    sameDType('matmul', a.dtype, b.dtype);
    if (a.rank < 2 || b.rank < 2) throw new Error('matmul: internal: operands must be at least 2-D');
    const k1 = a.shape[a.rank - 1];
    const k2 = b.shape[b.rank - 2];
    if (k1 !== k2 && typeof k1 === 'number' && typeof k2 === 'number') {
      throw new Error(`matmul: inner dimensions differ: x ${formatShape(a.shape)} vs w ${formatShape(b.shape)}`);
    }
    const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ dtype: a.dtype, shape: [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]] }];
  },
  lower: (ctx, _n, [a, b]) => ctx.emit('MatMul', [a, b]),
  vjp: (n, [g]) => {
    if (!g) return [null, null];
    const [a, b] = n.inputs;
    // An operand that is itself xᵀ (last two axes swapped) gets its gradient as (dx)ᵀ, computed directly:
    // da = g·bᵀ = (b·gᵀ)ᵀ and db = aᵀ·g = (gᵀ·a)ᵀ, so the transpose's VJP cancels and no Transpose kernel runs
    // (attention's kᵀ and Pᵀ); ORT fuses the remaining operand transposes into MatMul.
    const da = swapsLastTwo(a) ? swapAxes(matmul(b, swapAxes(g, -1, -2)), -1, -2) : matmul(g, swapAxes(b, -1, -2));
    const db = swapsLastTwo(b) ? swapAxes(matmul(swapAxes(g, -1, -2), a), -1, -2) : matmul(swapAxes(a, -1, -2), g);
    return [da, db];
  },
});

/** True when `t` is a Transpose that swaps only its last two axes. */
function swapsLastTwo(t: Tensor): boolean {
  if (t.node.prim.name !== 'transpose' || t.rank < 2) return false;
  const perm = (t.node.attrs as { perm: readonly number[] }).perm;
  const r = t.rank;
  return perm.every((p, i) => (i < r - 2 ? p === i : p === (i === r - 1 ? r - 2 : r - 1)));
}

/** numpy matmul: 1-D operands are promoted and the added axis removed; batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0)
    throw new Error(`matmul: scalars are not allowed (x ${formatShape(a.shape)}, w ${formatShape(b.shape)})`);
  const a2 = a.rank === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.rank === 1 ? unsqueeze(b, 1) : b;
  const low = autocastTarget(a.dtype);
  let y = low ? cast(matmulPrim([cast(a2, low), cast(b2, low)], {})[0], a.dtype) : matmulPrim([a2, b2], {})[0];
  if (b.rank === 1) y = squeeze(y, -1);
  if (a.rank === 1) y = squeeze(y, y.rank - (b.rank === 1 ? 1 : 2));
  return y;
}

type GemmAttrs = { transA: boolean; transB: boolean };
const gemmPrim = primitive<GemmAttrs>({
  name: 'gemm',
  infer: ([a, b, c], t) => {
    sameDType('gemm', a.dtype, b.dtype);
    if (a.rank !== 2 || b.rank !== 2)
      throw new Error(`gemm: operands must be 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    const [m, k1] = t.transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
    const [k2, nn] = t.transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
    if (k1 !== k2 && typeof k1 === 'number' && typeof k2 === 'number') {
      throw new Error(
        `gemm: inner dimensions differ: ${formatShape(a.shape)}${t.transA ? 'ᵀ' : ''} vs ${formatShape(b.shape)}${t.transB ? 'ᵀ' : ''}`,
      );
    }
    const shape: Dim[] = [m, nn];
    if (c) broadcastShapes('gemm', c.shape, shape);
    return [{ dtype: a.dtype, shape }];
  },
  lower: (ctx, n, ins) => ctx.emit('Gemm', ins, { transA: n.attrs.transA ? 1 : 0, transB: n.attrs.transB ? 1 : 0 }),
  vjp: (n, [g]) => {
    if (!g) return n.inputs.map(() => null);
    const [a, b, c] = n.inputs;
    const { transA, transB } = n.attrs;
    // y = op(a)·op(b): d op(a) = g·op(b)ᵀ, d op(b) = op(a)ᵀ·g
    const ga = transA ? gemm(b, g, { transA: transB, transB: true }) : gemm(g, b, { transB: !transB });
    const gb = transB ? gemm(g, a, { transA: true, transB: transA }) : gemm(a, g, { transA: !transA });
    return c ? [ga, gb, g] : [ga, gb];
  },
});
/** 2-D y = op(a)·op(b) (+ c), ONNX Gemm. */
export function gemm(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean; c?: Tensor } = {}): Tensor {
  const attrs = { transA: opts.transA ?? false, transB: opts.transB ?? false };
  const low = autocastTarget(a.dtype);
  if (low) {
    const y = cast(gemmPrim([cast(a, low), cast(b, low)], attrs)[0], a.dtype);
    return opts.c ? add(y, opts.c) : y;
  }
  return gemmPrim(opts.c ? [a, b, opts.c] : [a, b], attrs)[0];
}

/**
 * y = x·wᵀ + b with w laid out [out, in] (as torch.nn.Linear). A 2-D x lowers to one Gemm(transB=1);
 * higher ranks to MatMul over the leading axes.
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  if (w.rank !== 2) throw new Error(`linear: weight must be [out, in], got ${formatShape(w.shape)}`);
  const inF = x.shape[x.rank - 1];
  if (inF !== w.shape[1] && typeof inF === 'number' && typeof w.shape[1] === 'number') {
    throw new Error(
      `linear: inner dimensions differ: x ${formatShape(x.shape)} vs w ${formatShape(w.shape)} (w is [out, in])`,
    );
  }
  if (x.rank === 2) return gemm(x, w, { transB: true, c: b });
  const flat = reshape(x, [-1, w.shape[1]]);
  const y = gemm(flat, w, { transB: true, c: b });
  return reshape(y, [...x.shape.slice(0, -1), w.shape[0]]);
}

// ---- einsum ------------------------------------------------------------------------------------

interface EinsumSpec {
  readonly inputs: readonly string[];
  readonly output: string;
}
function parseEinsum(eq: string, n: number): EinsumSpec {
  const clean = eq.replace(/\s+/g, '');
  const [lhs, rhs] = clean.split('->');
  if (rhs === undefined) throw new Error(`einsum: equation "${eq}" needs an explicit "->" output`);
  const inputs = lhs.split(',');
  if (inputs.length !== n) throw new Error(`einsum: equation "${eq}" has ${inputs.length} operands, got ${n} tensors`);
  if (/[^a-zA-Z,]/.test(lhs + rhs))
    throw new Error(`einsum: equation "${eq}": only letters are supported (no ellipsis)`);
  return { inputs, output: rhs };
}

const einsumPrim = primitive<{ equation: string }>({
  name: 'einsum',
  infer: (xs, a) => {
    const spec = parseEinsum(a.equation, xs.length);
    const sizes = new Map<string, Dim>();
    xs.forEach((x, i) => {
      if (!isFloat(x.dtype)) throw new Error('einsum: needs floating-point tensors');
      const labels = spec.inputs[i];
      if (labels.length !== x.rank)
        throw new Error(
          `einsum: operand ${i} "${labels}" has ${labels.length} labels for shape ${formatShape(x.shape)}`,
        );
      [...labels].forEach((l, j) => {
        const d = x.shape[j];
        const prev = sizes.get(l);
        if (
          prev !== undefined &&
          prev !== d &&
          typeof prev === 'number' &&
          typeof d === 'number' &&
          prev !== 1 &&
          d !== 1
        ) {
          throw new Error(`einsum: label ${l} is ${prev} in one operand and ${d} in another ("${a.equation}")`);
        }
        if (prev === undefined || prev === 1) sizes.set(l, d);
      });
    });
    return [
      {
        dtype: xs[0].dtype,
        shape: [...spec.output].map((l) => {
          const d = sizes.get(l);
          if (d === undefined)
            throw new Error(`einsum: output label ${l} does not appear in the inputs ("${a.equation}")`);
          return d;
        }),
      },
    ];
  },
  lower: (ctx, n, xs) => ctx.emit('Einsum', xs, { equation: n.attrs.equation }),
  vjp: (n, [g]) => {
    if (!g) return n.inputs.map(() => null);
    const spec = parseEinsum(n.attrs.equation, n.inputs.length);
    return n.inputs.map((x, i) => {
      // d operand_i = einsum(g, other operands -> labels_i); labels summed inside operand i alone are broadcast back.
      const target = spec.inputs[i];
      const others = spec.inputs.filter((_, j) => j !== i);
      const available = new Set([...spec.output, ...others.join('')]);
      const kept = [...target].filter((l) => available.has(l));
      const keptLabels = [...new Set(kept)].join('');
      const eq = [spec.output, ...others].join(',') + '->' + keptLabels;
      let gi = einsum(eq, g, ...n.inputs.filter((_, j) => j !== i));
      if (keptLabels !== target) {
        // restore labels that were reduced away (and repeated labels are not supported for gradients)
        if (new Set(target).size !== target.length)
          throw new Error(`einsum: gradient of repeated label in "${target}" is not supported`);
        const shape = [...target].map((l) => (keptLabels.includes(l) ? gi.shape[keptLabels.indexOf(l)] : 1));
        const order = [...target].filter((l) => keptLabels.includes(l)).join('');
        if (order !== keptLabels) gi = einsum(`${keptLabels}->${order}`, gi);
        gi = expandAs(reshape(gi, shape), x);
      }
      return gi;
    });
  },
});
/** Einstein summation over explicit labels ("bij,bjk->bik"). */
export const einsum = (equation: string, ...xs: Tensor[]): Tensor => einsumPrim(xs, { equation })[0];

/** x·w + b for a weight laid out [in, out] (keeps Keras users at home). */
export const dense = (x: Tensor, w: Tensor, b?: Tensor): Tensor => (b ? add(matmul(x, w), b) : matmul(x, w));
