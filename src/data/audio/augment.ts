// Audio augmentation: SpecAugment masks on spectrograms, and noise and time shift on waveforms.
import { normal } from '../random.js';
import type { NDArray } from '../../graph/ndarray.js';
import { withDefaults, type ArrayTransform } from '../transforms/transform.js';

function asFloat(name: string, a: NDArray, ranks: readonly number[]): NDArray<'float32'> {
  if (a.dtype !== 'float32') throw new Error(`${name}: input is ${a.dtype}, expected float32`);
  if (!ranks.includes(a.shape.length))
    throw new Error(`${name}: input has shape [${a.shape}], expected rank ${ranks.join(' or ')}`);
  return a as NDArray<'float32'>;
}

/**
 * Options of {@link specAugment}: mask counts and maximum widths (defaults: 2 frequency masks up to 8 bins, 2 time
 * masks up to 20 frames) and the fill value (default 0).
 */
export interface SpecAugmentOptions {
  /** Number of frequency masks and their maximum width in bins (width uniform in [0, freqWidth]). */
  readonly freqMasks?: number;
  readonly freqWidth?: number;
  readonly timeMasks?: number;
  readonly timeWidth?: number;
  /** Masked value (default 0; use the spectrogram's mean for log-mel inputs if preferred). */
  readonly fill?: number;
}
/** SpecAugment (Park et al. 2019) frequency and time masking on [F, T] or [C, F, T]; no time warping. */
export function specAugment(options?: SpecAugmentOptions): ArrayTransform {
  const o = withDefaults<SpecAugmentOptions>(
    'specAugment',
    { freqMasks: 2, freqWidth: 8, timeMasks: 2, timeWidth: 20, fill: 0 },
    options,
  );
  return function specAugment(a, ctx) {
    const x = asFloat('specAugment', a, [2, 3]);
    const [f, t] = x.shape.slice(-2);
    const planes = x.data.length / (f * t);
    const out = x.data.slice();
    const span = (max: number, size: number): [number, number] => {
      const w = Math.floor(ctx.random() * (Math.min(max, size) + 1));
      const s = Math.floor(ctx.random() * (size - w + 1));
      return [s, s + w];
    };
    for (let m = 0; m < o.freqMasks; m++) {
      const [s, e] = span(o.freqWidth, f);
      for (let p = 0; p < planes; p++) out.fill(o.fill, (p * f + s) * t, (p * f + e) * t);
    }
    for (let m = 0; m < o.timeMasks; m++) {
      const [s, e] = span(o.timeWidth, t);
      for (let p = 0; p < planes * f; p++) out.fill(o.fill, p * t + s, p * t + e);
    }
    return { dtype: 'float32', shape: [...x.shape], data: out };
  };
}

/** Options of {@link addNoise}: a fixed noise standard deviation, or a target SNR in dB. */
export interface NoiseOptions {
  /** Gaussian noise standard deviation (default 0.005), or ... */
  readonly std?: number;
  /** ... a signal-to-noise ratio in dB, which overrides std when given (default: unused, NaN). */
  readonly snrDb?: number;
}
/** Adds white Gaussian noise to a waveform [N] or [C, N]. */
export function addNoise(options?: NoiseOptions): ArrayTransform {
  const o = withDefaults<NoiseOptions>('addNoise', { std: 0.005, snrDb: NaN }, options);
  return function addNoise(a, ctx) {
    const x = asFloat('addNoise', a, [1, 2]);
    let std = o.std;
    if (!Number.isNaN(o.snrDb)) {
      const power = x.data.reduce((s, v) => s + v * v, 0) / x.data.length;
      std = Math.sqrt(power / 10 ** (o.snrDb / 10));
    }
    const out = Float32Array.from(x.data, (v) => v + std * normal(ctx.random));
    return { dtype: 'float32', shape: [...x.shape], data: out };
  };
}

/** Options of {@link timeShift}: the maximum shift in samples, and whether the signal wraps around. */
export interface TimeShiftOptions {
  /** Shift uniform in [-max, max] samples. */
  readonly max: number;
  /** Rotate (true) or fill the vacated samples with zeros (false, default). */
  readonly roll?: boolean;
}
/** Shifts a waveform [N] or [C, N] in time. */
export function timeShift(options: TimeShiftOptions): ArrayTransform {
  const o = withDefaults<TimeShiftOptions>('timeShift', { max: 0, roll: false }, options);
  return function timeShift(a, ctx) {
    const x = asFloat('timeShift', a, [1, 2]);
    const n = x.shape[x.shape.length - 1];
    const shift = Math.floor(ctx.random() * (2 * o.max + 1)) - o.max;
    const out = new Float32Array(x.data.length);
    for (let c = 0; c < x.data.length / n; c++)
      for (let i = 0; i < n; i++) {
        let j = i - shift;
        if (o.roll) j = ((j % n) + n) % n;
        if (j >= 0 && j < n) out[c * n + i] = x.data[c * n + j];
      }
    return { dtype: 'float32', shape: [...x.shape], data: out };
  };
}
