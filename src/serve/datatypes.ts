// Open Inference Protocol v2 datatypes and their ONNX Runtime / typed-array counterparts.

/** Tensor datatypes of the Open Inference Protocol v2 that this server accepts (BYTES and FP16/BF16 are not served). */
export type OipDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP32' | 'FP64';

/** ONNX Runtime tensor element types matching {@link OipDatatype}. */
export type OrtElementType = 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64';

/** Typed array that holds each element type. */
export type TypedArray =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

interface DatatypeInfo {
  readonly ort: OrtElementType;
  readonly bytes: number;
  readonly make: (n: number) => TypedArray;
  readonly view: (buf: ArrayBuffer, offset: number, length: number) => TypedArray;
  readonly min?: number;
  readonly max?: number;
  readonly integer: boolean;
  readonly big: boolean;
}

const info: Readonly<Record<OipDatatype, DatatypeInfo>> = {
  BOOL: { ort: 'bool', bytes: 1, make: (n) => new Uint8Array(n), view: (b, o, l) => new Uint8Array(b, o, l), integer: true, big: false, min: 0, max: 1 },
  UINT8: { ort: 'uint8', bytes: 1, make: (n) => new Uint8Array(n), view: (b, o, l) => new Uint8Array(b, o, l), integer: true, big: false, min: 0, max: 255 },
  UINT16: { ort: 'uint16', bytes: 2, make: (n) => new Uint16Array(n), view: (b, o, l) => new Uint16Array(b, o, l), integer: true, big: false, min: 0, max: 65535 },
  UINT32: { ort: 'uint32', bytes: 4, make: (n) => new Uint32Array(n), view: (b, o, l) => new Uint32Array(b, o, l), integer: true, big: false, min: 0, max: 4294967295 },
  UINT64: { ort: 'uint64', bytes: 8, make: (n) => new BigUint64Array(n), view: (b, o, l) => new BigUint64Array(b, o, l), integer: true, big: true, min: 0, max: Number.MAX_SAFE_INTEGER },
  INT8: { ort: 'int8', bytes: 1, make: (n) => new Int8Array(n), view: (b, o, l) => new Int8Array(b, o, l), integer: true, big: false, min: -128, max: 127 },
  INT16: { ort: 'int16', bytes: 2, make: (n) => new Int16Array(n), view: (b, o, l) => new Int16Array(b, o, l), integer: true, big: false, min: -32768, max: 32767 },
  INT32: { ort: 'int32', bytes: 4, make: (n) => new Int32Array(n), view: (b, o, l) => new Int32Array(b, o, l), integer: true, big: false, min: -2147483648, max: 2147483647 },
  INT64: { ort: 'int64', bytes: 8, make: (n) => new BigInt64Array(n), view: (b, o, l) => new BigInt64Array(b, o, l), integer: true, big: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  FP32: { ort: 'float32', bytes: 4, make: (n) => new Float32Array(n), view: (b, o, l) => new Float32Array(b, o, l), integer: false, big: false },
  FP64: { ort: 'float64', bytes: 8, make: (n) => new Float64Array(n), view: (b, o, l) => new Float64Array(b, o, l), integer: false, big: false },
};

export const OIP_DATATYPES: readonly OipDatatype[] = Object.keys(info) as OipDatatype[];

export function isOipDatatype(s: unknown): s is OipDatatype {
  return typeof s === 'string' && Object.hasOwn(info, s);
}

export function ortTypeOf(dt: OipDatatype): OrtElementType {
  return info[dt].ort;
}

/** The OIP datatype of an ORT element type, or undefined for types this server does not serve (string, float16, ...). */
export function oipTypeOf(t: string): OipDatatype | undefined {
  return OIP_DATATYPES.find((d) => info[d].ort === t);
}

export function bytesPerElement(dt: OipDatatype): number {
  return info[dt].bytes;
}

export function allocate(dt: OipDatatype, n: number): TypedArray {
  return info[dt].make(n);
}

/** A typed-array view over raw little-endian bytes (copied when unaligned). */
export function viewBytes(dt: OipDatatype, bytes: Uint8Array): TypedArray {
  const size = info[dt].bytes;
  const n = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return info[dt].view(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  // Buffer.allocUnsafe takes small sizes from Node's shared pool at 8-byte-aligned offsets: no new ArrayBuffer per request.
  const copy = Buffer.allocUnsafe(bytes.byteLength);
  copy.set(bytes);
  return info[dt].view(copy.buffer as ArrayBuffer, copy.byteOffset, n);
}

/**
 * Copies JSON values (already flattened, row-major) into a typed array.
 * Returns an error message naming the first bad element, or the array.
 */
export function fromJson(dt: OipDatatype, values: readonly unknown[] | Float64Array): TypedArray | string {
  const d = info[dt];
  // Numbers scanned straight from the body (oip-body.ts): floats need no checks, one native conversion.
  if (values instanceof Float64Array && !d.integer) return dt === 'FP64' ? values : new Float32Array(values);
  const out = d.make(values.length);
  for (let i = 0; i < values.length; i++) {
    let v: unknown = values[i];
    if (dt === 'BOOL' && typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isFinite(v) && d.integer) return `element ${i} is ${describe(v)}, expected ${dt === 'BOOL' ? 'a boolean' : 'a number'}`;
    if (d.integer) {
      if (!Number.isInteger(v)) return `element ${i} is ${v}, expected an integer for ${dt}`;
      if (v < d.min! || v > d.max!) return `element ${i} is ${v}, out of range for ${dt}`;
    }
    if (d.big) (out as BigInt64Array)[i] = BigInt(v);
    else (out as Float64Array)[i] = v;
  }
  return out;
}

/** Typed array to JSON-friendly numbers (int64 beyond 2^53 loses precision, as in every JSON client). */
export function toJson(dt: OipDatatype, data: TypedArray): number[] | boolean[] {
  if (dt === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (info[dt].big) return Array.from(data as BigInt64Array, (v) => Number(v));
  return Array.from(data as Float32Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 20))}`;
  return typeof v === 'number' ? String(v) : typeof v;
}
