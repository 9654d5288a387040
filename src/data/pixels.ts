// Pixel ranges for generative models and the fixed binarisation of held-out images. Catalog datasets arrive
// normalised ((pixel/255 − mean)/std); generative models want intensities in [0, 1] or [−1, 1], and binary-likelihood
// models are evaluated on one fixed, documented binarisation of the test images.
import type { NDArray } from '../graph/ndarray.js';
import { hash32 } from '../graph/ops/random.js';

/** Undoes a per-channel normalisation of images [N, C, ...] and maps them to [0, 1] ('unit') or [−1, 1] ('symmetric'). */
export function toPixelRange(
  x: NDArray,
  norm: { readonly mean: readonly number[]; readonly std: readonly number[] },
  range: 'unit' | 'symmetric',
): NDArray<'float32'> {
  const [n, c] = x.shape;
  const plane = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const src = x.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < n * c; i++) {
    const ch = i % c;
    const m = norm.mean[norm.mean.length === c ? ch : 0];
    const s = norm.std[norm.std.length === c ? ch : 0];
    for (let j = i * plane; j < (i + 1) * plane; j++) {
      const u = Math.min(1, Math.max(0, src[j] * s + m));
      out[j] = range === 'unit' ? u : 2 * u - 1;
    }
  }
  return { dtype: 'float32', shape: x.shape, data: out };
}

/**
 * One fixed binarisation of intensities in [0, 1]: element i becomes 1 when u_i < x_i, with
 * u_i = (hash32(hash32(seed) XOR i) + 0.5) / 2^32 (hash32: graph/ops/random.ts). bench/peers/vae_fmnist.py computes
 * the same bits, so both frameworks score the same binary test set.
 */
export function binarizeFixed(x: NDArray, seed = 0): NDArray<'float32'> {
  const src = x.data as Float32Array;
  const out = new Float32Array(src.length);
  const k = hash32(seed);
  for (let i = 0; i < src.length; i++) out[i] = (hash32((k ^ i) >>> 0) + 0.5) / 2 ** 32 < src[i] ? 1 : 0;
  return { dtype: 'float32', shape: x.shape, data: out };
}
