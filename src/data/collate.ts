// Stacking samples into a batch.
import { allocate, type DType } from '../graph/dtype.js';
import type { Collate } from './dataset.js';
import type { NDArray } from '../graph/ndarray.js';

/** Stacks each key along a new first axis; integer numbers become int64 (class labels), other numbers float32. */
export const defaultCollate: Collate = function defaultCollate(samples) {
  if (samples.length === 0) throw new Error('collate: no samples');
  const out: Record<string, NDArray> = {};
  for (const key of Object.keys(samples[0])) {
    const first = samples[0][key];
    if (typeof first === 'number') {
      const ints = samples.every((s) => Number.isInteger(s[key]));
      const dtype: DType = ints ? 'int64' : 'float32';
      if (ints) {
        const data = new BigInt64Array(samples.length);
        samples.forEach((s, i) => (data[i] = BigInt(s[key] as number)));
        out[key] = { dtype, shape: [samples.length], data };
      } else {
        const data = new Float32Array(samples.length);
        samples.forEach((s, i) => {
          if (typeof s[key] !== 'number')
            throw new Error(`collate: sample ${i} "${key}" is not a number, sample 0's is`);
          data[i] = s[key] as number;
        });
        out[key] = { dtype, shape: [samples.length], data };
      }
      continue;
    }
    const per = first.shape.reduce((a, b) => a * b, 1);
    const data = allocate(first.dtype, per * samples.length);
    samples.forEach((s, i) => {
      const a = s[key];
      if (
        a === undefined ||
        typeof a === 'number' ||
        a.shape.join(',') !== first.shape.join(',') ||
        a.dtype !== first.dtype
      ) {
        const got = a === undefined ? 'missing' : typeof a === 'number' ? 'a number' : `${a.dtype}[${a.shape}]`;
        throw new Error(
          `collate: sample ${i} "${key}" is ${got}, sample 0 is ${first.dtype}[${first.shape}] (give a custom collate)`,
        );
      }
      (data as Float32Array).set(a.data as Float32Array, i * per);
    });
    out[key] = { dtype: first.dtype, shape: [samples.length, ...first.shape], data };
  }
  return out;
};
