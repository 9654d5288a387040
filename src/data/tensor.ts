// The values the data layer hands to the Trainer: plain typed arrays with a shape, nothing engine-specific.
// `ArrayTensor` is the graph layer's NDArray (the same shape the Trainer feeds into ORT tensors).
import type { DType, TypedArrayOf } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';

/** A host array: `{ dtype, shape, data }` (e.g. `{ dtype: 'float32', shape: [64, 1, 28, 28], data: Float32Array }`). */
export type ArrayTensor<D extends DType = DType> = NDArray<D>;

/** A batch: named arrays whose first dimension is the batch, e.g. `{ x: float32 [64,1,28,28], y: int64 [64] }`. */
export type Batch = Readonly<Record<string, ArrayTensor>>;

/** A sample: named arrays (without the batch dimension) and plain numbers such as a class label. */
export type Sample = Readonly<Record<string, ArrayTensor | number>>;

/** Builds an ArrayTensor, checking that `data` fills `shape`. */
export function arrayTensor<D extends DType>(dtype: D, shape: readonly number[], data: TypedArrayOf<D>): ArrayTensor<D> {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`arrayTensor: ${data.length} values do not fill ${dtype}[${shape.join(',')}] (${n} elements)`);
  return { dtype, shape: [...shape], data };
}

/** Reads `key` of a sample as an array (a plain number is an error naming the key). */
export function sampleArray(s: Sample, key: string): ArrayTensor {
  const v = s[key];
  if (v === undefined) throw new Error(`sample has no "${key}" (keys: ${Object.keys(s).join(', ')})`);
  if (typeof v === 'number') throw new Error(`sample "${key}" is a number, not an array`);
  return v;
}

/** Reads `key` of a sample as a float32 array (other dtypes are an error: add `toFloat()` first). */
export function sampleFloat(s: Sample, key: string): ArrayTensor<'float32'> {
  const a = sampleArray(s, key);
  if (a.dtype !== 'float32') throw new Error(`sample "${key}" is ${a.dtype}; this transform needs float32 (add toFloat() first)`);
  return a as ArrayTensor<'float32'>;
}
