// Calibration statistics of one tensor and the three ways to turn them into a quantization range:
//  - minmax: the observed [min, max] (every value representable, outliers stretch the scale);
//  - percentile: the [(100 − p)-th, p-th] percentile of the values (p = 99.999 by default), outliers clipped;
//  - entropy: the clipping threshold t on |x| whose quantized distribution is closest to the observed one in
//    Kullback–Leibler divergence (Migacz, "8-bit Inference with TensorRT", GTC 2017): for every candidate t the
//    histogram of |x| up to t (the tail folded into the last bin) is merged into the number of levels the range
//    has — 256 for a non-negative tensor, 128 per side for a signed one — and expanded back over the bins that were
//    non-empty; the t of least KL(P‖Q) wins.
// Histograms span the [min, max] found by a first pass over the calibration set, so the bins are fixed and every
// batch adds into the same counts.

/**
 * How a calibrated range is chosen: `minmax` (the observed extremes), `percentile` (clip to a percentile of a
 * histogram) or `entropy` (the clipping threshold minimising the KL divergence of the quantized distribution).
 */
export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

/** Running min and max. */
export class MinMax {
  min = Infinity;
  max = -Infinity;
  /** Widens the running min and max to include every value of `data`. */
  add(data: ArrayLike<number>): void {
    let lo = this.min,
      hi = this.max;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }
}

/** Counts of values in `bins` equal-width bins over [lo, hi] (values outside land in the end bins). */
export class Histogram {
  readonly counts: Float64Array;
  constructor(
    readonly lo: number,
    readonly hi: number,
    bins = 2048,
  ) {
    if (!(hi >= lo)) throw new Error(`histogram: empty range [${lo}, ${hi}]`);
    this.counts = new Float64Array(bins);
  }
  get width(): number {
    return (this.hi - this.lo) / this.counts.length || 1;
  }
  /**
   * Counts every value of `data` (its absolute value when `abs`) into its bin; values outside [lo, hi] go to the end
   * bins.
   */
  add(data: ArrayLike<number>, abs = false): void {
    const n = this.counts.length,
      lo = this.lo,
      inv = 1 / this.width;
    for (let i = 0; i < data.length; i++) {
      const v = abs ? Math.abs(data[i]) : data[i];
      const k = Math.floor((v - lo) * inv);
      this.counts[k < 0 ? 0 : k >= n ? n - 1 : k]++;
    }
  }
  get total(): number {
    let s = 0;
    for (const c of this.counts) s += c;
    return s;
  }
}

/** The value below which a fraction `q` of the histogram's mass lies (linear within a bin). */
export function histogramQuantile(h: Histogram, q: number): number {
  const target = q * h.total;
  let acc = 0;
  for (let k = 0; k < h.counts.length; k++) {
    const c = h.counts[k];
    if (acc + c >= target && c > 0) return h.lo + (k + (target - acc) / c) * h.width;
    acc += c;
  }
  return h.hi;
}

/** [(100 − p)-th, p-th] percentile range of a histogram of signed values. */
export function percentileRange(h: Histogram, percentile: number): [number, number] {
  if (!(percentile > 50 && percentile <= 100))
    throw new Error(`percentile: expected a value in (50, 100], got ${percentile}`);
  const p = percentile / 100;
  return [histogramQuantile(h, 1 - p), histogramQuantile(h, p)];
}

function klDivergence(p: Float64Array, q: Float64Array): number {
  let sp = 0,
    sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i];
    sq += q[i];
  }
  if (sp === 0 || sq === 0) return Infinity;
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    if (q[i] === 0) return Infinity;
    const a = p[i] / sp;
    d += a * Math.log(a / (q[i] / sq));
  }
  return d;
}

/**
 * The KL-optimal clipping threshold on |x| from a histogram of |x| over [0, absmax], for a range quantized to
 * `levels` levels (128 for a signed symmetric side, 256 for a non-negative tensor).
 */
export function entropyThreshold(absHist: Histogram, levels: number): number {
  const bins = absHist.counts;
  const n = bins.length;
  if (n <= levels) return absHist.hi;
  let best = Infinity;
  let bestI = n;
  for (let i = levels; i <= n; i++) {
    // reference P: the first i bins, with the clipped tail folded into the last one
    const p = Float64Array.from(bins.subarray(0, i));
    for (let k = i; k < n; k++) p[i - 1] += bins[k];
    // candidate Q: the i bins merged into `levels` groups, each group's mass spread back over its non-empty bins
    const q = new Float64Array(i);
    const per = i / levels;
    for (let j = 0; j < levels; j++) {
      const start = Math.floor(j * per);
      const end = j === levels - 1 ? i : Math.floor((j + 1) * per);
      let sum = 0,
        nonzero = 0;
      for (let k = start; k < end; k++) {
        sum += bins[k];
        if (bins[k] !== 0) nonzero++;
      }
      if (nonzero === 0) continue;
      for (let k = start; k < end; k++) if (bins[k] !== 0) q[k] = sum / nonzero;
    }
    const d = klDivergence(p, q);
    if (d < best) {
      best = d;
      bestI = i;
    }
  }
  return absHist.lo + bestI * absHist.width;
}
