// IDX files (the MNIST format), gzipped or not: magic 0x0000 <type> <rank>, rank big-endian uint32 dims, data.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { FileFormatError } from '../util/errors.js';

/** IDX type codes and the dtype each decodes to (big-endian in the file). */
const IDX_TYPES: Readonly<Record<number, { dtype: DType; bytes: number; name: string }>> = {
  0x08: { dtype: 'uint8', bytes: 1, name: 'unsigned byte' },
  0x09: { dtype: 'int8', bytes: 1, name: 'signed byte' },
  0x0b: { dtype: 'int32', bytes: 2, name: 'short' },
  0x0c: { dtype: 'int32', bytes: 4, name: 'int' },
  0x0d: { dtype: 'float32', bytes: 4, name: 'float' },
  0x0e: { dtype: 'float64', bytes: 8, name: 'double' },
};

function parse(path: string): { type: number; dims: number[]; body: Buffer } {
  if (!existsSync(path)) throw new FileFormatError(`${path}: file not found`);
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new FileFormatError(`${path}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || !(buf[2] in IDX_TYPES)) {
    throw new FileFormatError(
      `${path}: not an IDX file (bad magic ${[...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')})`,
    );
  }
  const type = buf[2];
  const rank = buf[3];
  if (buf.length < 4 + 4 * rank) throw new FileFormatError(`${path}: IDX header truncated (rank ${rank})`);
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1) * IDX_TYPES[type].bytes;
  const body = buf.subarray(4 + 4 * rank);
  if (body.length !== n)
    throw new FileFormatError(`${path}: header [${dims.join(',')}] needs ${n} bytes of data, file has ${body.length}`);
  return { type, dims, body };
}

/** Parses an unsigned-byte IDX file (MNIST images and labels), gzipped or not; errors name the file. */
export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  const { type, dims, body } = parse(path);
  if (type !== 0x08)
    throw new FileFormatError(
      `${path}: IDX element type is ${IDX_TYPES[type].name}, expected unsigned byte (use readIdxArray)`,
    );
  return { dims, data: new Uint8Array(body.buffer, body.byteOffset, body.length) };
}

/** Parses an IDX file of any element type into an NDArray (short and int become int32). */
export function readIdxArray(path: string): NDArray {
  const { type, dims, body } = parse(path);
  const t = IDX_TYPES[type];
  const n = body.length / t.bytes;
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  switch (type) {
    case 0x08:
      return { dtype: 'uint8', shape: dims, data: new Uint8Array(body) };
    case 0x09:
      return { dtype: 'int8', shape: dims, data: new Int8Array(new Uint8Array(body).buffer) };
    case 0x0b:
      return { dtype: 'int32', shape: dims, data: Int32Array.from({ length: n }, (_, i) => view.getInt16(2 * i)) };
    case 0x0c:
      return { dtype: 'int32', shape: dims, data: Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i)) };
    case 0x0d:
      return {
        dtype: 'float32',
        shape: dims,
        data: Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i)),
      };
    default:
      return {
        dtype: 'float64',
        shape: dims,
        data: Float64Array.from({ length: n }, (_, i) => view.getFloat64(8 * i)),
      };
  }
}

/** Encodes an unsigned-byte IDX file (uncompressed; gzip it with zlib if wanted). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 0x08;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, data]);
}
