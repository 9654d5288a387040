// Movement primitives: reshape, transpose, expand, squeeze/unsqueeze, concat, split, slice, pad, tile.
import { primitive, type LowerCtx } from '../primitive.js';
import { broadcastShapes, divDims, formatShape, mulDims, normAxes, normAxis, numel, type Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { constant, scalar } from './leaf.js';
import { ndarray } from '../ndarray.js';
import { matmul } from './linalg.js';
import { sum as reduceSumAxes } from './reduce.js';

type NoAttrs = Record<string, never>;
const none: NoAttrs = {};

// ---- reshape -----------------------------------------------------------------------------------

function reshapeTarget(x: Tensor, shape: readonly Dim[]): Dim[] {
  const infer = shape.filter((d) => d === -1).length;
  if (infer > 1) throw new Error(`reshape: more than one -1 in ${formatShape(shape)}`);
  const known = shape.filter((d) => d !== -1).reduce<Dim>((a, d) => mulDims(a, d), 1);
  const total = numel(x.shape);
  if (infer === 0) {
    if (typeof known === 'number' && typeof total === 'number' && known !== total) {
      throw new Error(
        `reshape: cannot reshape ${formatShape(x.shape)} (${total} elements) to ${formatShape(shape)} (${known} elements)`,
      );
    }
    return [...shape];
  }
  const rest = divDims(total, known);
  if (rest === undefined) {
    if (typeof known === 'number' && typeof total === 'number') {
      throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} (${total} elements) to ${formatShape(shape)}`);
    }
    throw new Error(`reshape: cannot infer -1 in ${formatShape(shape)} from ${formatShape(x.shape)}; name the dims`);
  }
  return shape.map((d) => (d === -1 ? rest : d));
}

const reshapePrim = primitive<{ shape: readonly Dim[] }>({
  name: 'reshape',
  infer: ([x], a) => [{ dtype: x.dtype, shape: reshapeTarget(x, a.shape) }],
  lower: (ctx, n, [x]) => ctx.emit('Reshape', [x, ctx.dims(n.outputs[0].shape, true)]),
  vjp: (n, [g]) => [g && reshapeLike(g, n.inputs[0])],
});
/** Reshape; one dim may be -1; symbolic dims ("batch") are resolved at run time. A reshape to x's own static shape is x. */
export function reshape(x: Tensor, shape: readonly Dim[]): Tensor {
  const target = reshapeTarget(x, shape);
  if (target.length === x.rank && target.every((d, i) => typeof d === 'number' && d === x.shape[i])) return x;
  return reshapePrim([x], { shape })[0];
}

/** A constant for `like`'s shape when every dim is static (no Shape node at run time), else undefined. */
const staticShape = (ctx: LowerCtx, like: Tensor): string | undefined =>
  like.shape.every((d) => typeof d === 'number') ? ctx.i64(like.shape as number[]) : undefined;

const reshapeLikePrim = primitive<NoAttrs>({
  name: 'reshapeLike',
  infer: ([x, like]) => [{ dtype: x.dtype, shape: like.shape }],
  lower: (ctx, n, [x]) => ctx.emit('Reshape', [x, staticShape(ctx, n.inputs[1]) ?? ctx.shapeOf(n.inputs[1])]),
  vjp: (n, [g]) => [g && reshapeLike(g, n.inputs[0]), null],
});
/** Reshape `x` to the (runtime) shape of `like`. */
export const reshapeLike = (x: Tensor, like: Tensor): Tensor => reshapeLikePrim([x, like], none)[0];

/**
 * Merges dims `startDim..endDim` (inclusive, negative counts from the end; defaults 0 and −1) into one, via reshape
 * (ONNX Reshape); throws on an out-of-range axis.
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const s = normAxis('flatten', startDim, x.rank);
  const e = normAxis('flatten', endDim, x.rank);
  const merged = x.shape.slice(s, e + 1).reduce<Dim>((a, d) => mulDims(a, d), 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

// ---- transpose ---------------------------------------------------------------------------------

const transposePrim = primitive<{ perm: readonly number[] }>({
  name: 'transpose',
  infer: ([x], a) => {
    const sorted = [...a.perm].sort((p, q) => p - q);
    if (a.perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
      throw new Error(
        `transpose: ${JSON.stringify(a.perm)} is not a permutation of the ${x.rank} axes of ${formatShape(x.shape)}`,
      );
    }
    return [{ dtype: x.dtype, shape: a.perm.map((p) => x.shape[p]) }];
  },
  lower: (ctx, n, [x]) => ctx.emit('Transpose', [x], { perm: n.attrs.perm }),
  vjp: (n, [g]) => {
    const inv = new Array<number>(n.attrs.perm.length);
    n.attrs.perm.forEach((p, i) => (inv[p] = i));
    return [g && transpose(g, inv)];
  },
});
/** Permutes axes (negative axes allowed); with no perm, reverses them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  let p = perm ? perm.map((a) => normAxis('transpose', a, x.rank)) : x.shape.map((_, i) => x.rank - 1 - i);
  // a transpose of a transpose is one transpose (or none): VJPs then emit no Transpose pairs for ORT to undo
  let src = x;
  if (x.node.prim.name === 'transpose') {
    const inner = (x.node.attrs as { perm: readonly number[] }).perm;
    src = x.node.inputs[0];
    p = p.map((a) => inner[a]);
  }
  if (p.every((a, i) => a === i)) return src;
  return transposePrim([src], { perm: p })[0];
}
/**
 * Alias of `transpose` (PyTorch's name): permutes axes by `perm` (ONNX Transpose), reversing them when `perm` is
 * omitted.
 */
export const permute = transpose;
/** Swaps two axes. */
export function swapAxes(x: Tensor, a: number, b: number): Tensor {
  const p = x.shape.map((_, i) => i);
  const i = normAxis('swapAxes', a, x.rank);
  const j = normAxis('swapAxes', b, x.rank);
  [p[i], p[j]] = [p[j], p[i]];
  return transpose(x, p);
}

// ---- expand ------------------------------------------------------------------------------------

const expandPrim = primitive<{ shape: readonly Dim[] }>({
  name: 'expand',
  infer: ([x], a) => {
    const out = broadcastShapes('expand', x.shape, a.shape);
    if (out.length !== a.shape.length)
      throw new Error(`expand: cannot expand ${formatShape(x.shape)} to fewer dims ${formatShape(a.shape)}`);
    return [{ dtype: x.dtype, shape: out }];
  },
  lower: (ctx, n, [x]) => ctx.emit('Expand', [x, ctx.dims(n.outputs[0].shape)]),
  vjp: (_n, [g]) => [g],
});
/** Broadcasts x to `shape` (numpy rules). The engine sums the gradient back. */
export const expand = (x: Tensor, shape: readonly Dim[]): Tensor => expandPrim([x], { shape })[0];

const expandAsPrim = primitive<NoAttrs>({
  name: 'expandAs',
  infer: ([x, like]) => [{ dtype: x.dtype, shape: broadcastShapes('expandAs', x.shape, like.shape) }],
  lower: (ctx, n, [x]) => ctx.emit('Expand', [x, staticShape(ctx, n.inputs[1]) ?? ctx.shapeOf(n.inputs[1])]),
  vjp: (_n, [g]) => [g, null],
});
/** Broadcasts x to the runtime shape of `like`. */
export const expandAs = (x: Tensor, like: Tensor): Tensor => expandAsPrim([x, like], none)[0];

/** Zeros / ones with the dtype and runtime shape of `like`. */
export const zerosLike = (like: Tensor): Tensor => expandAs(scalar(0, like.dtype), like);
/** A tensor of ones with the dtype and (runtime) shape of `like`: a scalar 1 expanded (ONNX Expand). */
export const onesLike = (like: Tensor): Tensor => expandAs(scalar(1, like.dtype), like);
/** A constant filled with `value` of a static shape. */
export function full(shape: readonly number[], value: number, dtype: Tensor['dtype'] = 'float32'): Tensor {
  return expand(scalar(value, dtype), shape);
}

// ---- squeeze / unsqueeze -----------------------------------------------------------------------

const squeezePrim = primitive<{ axes: readonly number[] }>({
  name: 'squeeze',
  infer: ([x], a) => {
    for (const ax of a.axes) {
      if (x.shape[ax] !== 1)
        throw new Error(`squeeze: axis ${ax} of ${formatShape(x.shape)} has size ${x.shape[ax]}, not 1`);
    }
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !a.axes.includes(i)) }];
  },
  lower: (ctx, n, [x]) => ctx.emit('Squeeze', [x, ctx.i64(n.attrs.axes)]),
  vjp: (n, [g]) => [g && unsqueeze(g, n.attrs.axes)],
});
/** Removes size-1 axes (all of them when `axes` is omitted). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const ax = axes === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normAxes('squeeze', axes, x.rank);
  return ax.length === 0 ? x : squeezePrim([x], { axes: ax })[0];
}

const unsqueezePrim = primitive<{ axes: readonly number[] }>({
  name: 'unsqueeze',
  infer: ([x], a) => {
    const out: Dim[] = [...x.shape];
    for (const ax of a.axes) out.splice(ax, 0, 1);
    return [{ dtype: x.dtype, shape: out }];
  },
  lower: (ctx, n, [x]) => ctx.emit('Unsqueeze', [x, ctx.i64(n.attrs.axes)]),
  vjp: (n, [g]) => [g && squeeze(g, n.attrs.axes)],
});
/** Inserts size-1 axes at positions of the OUTPUT (negative counts from the end of the output). */
export function unsqueeze(x: Tensor, axes: number | readonly number[]): Tensor {
  const list = typeof axes === 'number' ? [axes] : axes;
  const ax = normAxes('unsqueeze', list, x.rank + list.length);
  return unsqueezePrim([x], { axes: ax })[0];
}

// ---- concat / split / stack --------------------------------------------------------------------

const concatPrim = primitive<{ axis: number }>({
  name: 'concat',
  infer: (xs, a) => {
    const [first] = xs;
    let total: Dim = 0;
    for (const [i, x] of xs.entries()) {
      if (x.dtype !== first.dtype)
        throw new Error(`concat: input ${i} has dtype ${x.dtype}, input 0 has ${first.dtype}`);
      if (
        x.rank !== first.rank ||
        x.shape.some(
          (d, j) => j !== a.axis && d !== first.shape[j] && typeof d === 'number' && typeof first.shape[j] === 'number',
        )
      ) {
        throw new Error(
          `concat: input ${i} ${formatShape(x.shape)} does not match input 0 ${formatShape(first.shape)} outside axis ${a.axis}`,
        );
      }
      total =
        typeof total === 'number' && typeof x.shape[a.axis] === 'number'
          ? total + (x.shape[a.axis] as number)
          : `${total}+${x.shape[a.axis]}`;
    }
    const shape = [...first.shape];
    shape[a.axis] = total;
    return [{ dtype: first.dtype, shape }];
  },
  lower: (ctx, n, xs) => ctx.emit('Concat', xs, { axis: n.attrs.axis }),
  vjp: (n, [g]) => (g ? splitLike(g, n.inputs, n.attrs.axis) : n.inputs.map(() => null)),
});
/**
 * Joins tensors along an existing `axis` (default 0; ONNX Concat); all must share dtype, rank and the other dims;
 * throws on an empty list or a mismatch (one tensor is returned as is).
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  if (xs.length === 1) return xs[0];
  return concatPrim(xs, { axis: normAxis('concat', axis, xs[0].rank) })[0];
}
/**
 * Joins same-shaped tensors along a new `axis` (default 0): each is unsqueezed, then concatenated (ONNX Unsqueeze +
 * Concat); throws on an empty list.
 */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('stack: needs at least one tensor');
  const ax = normAxis('stack', axis, xs[0].rank + 1);
  return concat(
    xs.map((x) => unsqueeze(x, ax)),
    ax,
  );
}

const splitLikePrim = primitive<{ axis: number }>({
  name: 'splitLike',
  infer: ([g, ...likes], a) =>
    likes.map((l) => {
      const shape = [...g.shape];
      shape[a.axis] = l.shape[a.axis];
      return { dtype: g.dtype, shape };
    }),
  lower: (ctx, n, [g]) => {
    const sizes = n.inputs.slice(1).map((l) => l.shape[n.attrs.axis]);
    const split = sizes.every((s) => typeof s === 'number')
      ? ctx.i64(sizes as number[])
      : ctx.emit(
          'Concat',
          n.inputs
            .slice(1)
            .map((l) => ctx.emit('Slice', [ctx.shapeOf(l), ctx.i64([n.attrs.axis]), ctx.i64([n.attrs.axis + 1])])[0]),
          { axis: 0 },
        )[0];
    return ctx.emit('Split', [g, split], { axis: n.attrs.axis }, sizes.length);
  },
  vjp: (n, cts) => [
    concat(
      cts.map((c, i) => c ?? zerosLike(n.outputs[i])),
      n.attrs.axis,
    ),
    ...n.inputs.slice(1).map(() => null),
  ],
});
/** Splits g along `axis` into pieces as long as each of `likes` is along that axis. */
export const splitLike = (g: Tensor, likes: readonly Tensor[], axis: number): Tensor[] =>
  splitLikePrim([g, ...likes], { axis });

const splitPrim = primitive<{ sizes: readonly number[]; axis: number }>({
  name: 'split',
  infer: ([x], a) => {
    const d = x.shape[a.axis];
    const sum = a.sizes.reduce((p, q) => p + q, 0);
    if (typeof d === 'number' && sum !== d)
      throw new Error(
        `split: sizes ${JSON.stringify(a.sizes)} sum to ${sum}, but axis ${a.axis} of ${formatShape(x.shape)} is ${d}`,
      );
    return a.sizes.map((s) => {
      const shape = [...x.shape];
      shape[a.axis] = s;
      return { dtype: x.dtype, shape };
    });
  },
  lower: (ctx, n, [x]) => ctx.emit('Split', [x, ctx.i64(n.attrs.sizes)], { axis: n.attrs.axis }, n.attrs.sizes.length),
  vjp: (n, cts) => [
    concat(
      cts.map((c, i) => c ?? zerosLike(n.outputs[i])),
      n.attrs.axis,
    ),
  ],
});
/** Splits along `axis` into pieces of the given sizes, or into `sizes` equal pieces when it is a number. */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const ax = normAxis('split', axis, x.rank);
  let list: number[];
  if (typeof sizes === 'number') {
    const d = x.shape[ax];
    if (typeof d !== 'number' || d % sizes !== 0)
      throw new Error(`split: axis ${ax} of ${formatShape(x.shape)} does not split into ${sizes} equal parts`);
    list = new Array<number>(sizes).fill(d / sizes);
  } else list = [...sizes];
  return splitPrim([x], { sizes: list, axis: ax });
}
/**
 * Splits x into `n` equal pieces along `axis` (default 0; ONNX Split); throws if that axis is symbolic or not divisible
 * by `n`.
 */
export const chunk = (x: Tensor, n: number, axis = 0): Tensor[] => split(x, n, axis);

// ---- slice -------------------------------------------------------------------------------------

/**
 * Arguments of {@link slice} (ONNX Slice semantics): per listed axis a start, an exclusive end (clamped; negative
 * counts from the end) and a step (default 1); `axes` defaults to 0..starts.length−1.
 */
export interface SliceSpec {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly axes?: readonly number[];
  readonly steps?: readonly number[];
}
const INT64_MAX = Number.MAX_SAFE_INTEGER;

/** Output length of one sliced axis (ONNX/numpy semantics, clamped). */
function slicedLength(d: Dim, start: number, end: number, step: number): Dim {
  if (typeof d !== 'number') {
    // symbolic axis: only the full range keeps the symbol
    if (step === 1 && start === 0 && end >= INT64_MAX) return d;
    if (start >= 0 && end >= 0 && end < INT64_MAX && step > 0) return Math.ceil(Math.max(0, end - start) / step);
    throw new Error(
      `slice: cannot slice symbolic axis ${d} with start ${start} end ${end} step ${step}; use static indices`,
    );
  }
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + d : start;
  let e = end < 0 ? end + d : end;
  if (step > 0) {
    s = clamp(s, 0, d);
    e = clamp(e, 0, d);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, -1, d - 1);
  e = clamp(e, -1, d - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

type SliceAttrs = {
  starts: readonly number[];
  ends: readonly number[];
  axes: readonly number[];
  steps: readonly number[];
};
const slicePrim = primitive<SliceAttrs>({
  name: 'slice',
  infer: ([x], a) => {
    const shape = [...x.shape];
    a.axes.forEach((ax, i) => {
      if (a.steps[i] === 0) throw new Error('slice: step 0');
      shape[ax] = slicedLength(x.shape[ax], a.starts[i], a.ends[i], a.steps[i]);
    });
    return [{ dtype: x.dtype, shape }];
  },
  lower: (ctx, n, [x]) =>
    ctx.emit('Slice', [
      x,
      ctx.i64(n.attrs.starts),
      ctx.i64(n.attrs.ends),
      ctx.i64(n.attrs.axes),
      ctx.i64(n.attrs.steps),
    ]),
  vjp: (n, [g]) => [g && sliceGrad(g, n.inputs[0], n.attrs)],
});
/** ONNX/numpy slicing: negative starts/ends count from the end, negative steps walk backwards. */
export function slice(x: Tensor, spec: SliceSpec): Tensor {
  const axes = (spec.axes ?? spec.starts.map((_, i) => i)).map((a) => normAxis('slice', a, x.rank));
  const steps = spec.steps ?? axes.map(() => 1);
  if (spec.starts.length !== axes.length || spec.ends.length !== axes.length || steps.length !== axes.length) {
    throw new Error('slice: starts, ends, axes and steps must have the same length');
  }
  const ends = spec.ends.map((e) => Math.min(e, INT64_MAX));
  // a slice that keeps every element is x itself (no Slice forward, no scatter backward)
  const whole = axes.every((ax, i) => {
    const d = x.shape[ax];
    return (
      steps[i] === 1 &&
      (spec.starts[i] === 0 || (typeof d === 'number' && spec.starts[i] <= -d)) &&
      (ends[i] >= INT64_MAX || (typeof d === 'number' && ends[i] >= d))
    );
  });
  if (whole) return x;
  return slicePrim([x], { starts: spec.starts, ends, axes, steps })[0];
}
/** x[start:end:step] along one axis. */
export const sliceAxis = (x: Tensor, axis: number, start: number, end: number = INT64_MAX, step = 1): Tensor =>
  slice(x, { starts: [start], ends: [end], axes: [axis], steps: [step] });

/** Transpose of slice: scatters g into zeros shaped like x at the sliced positions (linear in g). */
const sliceGradPrim = primitive<SliceAttrs>({
  name: 'sliceGrad',
  infer: ([, x]) => [{ dtype: x.dtype, shape: x.shape }],
  lower: (ctx, n, [g, x]) => {
    const shape = ctx.shapeOf(n.inputs[1]);
    const size = ctx.emit('Size', [x])[0];
    const positions = ctx.emit('Reshape', [
      ctx.emit('Range', [ctx.scalar(0, 'int64'), size, ctx.scalar(1, 'int64')])[0],
      shape,
    ])[0];
    const a = n.attrs;
    const picked = ctx.emit('Slice', [
      positions,
      ctx.i64(a.starts),
      ctx.i64(a.ends),
      ctx.i64(a.axes),
      ctx.i64(a.steps),
    ])[0];
    const flatIdx = ctx.emit('Reshape', [picked, ctx.i64([-1])])[0];
    const flatG = ctx.emit('Reshape', [g, ctx.i64([-1])])[0];
    const zeros = ctx.emit('ConstantOfShape', [ctx.emit('Unsqueeze', [size, ctx.i64([0])])[0]], {
      value: { tensor: ndarray(n.inputs[1].dtype, [1], [0]) },
    })[0];
    const scattered = ctx.emit('ScatterElements', [zeros, flatIdx, flatG], { axis: 0 })[0];
    return ctx.emit('Reshape', [scattered, shape]);
  },
  vjp: (n, [g]) => [g && slicePrim([g], n.attrs)[0], null],
});
const sliceGrad = (g: Tensor, x: Tensor, a: SliceAttrs): Tensor => sliceGradPrim([g, x], a)[0];

// ---- pad ---------------------------------------------------------------------------------------

/**
 * How {@link pad} fills: a constant value, a mirror of the interior without the edge ('reflect'), or copies of the edge
 * element ('edge'), as ONNX Pad's modes.
 */
export type PadMode = 'constant' | 'reflect' | 'edge';
const padPrim = primitive<{ pads: readonly number[]; mode: PadMode; value: number }>({
  name: 'pad',
  infer: ([x], a) => {
    if (a.pads.length !== 2 * x.rank)
      throw new Error(
        `pad: pads must list ${2 * x.rank} values (befores then afters) for ${formatShape(x.shape)}, got ${a.pads.length}`,
      );
    const shape = x.shape.map((d, i) => {
      const extra = a.pads[i] + a.pads[i + x.rank];
      if (extra === 0) return d;
      if (typeof d !== 'number') throw new Error(`pad: cannot pad symbolic axis ${i} (${d})`);
      if (a.mode === 'reflect' && (a.pads[i] >= d || a.pads[i + x.rank] >= d))
        throw new Error(
          `pad: reflect padding ${a.pads[i]}/${a.pads[i + x.rank]} must be smaller than axis ${i} (${d})`,
        );
      return d + extra;
    });
    return [{ dtype: x.dtype, shape }];
  },
  lower: (ctx, n, [x]) =>
    ctx.emit('Pad', [x, ctx.i64(n.attrs.pads), ctx.scalar(n.attrs.value, n.inputs[0].dtype)], { mode: n.attrs.mode }),
  vjp: (n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    const { pads, mode } = n.attrs;
    if (mode === 'constant') {
      const axes = x.shape.map((_, i) => i).filter((i) => pads[i] !== 0 || pads[i + x.rank] !== 0);
      return [
        slice(g, {
          axes,
          starts: axes.map((i) => pads[i]),
          ends: axes.map((i) => (pads[i + x.rank] > 0 ? -pads[i + x.rank] : INT64_MAX)),
        }),
      ];
    }
    // reflect/edge: along each padded axis the pad is a gather with a constant index table; its transpose is a
    // MatMul with the matching 0/1 matrix (dense, deterministic, cheap for image-sized axes).
    let acc = g;
    for (let i = 0; i < x.rank; i++) {
      const b = pads[i],
        e = pads[i + x.rank];
      if (b === 0 && e === 0) continue;
      const len = x.shape[i] as number;
      const out = len + b + e;
      const m = new Float64Array(out * len);
      for (let j = 0; j < out; j++) {
        let src = j - b;
        if (mode === 'reflect') {
          while (src < 0 || src >= len) src = src < 0 ? -src : 2 * (len - 1) - src;
        } else src = Math.min(Math.max(src, 0), len - 1);
        m[j * len + src] += 1;
      }
      const mat = constant(ndarray(x.dtype, [out, len], Array.from(m)));
      const moved = swapAxes(acc, i, -1); // [..., out]
      acc = swapAxes(matmulLast(moved, mat), i, -1);
    }
    return [acc];
  },
});
const matmulLast = (a: Tensor, m: Tensor): Tensor => matmul(a, m);

/** Pads with ONNX order [b_0..b_{n-1}, e_0..e_{n-1}]; `padLast` takes PyTorch order for trailing axes. */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  return padPrim([x], { pads, mode, value })[0];
}

// ---- tile --------------------------------------------------------------------------------------

const tilePrim = primitive<{ repeats: readonly number[] }>({
  name: 'tile',
  infer: ([x], a) => {
    if (a.repeats.length !== x.rank)
      throw new Error(`tile: repeats has ${a.repeats.length} entries for rank ${x.rank}`);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => mulDims(d, a.repeats[i])) }];
  },
  lower: (ctx, n, [x]) => ctx.emit('Tile', [x, ctx.i64(n.attrs.repeats)]),
  vjp: (n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    const inter = x.shape.flatMap((d, i) => [n.attrs.repeats[i], d]);
    const r = reshape(g, inter);
    return [
      reshapeLike(
        reduceSumAxes(
          r,
          x.shape.map((_, i) => 2 * i),
        ),
        x,
      ),
    ];
  },
});
/**
 * Repeats x `repeats[i]` times along each axis i (ONNX Tile); each dim d becomes d·repeats[i]; throws unless `repeats`
 * has one entry per axis.
 */
export const tile = (x: Tensor, repeats: readonly number[]): Tensor => tilePrim([x], { repeats })[0];
