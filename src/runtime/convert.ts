import * as ort from 'onnxruntime-node';
import type { DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';

const ORT_TYPES: ReadonlySet<string> = new Set([
  'float32',
  'float64',
  'int32',
  'int64',
  'bool',
  'uint8',
  'int8',
  'float16',
  'uint32',
  'uint64',
]);

/** Wraps an NDArray as an ORT tensor without copying. */
export function toOrt(a: NDArray): ort.Tensor {
  if (!ORT_TYPES.has(a.dtype)) throw new Error(`runtime: dtype ${a.dtype} cannot be a graph input in onnxruntime-node`);
  return new ort.Tensor(a.dtype as 'float32', a.data as Float32Array, a.shape);
}

/** Views an ORT tensor as an NDArray (no copy). */
export function fromOrt(t: ort.Tensor): NDArray {
  return { dtype: t.type as DType, shape: [...t.dims], data: t.data as NDArray['data'] };
}
