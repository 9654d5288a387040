// Noise schedules of diffusion models: β_t for t = 0 … T−1 and the derived α_t = 1 − β_t, ᾱ_t = Π_{s≤t} α_s.
// 'linear' is DDPM's (Ho et al. 2020: β from 1e-4 to 0.02 over T = 1000, linspace over any T); 'cosine' is Nichol &
// Dhariwal's (2021): ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s)·π/2), s = 0.008, β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999).
// Host-side Float64Arrays: the training graph gathers from them as constants, the samplers read them in JS.

/** Diffusion noise schedule: 'linear' betas (Ho et al. 2020) or 'cosine' ᾱ (Nichol & Dhariwal 2021). */
export type ScheduleKind = 'linear' | 'cosine';

/**
 * A diffusion noise schedule over `steps` steps: β_t, α_t = 1 − β_t and their running product ᾱ_t, each of length
 * `steps`.
 */
export interface NoiseSchedule {
  readonly kind: ScheduleKind;
  readonly steps: number;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  /** ᾱ_t = Π_{s ≤ t} α_s. */
  readonly alphaBars: Float64Array;
}

/**
 * Parameters of {@link noiseSchedule}: the linear schedule's β range (default 1e-4 to 0.02) and the cosine schedule's
 * offset `s` (default 0.008).
 */
export interface ScheduleOptions {
  /** Linear schedule endpoints (DDPM's defaults). */
  readonly betaStart?: number;
  readonly betaEnd?: number;
  /** Cosine schedule offset. */
  readonly s?: number;
}

/** The schedule of `kind` over `steps` diffusion steps. */
export function noiseSchedule(kind: ScheduleKind, steps: number, opts: ScheduleOptions = {}): NoiseSchedule {
  if (!Number.isInteger(steps) || steps < 2)
    throw new Error(`noiseSchedule: steps must be an integer ≥ 2, got ${steps}`);
  const betas = new Float64Array(steps);
  if (kind === 'linear') {
    const b0 = opts.betaStart ?? 1e-4;
    const b1 = opts.betaEnd ?? 0.02;
    for (let t = 0; t < steps; t++) betas[t] = b0 + ((b1 - b0) * t) / (steps - 1);
  } else if (kind === 'cosine') {
    const s = opts.s ?? 0.008;
    const f = (t: number): number => Math.cos(((t / steps + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < steps; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), 0.999);
  } else {
    throw new Error(`noiseSchedule: unknown kind ${String(kind)} (linear or cosine)`);
  }
  const alphas = betas.map((b) => 1 - b);
  const alphaBars = new Float64Array(steps);
  let prod = 1;
  for (let t = 0; t < steps; t++) alphaBars[t] = prod *= alphas[t];
  return { kind, steps, betas, alphas, alphaBars };
}
