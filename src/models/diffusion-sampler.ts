// Sampling from a diffusion denoiser: DDPM's ancestral sampler over all T steps and DDIM (Song et al. 2021) over any
// sub-sequence of timesteps, deterministic at eta = 0, with classifier-free guidance (Ho & Salimans 2022):
// pred = (1 + w)·pred(x, y) − w·pred(x, ∅). Each step is ONE run of the exported denoiser (models/ddpm.ts forward,
// an ONNX graph traced once); with guidance the conditional and unconditional halves go through it as one doubled
// batch. The update arithmetic (a few multiply-adds per pixel) runs here in JS, in float64 per element.
import * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import { mixSeed, normal, Rng } from '../util/random.js';
import type { GenerativeInfo } from './generative.js';
import { noiseSchedule, type NoiseSchedule } from './noise-schedule.js';

type DiffusionInfo = Extract<GenerativeInfo, { kind: 'diffusion' }>;

/** The denoiser: prediction (ε or v) for x_t [n, C, H, W], timesteps t [n] and labels y [n] (conditional models). */
export type Denoiser = (
  x: Float32Array,
  t: Float32Array,
  y: BigInt64Array | undefined,
  n: number,
) => Promise<Float32Array>;

/**
 * Options of {@link sampleDiffusion}: how many images, the sampler (default 'ddim') and its steps, guidance, labels,
 * seed and batch; throws if `n` is not a positive integer, a label is not a class of the model, or guidance is asked of
 * an unconditional model.
 */
export interface DiffusionSampleOptions {
  /** Images to draw. */
  readonly n: number;
  /** Denoising steps (DDIM; DDPM always takes all T). Default 50. */
  readonly steps?: number;
  readonly sampler?: 'ddim' | 'ddpm';
  /** DDIM's noise scale: 0 deterministic (default), 1 equals DDPM's ancestral update at steps = T. */
  readonly eta?: number;
  /** Classifier-free guidance scale w (conditional models; default 0: the conditional model alone). */
  readonly guidance?: number;
  /** Labels: one class for every image, or one per image; default: classes in turn (0, 1, …). */
  readonly labels?: number | readonly number[];
  readonly seed?: number;
  /** Images per denoiser run (default 64; doubled inside with guidance). */
  readonly batch?: number;
  /**
   * Clip the predicted x̂_0 to [−1, 1] at every step and re-derive ε from it (DDPM's reference code and diffusers'
   * `clip_sample`, default true): without it an imperfect ε at large t (x̂_0 = (x − √(1 − ᾱ)·ε)/√ᾱ divides by √ᾱ ≈ 0.006)
   * saturates the samples.
   */
  readonly clipSample?: boolean;
  /** Called after each denoiser run with the runs done and their total (batches × steps). */
  readonly onStep?: (done: number, total: number) => void;
}

/** x̂_0 clipped to [−1, 1] and the ε consistent with it: ε′ = (x − √ᾱ·x̂_0)/√(1 − ᾱ). */
export function clipPrediction(x: Float32Array, eps: Float32Array, alphaBar: number): Float32Array {
  const sa = Math.sqrt(alphaBar);
  const s1 = Math.sqrt(1 - alphaBar);
  return x.map((xi, i) => (xi - sa * Math.min(1, Math.max(-1, (xi - s1 * eps[i]) / sa))) / s1);
}

/** DDIM's timesteps for `steps` of T: evenly spaced from T − 1 down to 0, both included (all of them when steps = T; [T − 1] for one step). */
export function timestepSequence(T: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > T)
    throw new Error(`sample: steps must be an integer in [1, ${T}] (the model's T), got ${steps}`);
  if (steps === 1) return [T - 1];
  const ts = Array.from({ length: steps }, (_, i) => Math.round((i * (T - 1)) / (steps - 1)));
  return [...new Set(ts)].sort((a, b) => b - a);
}

/** ε from the network's prediction: ε itself, or from v: ε = √(1 − ᾱ)·x_t + √ᾱ·v. */
export function toEps(pred: Float32Array, x: Float32Array, alphaBar: number, prediction: 'eps' | 'v'): Float32Array {
  if (prediction === 'eps') return pred;
  const a = Math.sqrt(alphaBar);
  const b = Math.sqrt(1 - alphaBar);
  return pred.map((v, i) => b * x[i] + a * v);
}

/**
 * One DDIM update from ᾱ_t to ᾱ_prev: x̂_0 = (x − √(1 − ᾱ_t)·ε)/√ᾱ_t, σ = eta·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev),
 * x_prev = √ᾱ_prev·x̂_0 + √(1 − ᾱ_prev − σ²)·ε + σ·z.
 */
export function ddimStep(
  x: Float32Array,
  eps: Float32Array,
  abT: number,
  abPrev: number,
  eta: number,
  z?: Float32Array,
): Float32Array {
  const sigma = eta * Math.sqrt((1 - abPrev) / (1 - abT)) * Math.sqrt(1 - abT / abPrev);
  const dir = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma));
  const sa = Math.sqrt(abT);
  const s1 = Math.sqrt(1 - abT);
  const sp = Math.sqrt(abPrev);
  return x.map((xi, i) => sp * ((xi - s1 * eps[i]) / sa) + dir * eps[i] + (sigma > 0 && z ? sigma * z[i] : 0));
}

/**
 * One DDPM ancestral update at step t: x_{t−1} = (x − β_t/√(1 − ᾱ_t)·ε)/√α_t + σ_t·z, σ_t² = β_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t)
 * (the posterior variance β̃_t; no noise at t = 0).
 */
