// Initializers, seeded and reproducible, with PyTorch's conventions for fan-in/fan-out and gains.
import { ndarray, type NDArray } from '../graph/ndarray.js';

/** The seeded generator initializers draw from (util/random.ts), state serializable for checkpoints. */
export { Rng as Generator } from '../util/random.js';
import type { Rng as Generator } from '../util/random.js';

/**
 * An initializer: given a parameter shape and the seeded generator, returns a float32 array of that shape. The
 * initializers below are factories that return one, e.g. `normal(0.02)`.
 */
export type Init = (shape: readonly number[], gen: Generator) => NDArray<'float32'>;

/**
 * [fanIn, fanOut] of a weight shaped [out, in, ...kernel] as PyTorch computes them: in·∏kernel and out·∏kernel;
 * a 1-D shape [n] (or a scalar) gives [n, n] (1 for a scalar).
 */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2) return [shape[0] ?? 1, shape[0] ?? 1];
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1] * receptive, shape[0] * receptive];
}

const fill = (shape: readonly number[], f: () => number): NDArray<'float32'> =>
  ndarray('float32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f));

/** Fills with 0 (the usual bias and shift initializer). */
export const zeros: Init = (shape) => fill(shape, () => 0);
/** Fills with 1 (the usual normalization-scale initializer). */
export const ones: Init = (shape) => fill(shape, () => 1);
/** Initializer that fills every element with `v`. */
export const constantInit =
  (v: number): Init =>
  (shape) =>
    fill(shape, () => v);
/** Initializer drawing each element uniformly from [lo, hi). */
export const uniform =
  (lo: number, hi: number): Init =>
  (shape, g) =>
    fill(shape, () => lo + (hi - lo) * g.uniform());
/** Initializer drawing each element from N(mean, std²); defaults std 1, mean 0. */
export const normal =
  (std = 1, mean = 0): Init =>
  (shape, g) =>
    fill(shape, () => mean + std * g.normal());

/** Truncated normal in [a, b] standard deviations (resampled), as torch.nn.init.trunc_normal_. */
export const truncatedNormal =
  (std = 1, a = -2, b = 2): Init =>
  (shape, g) =>
    fill(shape, () => {
      for (;;) {
        const z = g.normal();
        if (z >= a && z <= b) return z * std;
      }
    });

/** Kaiming (He) uniform; `a` is the negative slope; PyTorch's Linear/Conv default is a = √5. */
export const kaimingUniform =
  (a = 0, mode: 'fanIn' | 'fanOut' = 'fanIn'): Init =>
  (shape, g) => {
    const [fi, fo] = fans(shape);
    const gain = Math.sqrt(2 / (1 + a * a));
    const bound = gain * Math.sqrt(3 / (mode === 'fanIn' ? fi : fo));
    return uniform(-bound, bound)(shape, g);
  };
/**
 * Kaiming (He) normal: N(0, std²) with std = √(2 / (1 + a²)) / √fan, fan being fan-in (default) or fan-out per
 * `mode`; `a` is the negative slope of the following leaky ReLU (default 0, plain ReLU).
 */
export const kaimingNormal =
  (a = 0, mode: 'fanIn' | 'fanOut' = 'fanIn'): Init =>
  (shape, g) => {
    const [fi, fo] = fans(shape);
    return normal(Math.sqrt(2 / (1 + a * a)) / Math.sqrt(mode === 'fanIn' ? fi : fo))(shape, g);
  };
/** Xavier (Glorot) uniform: U(−b, b) with b = gain·√(6 / (fanIn + fanOut)); default gain 1. */
export const xavierUniform =
  (gain = 1): Init =>
  (shape, g) => {
    const [fi, fo] = fans(shape);
    const bound = gain * Math.sqrt(6 / (fi + fo));
    return uniform(-bound, bound)(shape, g);
  };
/** Xavier (Glorot) normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)); default gain 1. */
export const xavierNormal =
  (gain = 1): Init =>
  (shape, g) => {
    const [fi, fo] = fans(shape);
    return normal(gain * Math.sqrt(2 / (fi + fo)))(shape, g);
  };

/** Orthogonal init by Gram–Schmidt on a normal matrix (rows × cols, flattened trailing dims). */
export const orthogonal =
  (gain = 1): Init =>
  (shape, g) => {
    const rows = shape[0];
    const cols = shape.slice(1).reduce((a, b) => a * b, 1);
    const tall = rows > cols;
    const [r, c] = tall ? [cols, rows] : [rows, cols];
    const m = Array.from({ length: r }, () => Array.from({ length: c }, () => g.normal()));
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < i; j++) {
        const dot = m[i].reduce((s, v, k) => s + v * m[j][k], 0);
        for (let k = 0; k < c; k++) m[i][k] -= dot * m[j][k];
      }
      const norm = Math.sqrt(m[i].reduce((s, v) => s + v * v, 0));
      for (let k = 0; k < c; k++) m[i][k] /= norm;
    }
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * (tall ? m[j][i] : m[i][j]);
    return ndarray('float32', shape, out);
  };

/** PyTorch's default bias init for Linear/Conv: U(−1/√fan_in, 1/√fan_in). */
export const biasUniform = (fanIn: number): Init => uniform(-1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
