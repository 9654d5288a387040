// Parzen (kernel density) estimator of TPE: a weighted mixture of truncated normals (numbers) and smoothed
// one-hot kernels (categories), plus a prior kernel. Univariate mode sets each kernel's width from its
// neighbours (Optuna's rule with the "magic clip"); multivariate mode uses Scott-like widths shared by all kernels.
// With `bandwidthWeighted` (TPE's default) a continuous kernel is scored by its height, not its unit-mass density:
// its weight in the mixture grows with its bandwidth. That is what Optuna 3.1–3.4 compute (their truncated-normal
// logpdf omits −log σ, optuna#5109) and it finds better points on every benchmark in docs/tune.md.
// Everything is typed arrays and one pass per candidate, so 5,000 observations cost a few milliseconds.
import type { Rng } from '../../util/random.js';
import { LOG_SQRT_2PI, logDiffPhi } from './normal.js';

export type ParzenDim =
  | {
      readonly kind: 'num';
      readonly low: number;
      readonly high: number /** bin width in model space; null = continuous */;
      readonly step: number | null;
    }
  | { readonly kind: 'cat'; readonly n: number };

export interface ParzenOptions {
  readonly priorWeight: number;
  readonly magicClip: boolean;
  readonly endpoints: boolean;
  readonly multivariate: boolean;
  /** Score continuous kernels by height (mixture weight ∝ weight × bandwidth) instead of unit-mass density. */
  readonly bandwidthWeighted: boolean;
}

interface NumKernels {
  readonly mu: Float64Array;
  readonly sigma: Float64Array;
  /** −log σ − log √(2π) − log Z (continuous; without −log σ when bandwidth-weighted) or −log Z (discrete). */
  readonly c: Float64Array;
  readonly invSigma: Float64Array;
}

interface CatKernels {
  /** [kernel * n + choice] → log probability. */
  readonly logp: Float64Array;
  readonly p: Float64Array;
}

export class Parzen {
  /** Number of kernels (observations + prior). */
  readonly k: number;
  private readonly logW: Float64Array;
  private readonly w: Float64Array;
  private readonly kernels: (NumKernels | CatKernels)[];

  /**
   * @param obs one Float64Array per dimension (model space: log-transformed for log scales, index for categories)
   * @param weights one weight per observation (the prior's weight is added here)
   */
  constructor(
    private readonly dims: readonly ParzenDim[],
    obs: readonly Float64Array[],
    weights: Float64Array,
    opts: ParzenOptions,
  ) {
    const m = weights.length;
    this.k = m + 1;
    this.w = new Float64Array(this.k);
    let total = 0;
    for (let i = 0; i < m; i++) total += this.w[i] = weights[i];
    total += this.w[m] = opts.priorWeight;
    this.logW = new Float64Array(this.k);
    for (let i = 0; i < this.k; i++) this.logW[i] = Math.log((this.w[i] /= total));
    this.kernels = dims.map((d, j) =>
      d.kind === 'num' ? numKernels(d, obs[j], m, dims.length, opts) : catKernels(d.n, obs[j], m, opts.priorWeight),
    );
  }

  /** `count` samples, one Float64Array per dimension (model space, discrete values on their grid). */
  sample(rng: Rng, count: number): Float64Array[] {
    const out = this.dims.map(() => new Float64Array(count));
    for (let s = 0; s < count; s++) {
      const k = rng.choice(this.w);
      for (let j = 0; j < this.dims.length; j++) {
        const d = this.dims[j];
        if (d.kind === 'cat') {
          const p = (this.kernels[j] as CatKernels).p.subarray(k * d.n, (k + 1) * d.n);
          out[j][s] = rng.choice(p);
          continue;
        }
        const kn = this.kernels[j] as NumKernels;
        let x: number;
        let tries = 0;
        do x = kn.mu[k] + kn.sigma[k] * rng.normal();
        while ((x < d.low || x > d.high) && ++tries < 100);
        x = Math.min(d.high, Math.max(d.low, x));
        if (d.step !== null)
          x = Math.min(
            d.high - d.step / 2,
            Math.max(d.low + d.step / 2, d.low + d.step / 2 + Math.round((x - d.low - d.step / 2) / d.step) * d.step),
          );
        out[j][s] = x;
      }
    }
    return out;
  }

