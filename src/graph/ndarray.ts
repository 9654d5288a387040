import { allocate, type DType, type TypedArrayOf, type AnyTypedArray } from './dtype.js';

/** A concrete array on the host: the values that go in and come out of a compiled graph. */
export interface NDArray<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayOf<D>;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Builds an NDArray, checking that the data length matches the shape. */
export function ndarray<D extends DType>(
  dtype: D,
  shape: readonly number[],
  data?: TypedArrayOf<D> | ArrayLike<number>,
): NDArray<D> {
  const n = size(shape);
  let arr: TypedArrayOf<D>;
  if (data === undefined) arr = allocate(dtype, n);
  else if (ArrayBuffer.isView(data) && data.constructor === allocate(dtype, 0).constructor)
    arr = data as TypedArrayOf<D>;
  else {
    arr = allocate(dtype, n);
    const src = data as ArrayLike<number | bigint>;
    if (src.length !== n)
      throw new Error(`ndarray: ${src.length} values do not fill shape [${shape.join(',')}] (${n} elements)`);
    if (arr instanceof BigInt64Array || arr instanceof BigUint64Array)
      for (let i = 0; i < n; i++) (arr as BigInt64Array)[i] = BigInt(Math.trunc(Number(src[i])));
    else for (let i = 0; i < n; i++) (arr as Float64Array)[i] = Number(src[i]);
  }
  if ((arr as AnyTypedArray).length !== n) {
    throw new Error(
      `ndarray: ${(arr as AnyTypedArray).length} values do not fill shape [${shape.join(',')}] (${n} elements)`,
    );
  }
  return { dtype, shape: [...shape], data: arr };
}

/**
 * A float32 NDArray of `shape`, zero-filled or copied from `data`; throws if `data` does not have exactly as many
 * values as the shape.
 */
export const float32 = (shape: readonly number[], data?: ArrayLike<number>): NDArray<'float32'> =>
  ndarray('float32', shape, data);
/**
 * A float64 NDArray of `shape`, zero-filled or copied from `data`; throws if `data` does not have exactly as many
 * values as the shape.
 */
export const float64 = (shape: readonly number[], data?: ArrayLike<number>): NDArray<'float64'> =>
  ndarray('float64', shape, data);
/**
 * An int64 NDArray of `shape` (stored as BigInt64Array; values truncated toward zero), zero-filled or copied from
 * `data`; throws on a length mismatch.
 */
export const int64 = (shape: readonly number[], data?: ArrayLike<number>): NDArray<'int64'> =>
  ndarray('int64', shape, data);
/**
 * An int32 NDArray of `shape`, zero-filled or copied from `data`; throws if `data` does not have exactly as many values
 * as the shape.
 */
export const int32 = (shape: readonly number[], data?: ArrayLike<number>): NDArray<'int32'> =>
  ndarray('int32', shape, data);

/** Elements as JS numbers (bigint converted), for tests and printing. */
export function toNumbers(a: NDArray): number[] {
  return Array.from(a.data as ArrayLike<number | bigint>, (v) => Number(v));
}
