// Likelihood bounds of a trained VAE on held-out images, in nats per image: the ELBO and the k-sample
// importance-weighted bound (Burda et al. 2016), log p(x) ≥ IWAE_k = E[log (1/k) Σ_i p(x, z_i) / q(z_i|x)],
// which tightens towards log p(x) as k grows. The k samples are drawn in chunks (one ORT run per chunk of images ×
// samples, graph traced once), and the log-mean-exp over chunks is accumulated on the host, so k = 5,000 fits in memory.
import type { NDArray } from '../graph/ndarray.js';
import { add, exp, mul, square, sub } from '../graph/ops/elementwise.js';
import { reshape, tile, unsqueeze } from '../graph/ops/movement.js';
import { randomNormal } from '../graph/ops/random.js';
import { sum } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';
import { withFrozenParameters } from '../nn/export.js';
import { compile } from '../runtime/compile.js';
import { mixSeed } from '../util/random.js';
import type { VAE } from './vae.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x) for `k` draws z_i ~ q(z|x): x [B, C, H, W] → [B, k]. */
export function vaeLogWeights(model: VAE, x: Tensor, key: Tensor, k: number): Tensor {
  const { latent, channels, size } = model.cfg;
  const { mu, logvar } = model.encode(x); // [B, L]
  const muK = tile(unsqueeze(mu, 1), [1, k, 1]); // [B, k, L]
  const lvK = tile(unsqueeze(logvar, 1), [1, k, 1]); // [B, k, L]
  const eps = randomNormal(key, muK, { stream: 7 });
  const zs = add(muK, mul(exp(mul(lvK, 0.5)), eps)); // [B, k, L]
  const logQ = mul(sum(add(add(lvK, square(eps)), LOG_2PI), [2]), -0.5); // [B, k]
  const logPz = mul(sum(add(square(zs), LOG_2PI), [2]), -0.5); // [B, k]
  const xs = reshape(tile(unsqueeze(x, 1), [1, k, 1, 1, 1]), [-1, channels, size, size]); // [B·k, C, H, W]
  const logPx = reshape(model.logLikelihood(model.decode(reshape(zs, [-1, latent])), xs), [-1, k]); // [B, k]
  return sub(add(logPx, logPz), logQ);
}

/**
 * Options of {@link vaeBounds}: importance samples per image, how the work is split into ONNX Runtime runs, seed,
 * threads and progress; `k` must be a positive integer that `chunk` divides.
 */
export interface VaeBoundOptions {
  /** Importance samples per image (default 5,000). */
  readonly k?: number;
  /** Samples per ORT run (default: a divisor of k near 20,000 / batch). */
  readonly chunk?: number;
  /** Images per ORT run (default 50). */
  readonly batch?: number;
  readonly seed?: number;
  readonly threads?: number;
  /** Called after each batch of images with the images done so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * What {@link vaeBounds} returns: the ELBO and the IWAE_k bound (nats per image, the latter ≥ the former), with the `k`
 * and the number of images used.
 */
export interface VaeBounds {
  /** Mean over images of the average log-weight (the ELBO, estimated with all k samples), nats per image. */
  readonly elbo: number;
  /** Mean over images of log (1/k) Σ w_i, nats per image. */
  readonly iwae: number;
  readonly k: number;
  readonly images: number;
}

/** The ELBO and IWAE_k bounds of `model` on images x [N, C, H, W] (binary for a Bernoulli likelihood). */
export async function vaeBounds(model: VAE, x: NDArray, opts: VaeBoundOptions = {}): Promise<VaeBounds> {
  const k = opts.k ?? 5000;
  const batch = opts.batch ?? 50;
  const chunk = opts.chunk ?? largestDivisorAtMost(k, Math.max(1, Math.floor(20000 / batch)));
  if (!Number.isInteger(k) || k < 1) throw new Error(`vaeBounds: k must be a positive integer, got ${k}`);
  if (k % chunk) throw new Error(`vaeBounds: chunk ${chunk} must divide k ${k}`);
  const { channels, size } = model.cfg;
  if (x.shape.length !== 4 || x.shape[1] !== channels || x.shape[2] !== size || x.shape[3] !== size) {
    throw new Error(`vaeBounds: images must be [N, ${channels}, ${size}, ${size}], got [${x.shape.join(', ')}]`);
  }
  const run = compile(
    (xb: Tensor, key: Tensor) => withFrozenParameters(model, () => vaeLogWeights(model, xb, key, chunk)),
    {
      inputs: [
        { dtype: 'float32', shape: ['batch', channels, size, size] },
        { dtype: 'int64', shape: [] },
      ],
      threads: opts.threads,
    },
  );
  const n = x.shape[0];
  const px = channels * size * size;
  const src = x.data as Float32Array;
  let elboSum = 0;
  let iwaeSum = 0;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const xb: NDArray = {
      dtype: 'float32',
      shape: [b, channels, size, size],
      data: src.subarray(start * px, (start + b) * px),
    };
    // running log-sum-exp of the log-weights per image, and their plain sum (for the ELBO)
    const lse = new Float64Array(b).fill(-Infinity);
    const tot = new Float64Array(b);
    for (let c = 0; c < k / chunk; c++) {
      const key: NDArray = {
        dtype: 'int64',
        shape: [],
        data: BigInt64Array.of(BigInt(mixSeed(opts.seed ?? 0, start, c))),
      };
      const lw = (await run(xb, key)).data as Float32Array; // [b, chunk]
      for (let i = 0; i < b; i++) {
        let m = lse[i];
        for (let j = 0; j < chunk; j++) m = Math.max(m, lw[i * chunk + j]);
        let s = Number.isFinite(lse[i]) ? Math.exp(lse[i] - m) : 0;
        for (let j = 0; j < chunk; j++) {
          s += Math.exp(lw[i * chunk + j] - m);
          tot[i] += lw[i * chunk + j];
        }
        lse[i] = m + Math.log(s);
      }
    }
    for (let i = 0; i < b; i++) {
      elboSum += tot[i] / k;
      iwaeSum += lse[i] - Math.log(k);
    }
    opts.onProgress?.(start + b, n);
  }
  return { elbo: elboSum / n, iwae: iwaeSum / n, k, images: n };
}

function largestDivisorAtMost(k: number, cap: number): number {
  for (let d = Math.min(k, cap); d >= 1; d--) if (k % d === 0) return d;
  return 1;
}
