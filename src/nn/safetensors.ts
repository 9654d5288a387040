// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then
// the raw little-endian tensor bytes. Readable by the Hugging Face `safetensors` library and PyTorch.
import { readFileSync } from 'node:fs';
import { allocate, itemSize, type DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { writeAtomicFile } from '../util/write-atomic.js';
import { FileFormatError } from '../util/errors.js';

const TO_ST: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  int64: 'I64',
  uint8: 'U8',
  int8: 'I8',
  bool: 'BOOL',
  uint32: 'U32',
  uint64: 'U64',
};
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));

/** Serialises named arrays (sorted by name) with optional string metadata. */
export function encodeSafetensors(
  tensors: Readonly<Record<string, NDArray>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const n of names) {
    const t = tensors[n];
    const st = TO_ST[t.dtype];
    if (!st) throw new Error(`safetensors: dtype ${t.dtype} of "${n}" is not supported`);
    const bytes = (t.data as ArrayLike<unknown>).length * itemSize(t.dtype);
    header[n] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const n of names) {
    const d = tensors[n].data as ArrayBufferView;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** The contents of a safetensors file: tensors by name and the header's string metadata (`__metadata__`). */
export interface SafetensorsFile {
  readonly tensors: Record<string, NDArray>;
  readonly metadata: Record<string, string>;
}

/** Parses safetensors bytes; `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  if (bytes.length < 8) throw new FileFormatError(`${source}: truncated (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new FileFormatError(`${source}: header length ${n} exceeds the file`);
  let header: Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new FileFormatError(`${source}: header is not valid JSON`);
  }
  const base = 8 + n;
  const tensors: Record<string, NDArray> = {};
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dtype = FROM_ST[e.dtype];
    if (!dtype) throw new FileFormatError(`${source}: tensor "${name}" has unsupported dtype ${e.dtype}`);
    const [s, t] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (t - s !== count * itemSize(dtype) || base + t > bytes.length)
      throw new FileFormatError(`${source}: tensor "${name}" has inconsistent offsets`);
    const data = allocate(dtype, count);
    new Uint8Array((data as ArrayBufferView).buffer).set(bytes.subarray(base + s, base + t));
    tensors[name] = { dtype, shape: e.shape, data };
  }
  return { tensors, metadata };
}

/**
 * Reads and decodes the safetensors file at `path` (tensors and string metadata); throws a `FileFormatError` naming
 * the path when the file is truncated, its header is not valid JSON, or a tensor has an unknown dtype or bad offsets.
 */
export const readSafetensors = (path: string): SafetensorsFile => decodeSafetensors(readFileSync(path), path);

/** Writes tensors (and string metadata) as a safetensors file, atomically (temp, fsync, rename). */
export function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, NDArray>>,
  metadata: Readonly<Record<string, string>> = {},
): void {
  writeAtomicFile(path, encodeSafetensors(tensors, metadata));
}
