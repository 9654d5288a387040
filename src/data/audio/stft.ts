// Short-time Fourier transform with torch.stft's conventions: periodic Hann window of `winLength` centred in
// `nFft`, optional centre padding (reflect), one-sided output laid out [bins, frames].
import type { NDArray } from '../../graph/ndarray.js';
import { fft } from './fft.js';

/** Options of {@link stft} (torch.stft's conventions): FFT size, hop, window length, and centre padding. */
export interface StftOptions {
  /** FFT size (any length ≥ 2; powers of two are fastest). */
  readonly nFft: number;
  /** Hop between frames (default nFft / 4). */
  readonly hop?: number;
  /** Window length ≤ nFft (default nFft); the window is zero-padded to nFft, centred. */
  readonly winLength?: number;
  /** Pad nFft/2 on both sides so frame t is centred on sample t·hop (default true), by reflection (default) or zeros. */
  readonly center?: boolean;
  readonly padMode?: 'reflect' | 'constant';
}

/** Periodic Hann window (torch.hann_window's default). */
export function hannWindow(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
}

/** A one-sided short-time Fourier transform: `bins` = nFft/2 + 1 frequency bins by `frames` time frames. */
export interface Stft {
  readonly bins: number;
  readonly frames: number;
  /** Real and imaginary parts, [bins, frames] row-major. */
  readonly re: Float64Array;
  readonly im: Float64Array;
}

/**
 * Short-time Fourier transform of a real signal with a periodic Hann window, one-sided, [bins, frames]; throws if
 * winLength is not in [1, nFft], hop < 1, or the signal is too short for nFft (or for reflect padding).
 */
export function stft(signal: ArrayLike<number>, o: StftOptions): Stft {
  const nFft = o.nFft;
  const hop = o.hop ?? nFft >> 2;
  const winLength = o.winLength ?? nFft;
  if (!(winLength >= 1 && winLength <= nFft))
    throw new Error(`stft: winLength ${winLength} must be in [1, nFft=${nFft}]`);
  if (!(hop >= 1)) throw new Error(`stft: hop must be ≥ 1, got ${hop}`);
  const win = new Float64Array(nFft);
  win.set(hannWindow(winLength), (nFft - winLength) >> 1);
  const pad = o.center === false ? 0 : nFft >> 1;
  const n = signal.length;
  if (pad && o.padMode !== 'constant' && n <= pad)
    throw new Error(`stft: reflect padding needs more than ${pad} samples, got ${n}`);
  const at = (i: number): number => {
    let k = i - pad;
    if (k >= 0 && k < n) return signal[k];
    if (o.padMode === 'constant') return 0;
    if (k < 0) k = -k;
    if (k >= n) k = 2 * (n - 1) - k;
    return signal[k];
  };
  const total = n + 2 * pad;
  if (total < nFft) throw new Error(`stft: signal of ${n} samples is shorter than nFft=${nFft}`);
  const frames = 1 + Math.floor((total - nFft) / hop);
  const bins = (nFft >> 1) + 1;
  const re = new Float64Array(bins * frames);
  const im = new Float64Array(bins * frames);
  const fr = new Float64Array(nFft);
  const fi = new Float64Array(nFft);
  for (let t = 0; t < frames; t++) {
    for (let i = 0; i < nFft; i++) {
      fr[i] = at(t * hop + i) * win[i];
      fi[i] = 0;
    }
    fft(fr, fi);
    for (let k = 0; k < bins; k++) {
      re[k * frames + t] = fr[k];
      im[k * frames + t] = fi[k];
    }
  }
  return { bins, frames, re, im };
}

/** |STFT|^power as float32 [bins, frames] (power 2: power spectrogram, 1: magnitude). */
export function spectrogram(
  signal: ArrayLike<number>,
  o: StftOptions & { readonly power?: 1 | 2 },
): NDArray<'float32'> {
  const s = stft(signal, o);
  const out = new Float32Array(s.re.length);
  for (let i = 0; i < out.length; i++) {
    const p = s.re[i] * s.re[i] + s.im[i] * s.im[i];
    out[i] = o.power === 1 ? Math.sqrt(p) : p;
  }
  return { dtype: 'float32', shape: [s.bins, s.frames], data: out };
}
