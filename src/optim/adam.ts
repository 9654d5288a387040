import { add, div, mul, pow, sqrt, sub } from '../graph/ops/elementwise.js';
import { scalar } from '../graph/ops/leaf.js';
import type { Optimizer } from './optimizer.js';

/** Options of {@link adam} and {@link adamw}, with torch.optim.Adam's names and defaults. */
export interface AdamOptions {
  /** Decay rate of the first-moment (mean) estimate (default 0.9). */
  readonly beta1?: number;
  /** Decay rate of the second-moment (uncentered variance) estimate (default 0.999). */
  readonly beta2?: number;
  /** Added to √v in the denominator for numerical stability (default 1e-8). */
  readonly eps?: number;
  /** Adam: L2 added to the gradient. AdamW: decoupled decay p ← p − lr·wd·p. */
  readonly weightDecay?: number;
  /** Decoupled weight decay, i.e. AdamW (default false); {@link adamw} sets it. */
  readonly decoupled?: boolean;
}

/** Adam (Kingma & Ba) exactly as torch.optim.Adam/AdamW compute it, bias corrections included. */
export function adam(opts: AdamOptions = {}): Optimizer {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0;
  const decoupled = opts.decoupled ?? false;
  return {
    name: decoupled ? 'adamw' : 'adam',
    slots: ['m', 'v'],
    config: { beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled },
    update(p0, g0, [m0, v0], s) {
      const dt = p0.dtype;
      const p = decoupled && wd ? sub(p0, mul(p0, mul(s.lr, wd))) : p0;
      const g = !decoupled && wd ? add(g0, mul(p0, wd)) : g0;
      // written to minimise elementwise passes (ORT fuses none of them): m and v as lerps, and the bias
      // corrections folded into two scalars computed once per step: p ← p − (lr·√bc2/bc1)·m / (√v + ε·√bc2),
      // algebraically identical to torch's p − lr/bc1 · m / (√v/√bc2 + ε)
      const m = add(m0, mul(sub(g, m0), 1 - b1));
      const v = add(v0, mul(sub(mul(g, g), v0), 1 - b2));
      const bc1 = sub(1, pow(scalar(b1, dt), s.step));
      const bc2 = sqrt(sub(1, pow(scalar(b2, dt), s.step)));
      const stepSize = div(mul(s.lr, bc2), bc1);
      const upd = mul(div(m, add(sqrt(v), mul(bc2, eps))), stepSize);
      return { param: sub(p, upd), state: [m, v] };
    },
  };
}

/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay p ← p − lr·wd·p, as torch.optim.AdamW; the weight
 * decay defaults to 0.01, the other options as {@link adam}.
 */
export const adamw = (opts: Omit<AdamOptions, 'decoupled'> = {}): Optimizer =>
  adam({ weightDecay: 0.01, ...opts, decoupled: true });
