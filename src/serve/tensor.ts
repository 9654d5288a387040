import type { OipDatatype, TypedArray } from './datatypes.js';

/** A dense row-major tensor as the server moves it between HTTP, batcher and workers. */
export interface HostTensor {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** One input or output of a model signature; `-1` marks a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: OipDatatype;
  readonly shape: readonly number[];
}

/** Inputs and outputs of a model, read from its ONNX graph. */
export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** True when every input and output has a dynamic leading (batch) dimension, so requests can be stacked. */
  readonly batchable: boolean;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
