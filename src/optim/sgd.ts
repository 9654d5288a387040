import { add, minimum, mul, sub } from '../graph/ops/elementwise.js';
import type { Optimizer } from './optimizer.js';

/** Options of {@link sgd}, with torch.optim.SGD's meaning; every default gives plain SGD. */
export interface SgdOptions {
  /** Momentum factor (default 0: no momentum buffer). */
  readonly momentum?: number;
  /** Dampening of the gradient added to the momentum buffer after the first step (default 0). */
  readonly dampening?: number;
  /** Nesterov momentum (default false); needs momentum > 0 and dampening 0, else `sgd()` throws. */
  readonly nesterov?: boolean;
  /** L2 penalty added to the gradient (PyTorch's weight_decay). */
  readonly weightDecay?: number;
}

/** SGD with momentum, Nesterov and weight decay, matching torch.optim.SGD (the buffer starts as the first gradient). */
export function sgd(opts: SgdOptions = {}): Optimizer {
  const momentum = opts.momentum ?? 0;
  const dampening = opts.dampening ?? 0;
  const wd = opts.weightDecay ?? 0;
  const nesterov = opts.nesterov ?? false;
  if (nesterov && (momentum <= 0 || dampening !== 0))
    throw new Error('sgd: nesterov needs momentum > 0 and dampening 0');
  return {
    name: 'sgd',
    slots: momentum > 0 ? ['momentum'] : [],
    config: { momentum, dampening, weightDecay: wd, nesterov },
    update(p, g0, state, s) {
      const g = wd ? add(g0, mul(p, wd)) : g0;
      if (momentum === 0) return { param: sub(p, mul(g, s.lr)), state: [] };
      // torch: buf = g on step 1, then momentum·buf + (1 − dampening)·g; the buffer is zeros before step 1,
      // so only the dampening factor needs the step: 1 on step 1, (1 − dampening) afterwards.
      const later = minimum(sub(s.step, 1), 1); // 0 on step 1, 1 afterwards
      const damp = sub(1, mul(later, dampening));
      const buf = add(mul(state[0], momentum), mul(g, damp));
      const dir = nesterov ? add(g, mul(buf, momentum)) : buf;
      return { param: sub(p, mul(dir, s.lr)), state: [buf] };
    },
  };
}
