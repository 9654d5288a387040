// A small PNG decoder for the common case of image datasets: non-interlaced, 8-bit grey/RGB/grey+alpha/RGBA and
// palette (1–8 bit) images, inflated with node's zlib and unfiltered here. For small images it is several times
// cheaper than a libvips pipeline per file (bench/data.ts); anything else (16-bit, interlaced, Adam7) returns
// undefined so the caller falls back to sharp. Like Pillow, it ignores gamma and ICC chunks.
import { inflateSync } from 'node:zlib';

/** Decoded pixels: interleaved 8-bit samples, `channels` per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/**
 * Decodes `bytes` if it is a PNG this decoder handles; undefined for a valid PNG it does not (the caller uses
 * another decoder); throws (naming `source`) for a PNG that is broken.
 */
export function decodePng(bytes: Uint8Array, source: string): RawImage | undefined {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let colour = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    const body = at + 8;
    if (body + len > bytes.length) throw new Error(`${source}: PNG chunk ${type} is truncated`);
    if (type === 'IHDR') {
      width = view.getUint32(body);
      height = view.getUint32(body + 4);
      depth = bytes[body + 8];
      colour = bytes[body + 9];
      if (bytes[body + 12] !== 0) return undefined; // interlaced
      if (depth !== 8 && !(colour === 3 && depth < 8) && !(colour === 0 && depth < 8)) return undefined;
    } else if (type === 'PLTE') palette = bytes.subarray(body, body + len);
    else if (type === 'IDAT') idat.push(bytes.subarray(body, body + len));
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    at = body + len + 4; // + CRC
  }
  if (!(width > 0 && height > 0) || colour < 0) throw new Error(`${source}: PNG without a valid IHDR`);
  if (!ended || idat.length === 0) throw new Error(`${source}: PNG is truncated (no ${idat.length ? 'IEND' : 'IDAT'})`);
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colour];
  if (samples === undefined) throw new Error(`${source}: PNG colour type ${colour} is invalid`);
  if (colour === 3 && !palette) throw new Error(`${source}: palette PNG without PLTE`);
  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat));
  } catch (e) {
    throw new Error(`${source}: PNG data is corrupt (${(e as Error).message})`);
  }
  const stride = Math.ceil((width * samples * depth) / 8);
  if (raw.length < height * (stride + 1))
    throw new Error(`${source}: PNG data is truncated (${raw.length} of ${height * (stride + 1)} bytes)`);
  const bpp = Math.max(1, (samples * depth) >> 3);
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const out = y * stride;
    const prev = out - stride;
    // one loop per filter type: the per-byte work is a few adds (first row: the row above is zeros)
    if (filter === 0 || (filter === 2 && y === 0)) px.set(raw.subarray(src, src + stride), out);
    else if (filter === 1) {
      for (let i = 0; i < bpp; i++) px[out + i] = raw[src + i];
      for (let i = bpp; i < stride; i++) px[out + i] = raw[src + i] + px[out + i - bpp];
    } else if (filter === 2) {
      for (let i = 0; i < stride; i++) px[out + i] = raw[src + i] + px[prev + i];
    } else if (filter === 3) {
      for (let i = 0; i < stride; i++)
        px[out + i] = raw[src + i] + (((i >= bpp ? px[out + i - bpp] : 0) + (y > 0 ? px[prev + i] : 0)) >> 1);
    } else if (filter === 4) {
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? px[out + i - bpp] : 0;
        const b = y > 0 ? px[prev + i] : 0;
        const c = y > 0 && i >= bpp ? px[prev + i - bpp] : 0;
        const p = a + b - c;
        const pa = p > a ? p - a : a - p;
        const pb = p > b ? p - b : b - p;
        const pc = p > c ? p - c : c - p;
        px[out + i] = raw[src + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
    } else throw new Error(`${source}: PNG row ${y} has invalid filter ${filter}`);
  }
  if (depth === 8 && colour !== 3) return { width, height, channels: samples as 1 | 2 | 3 | 4, data: px };
  // unpack 1/2/4-bit rows; grey scales to 0..255, palette indexes PLTE
  const n = width * height;
  const idx = new Uint8Array(n);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const byte = px[y * stride + Math.floor(x / perByte)];
      idx[y * width + x] = (byte >> ((perByte - 1 - (x % perByte)) * depth)) & mask;
    }
  if (colour === 0) {
    const scale = 255 / mask;
    for (let i = 0; i < n; i++) idx[i] = idx[i] * scale;
    return { width, height, channels: 1, data: idx };
  }
  if (!palette) throw new Error(`${source}: a palette image without a PLTE chunk`);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const e = idx[i] * 3;
    if (e + 2 >= palette.length) throw new Error(`${source}: palette index ${idx[i]} beyond PLTE`);
    rgb[3 * i] = palette[e];
    rgb[3 * i + 1] = palette[e + 1];
    rgb[3 * i + 2] = palette[e + 2];
  }
  return { width, height, channels: 3, data: rgb };
}
