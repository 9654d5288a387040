// The values the data layer hands to the Trainer: samples and batches of the graph layer's NDArray (host arrays
// with a dtype and a shape — the same values the Trainer feeds into ORT tensors).
import type { NDArray } from '../graph/ndarray.js';

/** A batch: named arrays whose first dimension is the batch, e.g. `{ x: float32 [64,1,28,28], y: int64 [64] }`. */
export type Batch = Readonly<Record<string, NDArray>>;

/** A sample: named arrays (without the batch dimension) and plain numbers such as a class label. */
export type Sample = Readonly<Record<string, NDArray | number>>;

/** Reads `key` of a sample as an array (a plain number is an error naming the key). */
export function sampleArray(s: Sample, key: string): NDArray {
  const v = s[key];
  if (v === undefined) throw new Error(`sample has no "${key}" (keys: ${Object.keys(s).join(', ')})`);
  if (typeof v === 'number') throw new Error(`sample "${key}" is a number, not an array`);
  return v;
}

/** Reads `key` of a sample as a float32 array (other dtypes are an error: add `toFloat()` first). */
export function sampleFloat(s: Sample, key: string): NDArray<'float32'> {
  const a = sampleArray(s, key);
  if (a.dtype !== 'float32')
    throw new Error(`sample "${key}" is ${a.dtype}; this transform needs float32 (add toFloat() first)`);
  return a as NDArray<'float32'>;
}
