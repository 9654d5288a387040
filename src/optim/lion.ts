import { add, mul, sign, sub } from '../graph/ops/elementwise.js';
import type { Optimizer } from './optimizer.js';

/** Lion (Chen et al. 2023): sign of an interpolated momentum, decoupled weight decay. */
export function lion(opts: { beta1?: number; beta2?: number; weightDecay?: number } = {}): Optimizer {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.99;
  const wd = opts.weightDecay ?? 0;
  return {
    name: 'lion',
    slots: ['m'],
    config: { beta1: b1, beta2: b2, weightDecay: wd },
    update(p0, g, [m0], s) {
      const p = wd ? sub(p0, mul(p0, mul(s.lr, wd))) : p0;
      const c = add(mul(m0, b1), mul(g, 1 - b1));
      const m = add(mul(m0, b2), mul(g, 1 - b2));
      return { param: sub(p, mul(sign(c), s.lr)), state: [m] };
    },
  };
}
