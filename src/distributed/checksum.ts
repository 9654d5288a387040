// Fingerprints that let ranks check they hold the same model: a 32-bit FNV-1a hash over bytes or text, split into
// two exact float32 halves so it travels through a Float32Array collective unchanged.

/** FNV-1a (32-bit) over the bytes of `data`, continuing from `h`. */
export function fnv1a(data: ArrayBufferView, h = 0x811c9dc5): number {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let x = h >>> 0;
  for (let i = 0; i < bytes.length; i++) x = Math.imul(x ^ bytes[i], 0x01000193) >>> 0;
  return x;
}

/** FNV-1a (32-bit) over the UTF-8 bytes of `s`. */
export function fnv1aText(s: string, h = 0x811c9dc5): number {
  return fnv1a(new TextEncoder().encode(s), h);
}

/** A 32-bit hash as two 16-bit halves (each exact in float32). */
export function hashHalves(h: number): [number, number] {
  return [(h >>> 16) & 0xffff, h & 0xffff];
}
