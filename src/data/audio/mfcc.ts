// MFCC as torchaudio.transforms.MFCC computes it: a power mel spectrogram (MelSpectrogram's defaults: n_fft 400,
// hop = win_length / 2, 128 HTK mels, no filter norm), then either ln(mel + 1e-6) (`logMels`) or decibels
// 10·log10(max(mel, 1e-10)) floored at (max − topDb) over the whole spectrogram, then an orthonormal DCT-II keeping
// the first nMfcc coefficients. Checked against torchaudio 0.13 in test/data/mfcc.test.ts.
import type { NDArray } from '../../graph/ndarray.js';
import { melFilterbank, type MelScale } from './mel.js';
import { spectrogram } from './stft.js';

/**
 * Options of the MFCC feature extractor, matching torchaudio's MFCC / MelSpectrogram parameters; sizes are in samples.
 */
export interface MfccOptions {
  /** Default 16000. */
  readonly sampleRate?: number;
  /** Coefficients kept (default 40). */
  readonly nMfcc?: number;
  /** Default 400 (any size; see fft.ts). */
  readonly nFft?: number;
  /** Default winLength / 2 (torchaudio's MelSpectrogram default, not torch.stft's nFft / 4). */
  readonly hop?: number;
  /** Default nFft. */
  readonly winLength?: number;
  /** Default 128. */
  readonly nMels?: number;
  readonly fMin?: number;
  readonly fMax?: number;
  /** Mel scale (default 'htk'); torchaudio's mel_scale. */
  readonly scale?: MelScale;
  /** Filter normalisation (default 'none'). */
  readonly norm?: 'slaney' | 'none';
  readonly center?: boolean;
  readonly padMode?: 'reflect' | 'constant';
  /** ln(mel + 1e-6) instead of decibels (default false). */
  readonly logMels?: boolean;
  /** Dynamic range kept in decibels (default 80; torchaudio's AmplitudeToDB top_db). */
  readonly topDb?: number;
}

/** The orthonormal DCT-II matrix [nMfcc, nMels] (torchaudio's create_dct(n_mfcc, n_mels, 'ortho'), transposed). */
export function dctMatrix(nMfcc: number, nMels: number): Float64Array {
  const out = new Float64Array(nMfcc * nMels);
  for (let k = 0; k < nMfcc; k++) {
    const scale = k === 0 ? Math.sqrt(1 / nMels) : Math.sqrt(2 / nMels);
    for (let n = 0; n < nMels; n++) out[k * nMels + n] = scale * Math.cos((Math.PI / nMels) * (n + 0.5) * k);
  }
  return out;
}

/** MFCCs of a mono signal, float32 [nMfcc, frames]. */
export function mfcc(signal: ArrayLike<number>, o: MfccOptions = {}): NDArray<'float32'> {
  const sampleRate = o.sampleRate ?? 16000;
  const nFft = o.nFft ?? 400;
  const winLength = o.winLength ?? nFft;
  const nMels = o.nMels ?? 128;
  const nMfcc = o.nMfcc ?? 40;
  if (!(Number.isInteger(nMfcc) && nMfcc >= 1 && nMfcc <= nMels))
    throw new Error(`mfcc: nMfcc must be an integer in [1, nMels=${nMels}], got ${nMfcc}`);
  const spec = spectrogram(signal, {
    nFft,
    hop: o.hop ?? Math.floor(winLength / 2),
    winLength,
    center: o.center,
    padMode: o.padMode,
    power: 2,
  });
  const fb = melFilterbank({ sampleRate, nFft, nMels, fMin: o.fMin, fMax: o.fMax, scale: o.scale, norm: o.norm });
  const [bins, frames] = spec.shape;
  const mel = new Float64Array(nMels * frames);
  for (let m = 0; m < nMels; m++)
    for (let t = 0; t < frames; t++) {
      let s = 0;
      for (let k = 0; k < bins; k++) s += fb.data[m * bins + k] * spec.data[k * frames + t];
      mel[m * frames + t] = s;
    }
  if (o.logMels) for (let i = 0; i < mel.length; i++) mel[i] = Math.log(mel[i] + 1e-6);
  else {
    let top = -Infinity;
    for (let i = 0; i < mel.length; i++) top = Math.max(top, (mel[i] = 10 * Math.log10(Math.max(mel[i], 1e-10))));
    const floor = top - (o.topDb ?? 80);
    for (let i = 0; i < mel.length; i++) mel[i] = Math.max(mel[i], floor);
  }
  const dct = dctMatrix(nMfcc, nMels);
  const out = new Float32Array(nMfcc * frames);
  for (let k = 0; k < nMfcc; k++)
    for (let t = 0; t < frames; t++) {
      let s = 0;
      for (let m = 0; m < nMels; m++) s += dct[k * nMels + m] * mel[m * frames + t];
      out[k * frames + t] = s;
    }
  return { dtype: 'float32', shape: [nMfcc, frames], data: out };
}
