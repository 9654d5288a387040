import type { DType } from './dtype.js';
import { formatShape, type Shape } from './shape.js';
import type { Primitive } from './primitive.js';

let nextId = 0;

/**
 * One recorded operation: a primitive applied to input tensors with attributes. Immutable once built;
 * analyses (autodiff, emission) are free functions over nodes.
 */
export class Node<A extends object = object> {
  readonly id = nextId++;
  outputs: readonly Tensor[] = [];
  constructor(
    readonly prim: Primitive<A>,
    readonly inputs: readonly Tensor[],
    readonly attrs: A,
  ) {}
}

/**
 * A symbolic tensor: a handle on one output of a recorded node, with its dtype and shape known at trace time.
 * Operations on tensors record new nodes; nothing is computed until the graph runs in ONNX Runtime.
 */
export class Tensor {
  constructor(
    readonly node: Node,
    readonly index: number,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** A short description for messages and debugging, e.g. `Tensor<float32[batch,10]>(matmul#42)`. */
  toString(): string {
    return `Tensor<${this.dtype}${formatShape(this.shape)}>(${this.node.prim.name}#${this.node.id})`;
  }
}

/** Type guard: true when `x` is a (symbolic) {@link Tensor}. */
export const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;
