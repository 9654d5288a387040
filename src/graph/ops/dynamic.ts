// Data-dependent ONNX ops: an op whose output shape depends on the values of a tensor input (Reshape to a shape
// computed at run time, ConstantOfShape, Range, Slice with tensor starts, ...). The graph records it as the ONNX
// node itself, with output dims as fresh symbols that the emitter resolves from the produced value's runtime
// shape. Reshape and Trilu have gradients; the others throw when differentiated rather than return a wrong one.
import type { DType } from '../dtype.js';
import { primitive, type AttrValue, type PrimFn } from '../primitive.js';
import type { Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, mul, neg, reciprocal, rsqrt, sub } from './elementwise.js';
import { reshapeLike } from './movement.js';

/** How a data-dependent op is differentiated with respect to its first input. */
export type DynamicGrad = 'none' | 'reshape' | 'same-op' | 'unary';

interface DynamicAttrs {
  readonly opType: string;
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly outs: readonly { readonly dtype: DType; readonly shape: readonly Dim[] }[];
  readonly grad: DynamicGrad;
  /** Which ONNX input slots are present (an omitted optional input is emitted as ""); all when absent. */
  readonly slots?: readonly boolean[];
}

/** d op(x)/dx of the inverse trigonometric and hyperbolic ops ('unary' gradients). */
const UNARY_DERIVATIVE: Readonly<Record<string, (x: Tensor) => Tensor>> = {
  Asin: (x) => rsqrt(sub(1, mul(x, x))),
  Acos: (x) => neg(rsqrt(sub(1, mul(x, x)))),
  Atan: (x) => reciprocal(add(mul(x, x), 1)),
  Asinh: (x) => rsqrt(add(mul(x, x), 1)),
  Acosh: (x) => rsqrt(sub(mul(x, x), 1)),
  Atanh: (x) => reciprocal(sub(1, mul(x, x))),
};

const dynamicPrim: PrimFn<DynamicAttrs> = primitive<DynamicAttrs>({
  name: 'dynamicOnnx',
  infer: (_, a) => a.outs.map((o) => ({ dtype: o.dtype, shape: [...o.shape] })),
  lower: (ctx, n, ins) => {
    const slots = n.attrs.slots;
    let k = 0;
    const names = slots ? slots.map((present) => (present ? ins[k++] : '')) : ins;
    return ctx.emit(n.attrs.opType, names, n.attrs.attrs, n.attrs.outs.length);
  },
  vjp: (n, [g]): (Tensor | null)[] => {
    const a = n.attrs;
    const rest = n.inputs.slice(1).map(() => null);
    if (!g) return [null, ...rest];
    // Reshape: the gradient takes the input's shape back; Trilu (x, k) is linear in x and its own transpose
    if (a.grad === 'reshape') return [reshapeLike(g, n.inputs[0]), ...rest];
    if (a.grad === 'unary') return [mul(g, UNARY_DERIVATIVE[a.opType](n.inputs[0]))];
    if (a.grad === 'same-op')
      return [
        dynamicPrim([g, ...n.inputs.slice(1)], { ...a, outs: [{ dtype: g.dtype, shape: n.inputs[0].shape }] })[0],
        ...rest,
      ];
    throw new Error(`${a.opType} with a shape known only at run time is not differentiable in lathe`);
  },
});

/**
 * Emits the ONNX node `opType` over `inputs` with `attrs`; each output has the given dtype and (possibly fresh
 * symbolic) shape.
 */
export function dynamicOnnx(
  opType: string,
  inputs: readonly Tensor[],
  attrs: Readonly<Record<string, AttrValue>>,
  outs: readonly { readonly dtype: DType; readonly shape: readonly Dim[] }[],
  grad: DynamicGrad = 'none',
  slots?: readonly boolean[],
): Tensor[] {
  if (grad === 'unary' && !UNARY_DERIVATIVE[opType]) throw new Error(`dynamicOnnx: no unary derivative for ${opType}`);
  return dynamicPrim(inputs, slots ? { opType, attrs, outs, grad, slots } : { opType, attrs, outs, grad });
}

