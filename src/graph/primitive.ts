import type { DType } from './dtype.js';
import type { NDArray } from './ndarray.js';
import type { Shape } from './shape.js';
import { Node, Tensor } from './tensor.js';

/** dtype and shape of one output, computed at trace time. */
interface OutSpec {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** ONNX attribute values: plain numbers and number arrays are INT/INTS; floats are tagged. */
export type AttrValue =
  | number
  | readonly number[]
  | string
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly tensor: NDArray }
  /** An ONNX GraphProto (a control-flow op's body), opaque to the graph layer and written by the emitter. */
  | { readonly onnxGraph: object };

/** What a primitive's lowering can do while the graph is emitted as ONNX. */
export interface LowerCtx {
  /** The ONNX opset being emitted (17–21): lowerings choose the op forms that opset has. */
  readonly opset: number;
  /** Appends one ONNX node and returns the names of its outputs. */
  emit(
    opType: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, AttrValue>>,
    outputs?: number,
  ): string[];
  /** A constant (initializer); equal small unnamed constants share one name. */
  constant(value: NDArray, name?: string): string;
  /** A 1-D int64 constant. */
  i64(values: readonly number[]): string;
  /** A scalar constant of a dtype. */
  scalar(value: number, dtype: DType): string;
  /** The runtime shape of a tensor (one Shape node per tensor). */
  shapeOf(t: Tensor): string;
  /**
   * A 1-D int64 tensor holding `shape`, resolving symbolic dims from the graph inputs' runtime shapes.
   * With `allowInfer`, a single unknown dim is written -1 (for Reshape).
   */
  dims(shape: Shape, allowInfer?: boolean): string;
}

/** Gradient rule: cotangents of the node's outputs (null where none flows) → one entry per input (null: no gradient). */
export type VjpRule<A extends object> = (
  node: Node<A>,
  cotangents: readonly (Tensor | null)[],
) => readonly (Tensor | null)[];

/**
 * A primitive operation: the shape/dtype rule, the ONNX lowering and the VJP, side by side.
 * `vjp: 'none'` marks a primitive with no gradient (comparisons, argmax, integer ops).
 */
export interface Primitive<A extends object = object> {
  readonly name: string;
  /**
   * The shape/dtype rule: checks the inputs and attributes (throwing a clear error on bad ones) and returns one spec
   * per output.
   */
  infer(inputs: readonly Tensor[], attrs: A): readonly OutSpec[];
  /** Emits the ONNX nodes for `node` given its inputs' value names and returns its outputs' value names. */
  lower(ctx: LowerCtx, node: Node<A>, inputs: readonly string[]): readonly string[];
  readonly vjp: VjpRule<A> | 'none';
}

const registry = new Map<string, Primitive<never>>();

/** The recording function a primitive definition returns. */
export type PrimFn<A extends object> = (inputs: readonly Tensor[], attrs: A) => Tensor[];

/**
 * Registers a primitive definition under its name and returns the function that records it on tensors; throws if a
 * primitive of that name already exists.
 */
export function primitive<A extends object>(def: Primitive<A>): PrimFn<A> {
  if (registry.has(def.name)) throw new Error(`primitive ${def.name} is defined twice`);
  registry.set(def.name, def as unknown as Primitive<never>);
  return (inputs, attrs) => apply(def, inputs, attrs);
}

export function apply<A extends object>(prim: Primitive<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
  for (const [i, x] of inputs.entries()) {
    if (!(x instanceof Tensor)) throw new Error(`${prim.name}: input ${i} is not a Tensor (got ${typeof x})`);
  }
  const specs = prim.infer(inputs, attrs);
  const node = new Node(prim, inputs, attrs);
  node.outputs = specs.map((s, i) => new Tensor(node as unknown as Node, i, s.dtype, s.shape));
  return node.outputs as Tensor[];
}

/** The names of every registered primitive, sorted. */
export const primitiveNames = (): string[] => [...registry.keys()].sort();
