// Images to files: a grid of images as one PNG (sharp) and a batch of images as a NumPy .npy file (format 1.0:
// the magic "\x93NUMPY", version 1.0, a little-endian uint16 header length, a Python-dict header
// {'descr': '<f4', 'fortran_order': False, 'shape': (N, C, H, W)} padded with spaces to a multiple of 64 bytes and
// ended by '\n', then the float32 data in C order; `numpy.load` reads it, and so does readNpy below).
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { NDArray } from '../graph/ndarray.js';
import { FileFormatError } from '../util/errors.js';
import { writeAtomicFile } from '../util/write-atomic.js';

/**
 * An 8-bit image as {@link imageGrid} returns it: `width` × `height` pixels, `channels` values per pixel interleaved
 * row by row (HWC) in `data`.
 */
export interface GridImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/** Tiles images [N, C, H, W] with values in [0, 1] into one image: `cols` per row (default ⌈√N⌉), `pad` pixels between. */
export function imageGrid(images: NDArray, opts: { cols?: number; pad?: number } = {}): GridImage {
  const [n, c, h, w] = images.shape;
  if (images.shape.length !== 4 || (c !== 1 && c !== 3))
    throw new Error(`imageGrid: images must be [N, 1 or 3, H, W], got [${images.shape.join(', ')}]`);
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const pad = opts.pad ?? 2;
  const width = cols * w + (cols + 1) * pad;
  const height = rows * h + (rows + 1) * pad;
  const data = new Uint8Array(width * height * c);
  const src = images.data as Float32Array;
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % cols) * (w + pad);
    const oy = pad + Math.floor(k / cols) * (h + pad);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const v = src[((k * c + ch) * h + i) * w + j];
          data[((oy + i) * width + ox + j) * c + ch] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
      }
    }
  }
  return { width, height, channels: c as 1 | 3, data };
}

/** Writes a grid of images [N, C, H, W] in [0, 1] as a PNG file (atomically). */
export async function writeImageGrid(
  path: string,
  images: NDArray,
  opts: { cols?: number; pad?: number } = {},
): Promise<GridImage> {
  const g = imageGrid(images, opts);
  const img = sharp(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength), {
    raw: { width: g.width, height: g.height, channels: g.channels },
  });
  const png = await (g.channels === 1 ? img.toColourspace('b-w') : img).png().toBuffer();
  writeAtomicFile(path, png);
  return g;
}

/** The bytes of a float32 .npy file (format 1.0) holding `a`. */
export function encodeNpy(a: NDArray): Uint8Array {
  if (a.dtype !== 'float32') throw new Error(`encodeNpy: float32 only, got ${a.dtype}`);
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + a.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const d = a.data as Float32Array;
  out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), 10 + header.length); // little-endian hosts
  return out;
}

/** Reads a float32 C-order .npy file written by encodeNpy (or numpy.save). */
export function readNpy(path: string): NDArray<'float32'> {
  const b = readFileSync(path);
  if (b.length < 10 || b[0] !== 0x93 || b.subarray(1, 6).toString('latin1') !== 'NUMPY')
    throw new FileFormatError(`${path}: not a .npy file (bad magic)`);
  const hlen = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = b[6] === 1 ? 10 : 12;
  const header = b.subarray(off, off + hlen).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header))
    throw new FileFormatError(`${path}: only little-endian float32 .npy files are read (header ${header.trim()})`);
  if (/'fortran_order':\s*True/.test(header)) throw new FileFormatError(`${path}: Fortran-order arrays are not read`);
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!m) throw new FileFormatError(`${path}: .npy header has no shape`);
  const shape = m[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const n = shape.reduce((p, q) => p * q, 1);
  const start = off + hlen;
  if (b.length - start !== 4 * n)
    throw new FileFormatError(
      `${path}: .npy data holds ${b.length - start} bytes, shape [${shape.join(', ')}] needs ${4 * n}`,
    );
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(b.subarray(start, start + 4 * n));
  return { dtype: 'float32', shape, data };
}