const runtimeDimsPrim = primitive<{ readonly dims: readonly Dim[]; readonly scalar: boolean }>({
  name: 'runtimeDims',
  infer: (_, a) => [{ dtype: 'int64', shape: a.scalar ? [] : [a.dims.length] }],
  lower: (ctx, n) => {
    const v = ctx.dims(n.attrs.dims);
    return n.attrs.scalar ? ctx.emit('Reshape', [v, ctx.i64([])]) : [v];
  },
  vjp: 'none',
});

/**
 * An int64 tensor holding `dims` (numbers and symbolic products like `2*batch`) as they are at run time: a vector, or
 * a scalar when `scalar` (then `dims` has one entry). `anchors` are the tensors whose shapes define the symbols; they
 * are inputs only so the values that define the symbols are emitted first. No gradient (a shape is piecewise
 * constant).
 */
export function runtimeDims(anchors: readonly Tensor[], dims: readonly Dim[], scalar: boolean): Tensor {
  if (scalar && dims.length !== 1) throw new Error(`runtimeDims: a scalar needs one dim, got ${dims.length}`);
  return runtimeDimsPrim(anchors, { dims: [...dims], scalar })[0];
}

interface ControlFlowAttrs {
  readonly opType: string;
  /** The imported node's name, for the message when it is differentiated. */
  readonly node: string;
  /** How many of the primitive's inputs are the node's own inputs; the rest are values its bodies capture. */
  readonly own: number;
  /** Which ONNX input slots are present among the node's own inputs (an omitted one is emitted as ""). */
  readonly slots: readonly boolean[];
  /** The node's attributes, its bodies referring to the captured values by the names they are emitted under. */
  readonly attrs: (captured: readonly string[]) => Readonly<Record<string, AttrValue>>;
  readonly outs: readonly { readonly dtype: DType; readonly shape: readonly Dim[] }[];
}

const controlFlowPrim: PrimFn<ControlFlowAttrs> = primitive<ControlFlowAttrs>({
  name: 'controlFlowOnnx',
  infer: (_, a) => a.outs.map((o) => ({ dtype: o.dtype, shape: [...o.shape] })),
  lower: (ctx, n, ins) => {
    let k = 0;
    const own = n.attrs.slots.map((present) => (present ? ins[k++] : ''));
    return ctx.emit(n.attrs.opType, own, n.attrs.attrs(ins.slice(n.attrs.own)), n.attrs.outs.length);
  },
  vjp: (n, gs): (Tensor | null)[] => {
    if (gs.every((g) => !g)) return n.inputs.map(() => null);
    throw new Error(
      `${n.attrs.opType} node ${n.attrs.node}: its body runs inside ORT, which lathe does not differentiate through (an If with a condition known at import time is inlined and differentiates)`,
    );
  },
});

/**
 * Emits an ONNX control-flow node (If, Loop, Scan) whose bodies read outer values: `own` are the node's inputs (an
 * undefined entry is an omitted optional input), `captured` the outer tensors its bodies read, and `attrs` builds
 * its attributes given the names those captured values are emitted under. Forward only: differentiating it throws,
 * naming the op and `node`.
 */
export function controlFlowOnnx(
  opType: string,
  node: string,
  own: readonly (Tensor | undefined)[],
  captured: readonly Tensor[],
  attrs: (captured: readonly string[]) => Readonly<Record<string, AttrValue>>,
  outs: readonly { readonly dtype: DType; readonly shape: readonly Dim[] }[],
): Tensor[] {
  const present = own.filter((t): t is Tensor => t !== undefined);
  return controlFlowPrim([...present, ...captured], {
    opType,
    node,
    own: present.length,
    slots: own.map((t) => t !== undefined),
    attrs,
    outs,
  });
}
