import type { DType } from '../dtype.js';
import { ndarray, type NDArray } from '../ndarray.js';
import { apply, type Primitive } from '../primitive.js';
import type { Shape } from '../shape.js';
import { Tensor } from '../tensor.js';

/** A graph input (a placeholder): the emitter names it; its value is fed at run time. */
export const inputPrim: Primitive<{ name: string; dtype: DType; shape: Shape }> = {
  name: 'input',
  infer: (_, a) => [{ dtype: a.dtype, shape: a.shape }],
  lower: () => {
    throw new Error('input nodes are bound by the emitter');
  },
  vjp: 'none',
};

/**
 * The primitive behind {@link constant}: a value baked into the graph, lowered to an ONNX initializer; no inputs, no
 * gradient.
 */
export const constantPrim: Primitive<{ value: NDArray; name?: string }> = {
  name: 'constant',
  infer: (_, a) => [{ dtype: a.value.dtype, shape: a.value.shape }],
  lower: (ctx, node) => [ctx.constant(node.attrs.value, node.attrs.name)],
  vjp: 'none',
};

/** A named symbolic input of the given dtype and shape (dims may be symbols such as "batch"). */
export function placeholder(name: string, dtype: DType, shape: Shape): Tensor {
  return apply(inputPrim, [], { name, dtype, shape })[0];
}

/** A constant tensor baked into the graph (an ONNX initializer; `name` names it, e.g. a parameter path). */
export function constant(value: NDArray, name?: string): Tensor {
  return apply(constantPrim, [], { value, name })[0];
}

/** A scalar constant of a dtype. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return constant(ndarray(dtype, [], [value]));
}

/**
 * What the binary ops accept as an operand: a Tensor, or a JS number lifted to a scalar of the other operand's dtype.
 */
export type TensorLike = Tensor | number;

/** Turns a JS number into a scalar constant with the dtype of `like`. */
export function lift(x: TensorLike, like: Tensor): Tensor {
  return x instanceof Tensor ? x : scalar(x, like.dtype);
}