export function ddpmStep(
  x: Float32Array,
  eps: Float32Array,
  t: number,
  s: NoiseSchedule,
  z?: Float32Array,
): Float32Array {
  const beta = s.betas[t];
  const abPrev = t > 0 ? s.alphaBars[t - 1] : 1;
  const sigma = t > 0 ? Math.sqrt((beta * (1 - abPrev)) / (1 - s.alphaBars[t])) : 0;
  const c = beta / Math.sqrt(1 - s.alphaBars[t]);
  const r = 1 / Math.sqrt(s.alphas[t]);
  return x.map((xi, i) => r * (xi - c * eps[i]) + (sigma > 0 && z ? sigma * z[i] : 0));
}

function gaussian(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = normal(rng.stream);
  return out;
}

/** Draws `opts.n` images [n, C, H, W] in [−1, 1] from a denoiser described by `info`. */
export async function sampleDiffusion(
  denoise: Denoiser,
  info: DiffusionInfo,
  opts: DiffusionSampleOptions,
): Promise<NDArray<'float32'>> {
  const { channels, size, timesteps: T, classes } = info;
  const sched = noiseSchedule(info.schedule, T);
  const kind = opts.sampler ?? 'ddim';
  const ts = kind === 'ddpm' ? timestepSequence(T, T) : timestepSequence(T, opts.steps ?? 50);
  const eta = kind === 'ddpm' ? 1 : (opts.eta ?? 0);
  const w = opts.guidance ?? 0;
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new Error(`sample: n must be a positive integer, got ${opts.n}`);
  if (w !== 0 && classes === 0)
    throw new Error('sample: guidance needs a class-conditional model (this one has classes: 0)');
  const labelOf = (i: number): number =>
    typeof opts.labels === 'number' ? opts.labels : opts.labels ? opts.labels[i] : i % Math.max(1, classes);
  if (Array.isArray(opts.labels) && opts.labels.length !== opts.n)
    throw new Error(`sample: ${opts.labels.length} labels for n = ${opts.n}`);
  if (classes > 0)
    for (let i = 0; i < opts.n; i++) {
      const l = labelOf(i);
      if (!Number.isInteger(l) || l < 0 || l > classes)
        throw new Error(
          `sample: label ${l} is not a class of this model (0–${classes - 1}, or ${classes} for unconditional)`,
        );
    }
  const px = channels * size * size;
  const batch = opts.batch ?? 64;
  const out = new Float32Array(opts.n * px);
  const totalRuns = Math.ceil(opts.n / batch) * ts.length;
  let done = 0;
  for (let start = 0; start < opts.n; start += batch) {
    const b = Math.min(batch, opts.n - start);
    // each block of images has its own stream: the same seed gives the same images whatever the batch size…
    const rng = new Rng(mixSeed(opts.seed ?? 0, start));
    let x = gaussian(rng, b * px);
    const guided = classes > 0 && w !== 0;
    const rows = guided ? 2 * b : b;
    const y = classes > 0 ? new BigInt64Array(rows) : undefined;
    if (y)
      for (let i = 0; i < b; i++) {
        y[i] = BigInt(labelOf(start + i));
        if (guided) y[b + i] = BigInt(classes);
      }
    const tIn = new Float32Array(rows);
    for (let k = 0; k < ts.length; k++) {
      const t = ts[k];
      tIn.fill(t);
      let xin = x;
      if (guided) {
        xin = new Float32Array(2 * b * px);
        xin.set(x);
        xin.set(x, b * px);
      }
      const raw = await denoise(xin, tIn, y, rows);
      let pred = raw.subarray(0, b * px);
      if (guided) {
        const u = raw.subarray(b * px);
        pred = pred.map((c, i) => (1 + w) * c - w * u[i]);
      }
      let eps = toEps(pred, x, sched.alphaBars[t], info.prediction);
      if (opts.clipSample ?? true) eps = clipPrediction(x, eps, sched.alphaBars[t]);
      const z = t > 0 && eta > 0 ? gaussian(rng, b * px) : undefined;
      if (kind === 'ddpm') x = ddpmStep(x, eps, t, sched, z);
      else x = ddimStep(x, eps, sched.alphaBars[t], k + 1 < ts.length ? sched.alphaBars[ts[k + 1]] : 1, eta, z);
      opts.onStep?.(++done, totalRuns);
    }
    for (let i = 0; i < b * px; i++) out[start * px + i] = Math.min(1, Math.max(-1, x[i]));
  }
  return { dtype: 'float32', shape: [opts.n, channels, size, size], data: out };
}

/** A Denoiser over an ORT session of an exported DDPM (inputs x, timesteps and labels). */
export function sessionDenoiser(session: ort.InferenceSession, info: DiffusionInfo): Denoiser {
  const [xName, tName, yName] = session.inputNames;
  const out = session.outputNames[0];
  return async (x, t, y, n) => {
    const feeds: Record<string, ort.Tensor> = {
      [xName]: new ort.Tensor('float32', x, [n, info.channels, info.size, info.size]),
      [tName]: new ort.Tensor('float32', t, [n]),
    };
    if (info.classes > 0) {
      if (!yName || !y) throw new Error('sample: the denoiser of a class-conditional model needs a labels input');
      feeds[yName] = new ort.Tensor('int64', y, [n]);
    }
    const r = await session.run(feeds, [out]);
    return r[out].data as Float32Array;
  };
}
