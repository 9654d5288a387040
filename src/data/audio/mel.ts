// Mel filterbanks and log-mel spectrograms. Two mel scales:
//   'htk'    mel = 2595·log10(1 + f/700)                        (HTK; torchaudio's default)
//   'slaney' linear below 1 kHz (f/(200/3)), logarithmic above  (Auditory Toolbox; librosa's default)
// `norm: 'slaney'` scales each triangle to unit area (2 / bandwidth), as librosa and torchaudio do.
import type { NDArray } from '../../graph/ndarray.js';
import { spectrogram, type StftOptions } from './stft.js';

/**
 * The mel scale: 'htk' (2595·log10(1 + f/700), torchaudio's default) or 'slaney' (linear below 1 kHz, logarithmic
 * above; librosa's default).
 */
export type MelScale = 'htk' | 'slaney';

const SLANEY_F_SP = 200 / 3;
const SLANEY_MIN_LOG_HZ = 1000;
const SLANEY_MIN_LOG_MEL = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
const SLANEY_LOGSTEP = Math.log(6.4) / 27;

/** Converts a frequency in Hz to mels on the given scale. */
export function hzToMel(f: number, scale: MelScale): number {
  if (scale === 'htk') return 2595 * Math.log10(1 + f / 700);
  return f < SLANEY_MIN_LOG_HZ
    ? f / SLANEY_F_SP
    : SLANEY_MIN_LOG_MEL + Math.log(f / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
}

/** Converts mels back to a frequency in Hz on the given scale (the inverse of {@link hzToMel}). */
export function melToHz(m: number, scale: MelScale): number {
  if (scale === 'htk') return 700 * (10 ** (m / 2595) - 1);
  return m < SLANEY_MIN_LOG_MEL
    ? m * SLANEY_F_SP
    : SLANEY_MIN_LOG_HZ * Math.exp(SLANEY_LOGSTEP * (m - SLANEY_MIN_LOG_MEL));
}

/**
 * Options of {@link melFilterbank}: sample rate (Hz), FFT size, number of mel bands, band edges fMin (default 0 Hz) and
 * fMax, the mel scale and the triangle normalisation.
 */
export interface MelOptions {
  readonly sampleRate: number;
  readonly nFft: number;
  readonly nMels: number;
  readonly fMin?: number;
  /** Default sampleRate / 2. */
  readonly fMax?: number;
  /** Default 'htk'. */
  readonly scale?: MelScale;
  /** Default 'none'. */
  readonly norm?: 'slaney' | 'none';
}

/** Triangular filters, float32 [nMels, nFft/2 + 1]. */
export function melFilterbank(o: MelOptions): NDArray<'float32'> {
  const scale = o.scale ?? 'htk';
  const bins = (o.nFft >> 1) + 1;
  const fMin = o.fMin ?? 0;
  const fMax = o.fMax ?? o.sampleRate / 2;
  if (!(fMin >= 0 && fMax > fMin && fMax <= o.sampleRate / 2))
    throw new Error(`melFilterbank: need 0 ≤ fMin < fMax ≤ sampleRate/2, got ${fMin}, ${fMax}`);
  const [m0, m1] = [hzToMel(fMin, scale), hzToMel(fMax, scale)];
  const pts = Float64Array.from({ length: o.nMels + 2 }, (_, i) =>
    melToHz(m0 + ((m1 - m0) * i) / (o.nMels + 1), scale),
  );
  const out = new Float32Array(o.nMels * bins);
  for (let m = 0; m < o.nMels; m++) {
    const [lo, mid, hi] = [pts[m], pts[m + 1], pts[m + 2]];
    const enorm = o.norm === 'slaney' ? 2 / (hi - lo) : 1;
    for (let k = 0; k < bins; k++) {
      const f = (k * o.sampleRate) / 2 / (bins - 1);
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      out[m * bins + k] = w * enorm;
    }
  }
  return { dtype: 'float32', shape: [o.nMels, bins], data: out };
}

/**
 * Options of {@link logMelSpectrogram}: the STFT options plus the mel filterbank options (nFft comes from the STFT) and
 * the floor before the log.
 */
export interface LogMelOptions extends StftOptions, Omit<MelOptions, 'nFft'> {
  /** Values below `floor` are clamped before the log (default 1e-10). */
  readonly floor?: number;
}

/** ln(max(mel · |STFT|², floor)) as float32 [nMels, frames]. */
export function logMelSpectrogram(signal: ArrayLike<number>, o: LogMelOptions): NDArray<'float32'> {
  const spec = spectrogram(signal, { ...o, power: 2 });
  const fb = melFilterbank(o);
  const [bins, frames] = spec.shape;
  const floor = o.floor ?? 1e-10;
  const out = new Float32Array(o.nMels * frames);
  for (let m = 0; m < o.nMels; m++)
    for (let t = 0; t < frames; t++) {
      let s = 0;
      for (let k = 0; k < bins; k++) s += fb.data[m * bins + k] * spec.data[k * frames + t];
      out[m * frames + t] = Math.log(Math.max(s, floor));
    }
  return { dtype: 'float32', shape: [o.nMels, frames], data: out };
}
