// Tensors as the server moves them between HTTP, batcher and workers, and their values as OIP's JSON
// writes them. Datatypes come from the one dtype table (graph/dtype.ts): an OIP name maps to a lathe
// dtype, which is also ONNX Runtime's element type name.
import {
  allocate,
  isFloat,
  itemSize,
  OIP_DTYPE,
  type AnyTypedArray,
  type DType,
  type OipDatatype,
} from '../graph/dtype.js';

export type { OipDatatype } from '../graph/dtype.js';
/** The typed array that holds a tensor's elements. */
export type TypedArray = AnyTypedArray;

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

export const OIP_DATATYPES: readonly OipDatatype[] = Object.keys(OIP_DTYPE) as OipDatatype[];

export function isOipDatatype(s: unknown): s is OipDatatype {
  return typeof s === 'string' && Object.hasOwn(OIP_DTYPE, s);
}

/** Bytes per element of an OIP datatype. */
export function bytesPerElement(dt: OipDatatype): number {
  return itemSize(OIP_DTYPE[dt]);
}

/** A zeroed typed array of `n` elements. */
export function allocateOip(dt: OipDatatype, n: number): TypedArray {
  return allocate(OIP_DTYPE[dt], n);
}

/** Integer ranges a JSON number must fall in (64-bit ones: the doubles that convert exactly). */
const RANGE: Partial<Readonly<Record<DType, readonly [number, number]>>> = {
  bool: [0, 1],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const isBig = (d: DType): boolean => d === 'int64' || d === 'uint64';

type TypedArrayCtor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray;

/** A typed-array view over raw little-endian bytes (copied when unaligned). */
export function viewBytes(dt: OipDatatype, bytes: Uint8Array): TypedArray {
  const d = OIP_DTYPE[dt];
  const size = itemSize(d);
  const n = bytes.byteLength / size;
  const Ctor = allocate(d, 0).constructor as TypedArrayCtor;
  if (bytes.byteOffset % size === 0) return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  // Buffer.allocUnsafe takes small sizes from Node's shared pool at 8-byte-aligned offsets: no new ArrayBuffer per request.
  const copy = Buffer.allocUnsafe(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer as ArrayBuffer, copy.byteOffset, n);
}

/**
 * Copies JSON values (already flattened, row-major) into a typed array.
 * Returns an error message naming the first bad element, or the array.
 */
export function fromJson(dt: OipDatatype, values: readonly unknown[] | Float64Array): TypedArray | string {
  const d = OIP_DTYPE[dt];
  const range = RANGE[d];
  // Numbers scanned straight from the body (oip-body.ts): floats need no checks, one native conversion.
  if (values instanceof Float64Array && isFloat(d)) return d === 'float64' ? values : new Float32Array(values);
  const out = allocate(d, values.length);
  for (let i = 0; i < values.length; i++) {
    let v: unknown = values[i];
    if (d === 'bool' && typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v !== 'number' || (!Number.isFinite(v) && range))
      return `element ${i} is ${describe(v)}, expected ${d === 'bool' ? 'a boolean' : 'a number'}`;
    if (range) {
      if (!Number.isInteger(v)) return `element ${i} is ${v}, expected an integer for ${dt}`;
      if (v < range[0] || v > range[1]) return `element ${i} is ${v}, out of range for ${dt}`;
    }
    if (isBig(d)) (out as BigInt64Array)[i] = BigInt(v);
    else (out as Float64Array)[i] = v;
  }
  return out;
}

/** Typed array to JSON-friendly numbers (int64 beyond 2^53 loses precision, as in every JSON client). */
export function toJson(dt: OipDatatype, data: TypedArray): number[] | boolean[] {
  if (dt === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (isBig(OIP_DTYPE[dt])) return Array.from(data as BigInt64Array, (v) => Number(v));
  return Array.from(data as Float32Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 20))}`;
  return typeof v === 'number' ? String(v) : typeof v;
}