  /** log density (log mass for discrete dimensions) of each sample under the mixture. */
  logPdf(xs: readonly Float64Array[], count: number): Float64Array {
    const out = new Float64Array(count);
    const acc = new Float64Array(this.k);
    for (let s = 0; s < count; s++) {
      acc.set(this.logW);
      for (let j = 0; j < this.dims.length; j++) {
        const d = this.dims[j];
        const x = xs[j][s];
        if (d.kind === 'cat') {
          const lp = (this.kernels[j] as CatKernels).logp;
          for (let k = 0, o = x; k < this.k; k++, o += d.n) acc[k] += lp[o];
        } else if (d.step === null) {
          const { mu, invSigma, c } = this.kernels[j] as NumKernels;
          for (let k = 0; k < this.k; k++) {
            const z = (x - mu[k]) * invSigma[k];
            acc[k] += c[k] - 0.5 * z * z;
          }
        } else {
          const { mu, invSigma, c } = this.kernels[j] as NumKernels;
          const h = d.step / 2;
          for (let k = 0; k < this.k; k++)
            acc[k] += c[k] + logDiffPhi((x - h - mu[k]) * invSigma[k], (x + h - mu[k]) * invSigma[k]);
        }
      }
      let max = -Infinity;
      for (let k = 0; k < this.k; k++) if (acc[k] > max) max = acc[k];
      if (max === -Infinity) {
        out[s] = -Infinity;
        continue;
      }
      // Skip the exp of kernels below e^-40 of the largest (most of a 5,000-kernel mixture at any one point):
      // together they change the log density by less than k·e^-40 (2e-14 for 5,000 kernels).
      const floor = max - 40;
      let sum = 0;
      for (let k = 0; k < this.k; k++) if (acc[k] > floor) sum += Math.exp(acc[k] - max);
      out[s] = max + Math.log(sum);
    }
    return out;
  }
}

function numKernels(
  d: Extract<ParzenDim, { kind: 'num' }>,
  obs: Float64Array,
  m: number,
  nDims: number,
  opts: ParzenOptions,
): NumKernels {
  const k = m + 1;
  const range = d.high - d.low;
  const mu = new Float64Array(k);
  mu.set(obs.subarray(0, m));
  mu[m] = 0.5 * (d.low + d.high);
  const sigma = new Float64Array(k);
  if (opts.multivariate) {
    sigma.fill(0.2 * Math.max(m, 1) ** (-1 / (nDims + 4)) * range);
  } else {
    // Width = the larger gap to a neighbour (prior included, endpoints as neighbours), in sorted order.
    const order = new Uint32Array(k);
    for (let i = 0; i < k; i++) order[i] = i;
    order.sort((a, b) => mu[a] - mu[b]);
    for (let r = 0; r < k; r++) {
      const left = r === 0 ? d.low : mu[order[r - 1]];
      const right = r === k - 1 ? d.high : mu[order[r + 1]];
      const x = mu[order[r]];
      sigma[order[r]] = Math.max(x - left, right - x);
    }
    if (!opts.endpoints && k >= 2) {
      sigma[order[0]] = mu[order[1]] - mu[order[0]];
      sigma[order[k - 1]] = mu[order[k - 1]] - mu[order[k - 2]];
    }
  }
  const maxSigma = range;
  const minSigma = opts.magicClip ? range / Math.min(100, 1 + k) : 1e-12;
  for (let i = 0; i < k; i++) sigma[i] = Math.min(maxSigma, Math.max(minSigma, sigma[i]));
  sigma[m] = range; // the prior
  const invSigma = new Float64Array(k);
  const c = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    invSigma[i] = 1 / sigma[i];
    const logZ = logDiffPhi((d.low - mu[i]) * invSigma[i], (d.high - mu[i]) * invSigma[i]);
    c[i] = (d.step === null ? (opts.bandwidthWeighted ? 0 : -Math.log(sigma[i])) - LOG_SQRT_2PI : 0) - logZ;
  }
  return { mu, sigma, c, invSigma };
}

function catKernels(n: number, obs: Float64Array, m: number, priorWeight: number): CatKernels {
  const k = m + 1;
  const p = new Float64Array(k * n);
  const base = priorWeight / k;
  for (let i = 0; i < m; i++) {
    const row = p.subarray(i * n, (i + 1) * n);
    row.fill(base);
    row[obs[i]] += 1;
    const s = 1 + n * base;
    for (let c = 0; c < n; c++) row[c] /= s;
  }
  p.subarray(m * n).fill(1 / n);
  const logp = p.map(Math.log);
  return { logp, p };
}
