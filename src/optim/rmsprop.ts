import { add, mul, sqrt, sub, div } from '../graph/ops/elementwise.js';
import type { Optimizer } from './optimizer.js';

/** RMSprop as torch.optim.RMSprop (non-centred, optional momentum). */
export function rmsprop(
  opts: { alpha?: number; eps?: number; momentum?: number; weightDecay?: number } = {},
): Optimizer {
  const alpha = opts.alpha ?? 0.99;
  const eps = opts.eps ?? 1e-8;
  const momentum = opts.momentum ?? 0;
  const wd = opts.weightDecay ?? 0;
  return {
    name: 'rmsprop',
    slots: momentum > 0 ? ['square_avg', 'momentum'] : ['square_avg'],
    config: { alpha, eps, momentum, weightDecay: wd },
    update(p, g0, state, s) {
      const g = wd ? add(g0, mul(p, wd)) : g0;
      const sq = add(mul(state[0], alpha), mul(mul(g, g), 1 - alpha));
      const step = div(g, add(sqrt(sq), eps));
      if (momentum === 0) return { param: sub(p, mul(step, s.lr)), state: [sq] };
      const buf = add(mul(state[1], momentum), step);
      return { param: sub(p, mul(buf, s.lr)), state: [sq, buf] };
    },
  };
}
