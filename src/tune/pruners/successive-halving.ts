// Asynchronous successive halving (ASHA, Li et al. 2020) with Optuna's rules. Rung r sits at step
// minResource * eta^(minEarlyStoppingRate + r); when a trial first reaches a rung, it continues only if its value
// there is in the top 1/eta of all trials (finished or running) that reached that rung. Decisions are computed
// from intermediate values alone, so every worker reaches the same verdict without shared pruner state.
import type { StudyView } from '../samplers/sampler.js';
import type { FrozenTrial } from '../types.js';
import { lastStep, type Pruner } from './pruner.js';

/**
 * Options of {@link successiveHalvingPruner}: the first rung's step, the reduction factor eta, the rung shift and the
 * trials a rung needs before it judges.
 */
export interface SuccessiveHalvingOptions {
  /** First rung's step; 'auto' = max(last step of the first complete trial / 100, 1) (default). */
  readonly minResource?: number | 'auto';
  /** eta (default 4, as Optuna). */
  readonly reductionFactor?: number;
  /** Shifts every rung up by eta^s (Hyperband brackets use it). Default 0. */
  readonly minEarlyStoppingRate?: number;
  /** Trials needed at a rung before it judges anyone (default 0). */
  readonly bootstrapCount?: number;
}

/** The value a trial had at a rung: its report at the first step >= the rung's step. */
function valueAtRung(t: FrozenTrial, rungStep: number): number | undefined {
  let bestStep = Infinity;
  let v: number | undefined;
  for (const [s, x] of t.intermediate) if (s >= rungStep && s < bestStep) [bestStep, v] = [s, x];
  return v;
}

/**
 * An asynchronous successive-halving (ASHA) pruner with Optuna's rules: at each rung a trial continues only if its
 * value is in the top 1/eta of the trials that reached the rung (only those passing `filter`, when given, as
 * Hyperband's brackets do).
 */
export function successiveHalvingPruner(
  opts: SuccessiveHalvingOptions = {},
  filter?: (t: FrozenTrial) => boolean,
): Pruner {
  const eta = opts.reductionFactor ?? 4;
  const rate = opts.minEarlyStoppingRate ?? 0;
  const bootstrap = opts.bootstrapCount ?? 0;
  if (!(Number.isInteger(eta) && eta >= 2))
    throw new RangeError(`successive halving: reductionFactor must be an integer >= 2, got ${eta}`);
  if (opts.minResource !== undefined && opts.minResource !== 'auto' && !(opts.minResource > 0))
    throw new RangeError(`successive halving: minResource must be > 0 or 'auto', got ${opts.minResource}`);
  let autoMin: number | undefined;
  return {
    name: 'asha',
    prune(study: StudyView, trial: FrozenTrial): boolean {
      const step = lastStep(trial);
      if (step === undefined) return false;
      let minResource = opts.minResource === undefined || opts.minResource === 'auto' ? autoMin : opts.minResource;
      if (minResource === undefined) {
        const done = study.finished.find((t) => t.state === 'COMPLETE' && t.intermediate.size > 0);
        if (!done) return false;
        minResource = autoMin = Math.max(Math.floor(lastStep(done)! / 100), 1);
      }
      const value = trial.intermediate.get(step)!;
      let prev = -1;
      for (const s of trial.intermediate.keys()) if (s < step && s > prev) prev = s;
      const others = [...study.finished, ...study.running].filter((t) => t.id !== trial.id && (!filter || filter(t)));
      for (let r = 0; ; r++) {
        const rungStep = minResource * eta ** (rate + r);
        if (step < rungStep) return false;
        if (prev >= rungStep) continue; // this rung was judged at an earlier report
        if (Number.isNaN(value)) return true;
        const competing = [value];
        for (const t of others) {
          const v = valueAtRung(t, rungStep);
          if (v !== undefined && !Number.isNaN(v)) competing.push(v);
        }
        if (competing.length <= bootstrap) return true;
        const minimize = study.directions[0] === 'minimize';
        competing.sort((a, b) => (minimize ? a - b : b - a));
        const idx = Math.max(Math.floor(competing.length / eta) - 1, 0);
        if (minimize ? value > competing[idx] : value < competing[idx]) return true;
      }
    },
  };
}

/** ASHA: successive halving that never waits for a rung to fill. */
export const ashaPruner = successiveHalvingPruner;
