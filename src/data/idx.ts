// IDX files (the MNIST format), gzipped or not.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Parses an IDX file (MNIST format), gzipped or not; errors name the file. */
export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  if (!existsSync(path)) throw new Error(`${path}: file not found`);
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) throw new Error(`${path}: not an unsigned-byte IDX file (bad magic)`);
  const rank = buf[3];
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (buf.length - start !== n) throw new Error(`${path}: header says ${n} values, file has ${buf.length - start}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, n) };
}

