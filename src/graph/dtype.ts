/** Element types a lathe tensor can hold. String literals, mapped to typed arrays (as onnxruntime-common does). */
export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'uint32'
  | 'uint64';

/** The JS array that holds the elements of each dtype (float16/bfloat16 as raw 16-bit words). */
interface TypedArrayMap {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  uint8: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
}
/** The typed array that holds elements of dtype `D` (e.g. `TypedArrayOf<'int64'>` is `BigInt64Array`). */
export type TypedArrayOf<D extends DType> = TypedArrayMap[D];
export type AnyTypedArray = TypedArrayMap[DType];

/** ONNX TensorProto.DataType numbers. */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
};

export function dtypeFromOnnx(code: number): DType {
  for (const [k, v] of Object.entries(ONNX_DTYPE)) if (v === code) return k as DType;
  throw new Error(`unsupported ONNX element type ${code}`);
}

const FLOAT_DTYPES: ReadonlySet<DType> = new Set(['float32', 'float16', 'bfloat16', 'float64']);
/** True for the floating-point dtypes: float32, float16, bfloat16 and float64. */
export const isFloat = (d: DType): boolean => FLOAT_DTYPES.has(d);
export const isInteger = (d: DType): boolean => !isFloat(d) && d !== 'bool';

/** Byte size of one element. */
export function itemSize(d: DType): number {
  switch (d) {
    case 'float64':
    case 'int64':
    case 'uint64':
      return 8;
    case 'float32':
    case 'int32':
    case 'uint32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
    case 'uint16':
      return 2;
    default:
      return 1;
  }
}

/** Allocates a zeroed typed array for `n` elements of `dtype`. */
export function allocate<D extends DType>(dtype: D, n: number): TypedArrayOf<D> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n) as TypedArrayOf<D>;
    case 'float64':
      return new Float64Array(n) as TypedArrayOf<D>;
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n) as TypedArrayOf<D>;
    case 'int32':
      return new Int32Array(n) as TypedArrayOf<D>;
    case 'int64':
      return new BigInt64Array(n) as TypedArrayOf<D>;
    case 'uint32':
      return new Uint32Array(n) as TypedArrayOf<D>;
    case 'uint64':
      return new BigUint64Array(n) as TypedArrayOf<D>;
    case 'int8':
      return new Int8Array(n) as TypedArrayOf<D>;
    case 'int16':
      return new Int16Array(n) as TypedArrayOf<D>;
    case 'uint16':
      return new Uint16Array(n) as TypedArrayOf<D>;
    default:
      return new Uint8Array(n) as TypedArrayOf<D>;
  }
}

/** dtype of the result of a binary op; lathe does not promote silently across kinds (like ONNX). */
export function sameDType(op: string, a: DType, b: DType): DType {
  if (a !== b) throw new Error(`${op}: dtypes differ: ${a} vs ${b} (cast one side explicitly)`);
  return a;
}

/** An IEEE half-precision bit pattern as a number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** A bfloat16 bit pattern as a number (the top half of a float32). */
export function bfloat16ToFloat(b: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, (b & 0xffff) << 16);
  return buf.getFloat32(0);
}

/** Floating-point data as float32 (float16/bfloat16 bit patterns decoded, float64 rounded). */
export function floatDataToFloat32(dtype: DType, data: AnyTypedArray): Float32Array {
  if (dtype === 'float32') return data as Float32Array;
  if (dtype === 'float16') return Float32Array.from(data as Uint16Array, halfToFloat);
  if (dtype === 'bfloat16') return Float32Array.from(data as Uint16Array, bfloat16ToFloat);
  if (dtype === 'float64') return Float32Array.from(data as Float64Array);
  throw new Error(`floatDataToFloat32: ${dtype} is not a floating-point dtype`);
}

/**
 * Tensor datatypes of the Open Inference Protocol v2 (KServe/Triton) that lathe serves, each the
 * name of one lathe dtype (BYTES, FP16 and BF16 are not served).
 */
export type OipDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP32'
  | 'FP64';

/** OIP datatype name → lathe dtype (also ONNX Runtime's element type name). */
export const OIP_DTYPE: Readonly<Record<OipDatatype, DType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
};

/** The OIP datatype of a lathe dtype (or ORT element type name), or undefined for those not served (float16, string, ...). */
export function oipDatatypeOf(t: string): OipDatatype | undefined {
  for (const [k, v] of Object.entries(OIP_DTYPE)) if (v === t) return k as OipDatatype;
  return undefined;
}
