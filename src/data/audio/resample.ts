// Band-limited resampling by windowed sinc: each output sample is a Hann-windowed sinc interpolation of the
// input, with the cutoff at the lower Nyquist frequency (times `rolloff`) so downsampling does not alias.

/** Options of {@link resample}: the sinc kernel's width in zero crossings and its cutoff. */
export interface ResampleOptions {
  /** Zero crossings of the sinc on each side (default 16: sharper cutoff, more work; torchaudio's lowpass_filter_width). */
  readonly zeros?: number;
  /** Cutoff as a fraction of the lower Nyquist frequency (default 0.945). */
  readonly rolloff?: number;
}

/** Throws unless `zeros` is an integer ≥ 1 and 0 < rolloff ≤ 1. */
export function checkResampleOptions(o: ResampleOptions): void {
  if (o.zeros !== undefined && !(Number.isInteger(o.zeros) && o.zeros >= 1))
    throw new Error(`resample: zeros must be an integer ≥ 1, got ${o.zeros}`);
  if (o.rolloff !== undefined && !(o.rolloff > 0 && o.rolloff <= 1))
    throw new Error(`resample: rolloff must be in (0, 1], got ${o.rolloff}`);
}

/**
 * Resamples a signal from `fromRate` to `toRate` Hz by Hann-windowed sinc interpolation (band-limited, so downsampling
 * does not alias); returns ceil(n·toRate/fromRate) samples (a copy when the rates are equal); throws unless both rates
 * are > 0.
 */
export function resample(
  signal: ArrayLike<number>,
  fromRate: number,
  toRate: number,
  o: ResampleOptions = {},
): Float32Array {
  if (!(fromRate > 0 && toRate > 0)) throw new Error(`resample: rates must be > 0, got ${fromRate} → ${toRate}`);
  checkResampleOptions(o);
  const n = signal.length;
  const outLen = Math.ceil((n * toRate) / fromRate);
  if (fromRate === toRate) return Float32Array.from(signal);
  const cutoff = Math.min(1, toRate / fromRate) * (o.rolloff ?? 0.945); // in cycles per input sample × 2
  const zeros = o.zeros ?? 16;
  const width = zeros / cutoff; // half-width of the kernel in input samples
  const out = new Float32Array(outLen);
  for (let m = 0; m < outLen; m++) {
    const t = (m * fromRate) / toRate; // position in input samples
    let s = 0;
    for (let k = Math.max(0, Math.ceil(t - width)); k <= Math.min(n - 1, Math.floor(t + width)); k++) {
      const d = t - k;
      const x = cutoff * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const win = 0.5 + 0.5 * Math.cos((Math.PI * d) / width);
      s += signal[k] * cutoff * sinc * win;
    }
    out[m] = s;
  }
  return out;
}
