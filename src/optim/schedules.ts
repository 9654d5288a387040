// Learning-rate schedules. The step graph takes lr as an input, so a schedule is a host-side function of the
// step (and, for reduce-on-plateau, of the validation metric) and never forces a recompilation.

/** lr as a function of the 0-based optimizer step. */
export interface Schedule {
  readonly name: string;
  /** The learning rate for the 0-based optimizer step `step`. */
  lr(step: number): number;
  /** Called after each validation with the monitored value (only reduce-on-plateau uses it). */
  observe?(value: number): void;
  /** Serializable state for checkpoints. */
  state?(): Record<string, number>;
  /** Restores the state returned by `state()` (when resuming from a checkpoint). */
  load?(s: Readonly<Record<string, number>>): void;
}

/** The same learning rate `lr` at every step. */
export const constantLr = (lr: number): Schedule => ({ name: 'constant', lr: () => lr });

/** lr · gamma^floor(step / stepSize). */
export const stepLr = (lr: number, stepSize: number, gamma = 0.1): Schedule => ({
  name: 'step',
  lr: (s) => lr * gamma ** Math.floor(s / stepSize),
});

/** lr · gamma^step. */
export const exponentialLr = (lr: number, gamma: number): Schedule => ({
  name: 'exponential',
  lr: (s) => lr * gamma ** s,
});

/** Linear warm-up from 0 over `warmup` steps, then cosine decay to `minLr` at `total`. */
export function cosineWithWarmup(lr: number, total: number, opts: { warmup?: number; minLr?: number } = {}): Schedule {
  const warmup = opts.warmup ?? 0;
  const minLr = opts.minLr ?? 0;
  return {
    name: 'cosine',
    lr: (s) => {
      if (s < warmup) return (lr * (s + 1)) / warmup;
      const p = Math.min(1, (s - warmup) / Math.max(1, total - warmup));
      return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * p));
    },
  };
}

/** One-cycle (Smith): cosine up from maxLr/divFactor to maxLr over pctStart, then down to maxLr/finalDiv. */
export function oneCycle(
  maxLr: number,
  total: number,
  opts: { pctStart?: number; divFactor?: number; finalDivFactor?: number } = {},
): Schedule {
  const up = Math.max(1, Math.floor((opts.pctStart ?? 0.3) * total));
  const initial = maxLr / (opts.divFactor ?? 25);
  const final = initial / (opts.finalDivFactor ?? 1e4);
  const cos = (a: number, b: number, p: number) => b + ((a - b) * (1 + Math.cos(Math.PI * p))) / 2;
  return {
    name: 'one-cycle',
    lr: (s) =>
      s < up ? cos(initial, maxLr, s / up) : cos(maxLr, final, Math.min(1, (s - up) / Math.max(1, total - up))),
  };
}

/** Multiplies lr by `factor` when the monitored value stops improving for `patience` validations. */
export function reduceOnPlateau(
  lr: number,
  opts: { mode?: 'min' | 'max'; factor?: number; patience?: number; minLr?: number; threshold?: number } = {},
): Schedule {
  const mode = opts.mode ?? 'min';
  const factor = opts.factor ?? 0.1;
  const patience = opts.patience ?? 10;
  const minLr = opts.minLr ?? 0;
  const threshold = opts.threshold ?? 1e-4;
  let current = lr;
  let best = mode === 'min' ? Infinity : -Infinity;
  let bad = 0;
  return {
    name: 'reduce-on-plateau',
    lr: () => current,
    observe(v) {
      const better = mode === 'min' ? v < best * (1 - threshold) : v > best * (1 + threshold);
      if (better) {
        best = v;
        bad = 0;
      } else if (++bad > patience) {
        current = Math.max(minLr, current * factor);
        bad = 0;
      }
    },
    state: () => ({ current, best, bad }),
    load(s) {
      current = s.current;
      best = s.best;
      bad = s.bad;
    },
  };
}
