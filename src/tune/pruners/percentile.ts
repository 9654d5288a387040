// Percentile and median pruners (Optuna semantics): stop a trial whose best intermediate value so far is worse
// than the given percentile of COMPLETE trials' values at the same step.
import type { StudyView } from '../samplers/sampler.js';
import type { FrozenTrial } from '../types.js';
import { lastStep, type Pruner } from './pruner.js';

/** Options of {@link percentilePruner}: when pruning starts and which steps are judged. */
export interface PercentilePrunerOptions {
  /** Complete trials needed before pruning starts (default 5). */
  readonly nStartupTrials?: number;
  /** Steps of each trial never pruned (default 0). */
  readonly nWarmupSteps?: number;
  /** Judge every k-th step (default 1). */
  readonly intervalSteps?: number;
  /** Complete trials with a value at this step needed to judge it (default 1). */
  readonly nMinTrials?: number;
}

/** numpy's default (linear) percentile of sorted values. */
function percentileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Prunes a trial whose best intermediate value so far is worse than the `percentile`-th percentile (in the study's
 * direction) of COMPLETE trials' values at the same step (Optuna's PercentilePruner; 50 is the median pruner); throws a
 * RangeError unless 0 ≤ percentile ≤ 100.
 */
export function percentilePruner(percentile: number, opts: PercentilePrunerOptions = {}): Pruner {
  if (!(percentile >= 0 && percentile <= 100))
    throw new RangeError(`percentile pruner: percentile must be in [0, 100], got ${percentile}`);
  const nStartup = opts.nStartupTrials ?? 5;
  const warmup = opts.nWarmupSteps ?? 0;
  const interval = opts.intervalSteps ?? 1;
  const nMin = opts.nMinTrials ?? 1;
  if (!(Number.isInteger(interval) && interval >= 1))
    throw new RangeError(`percentile pruner: intervalSteps must be a positive integer, got ${interval}`);
  return {
    name: percentile === 50 ? 'median' : 'percentile',
    prune(study: StudyView, trial: FrozenTrial): boolean {
      const step = lastStep(trial);
      if (step === undefined || step < warmup) return false;
      const complete = study.finished.filter((t) => t.state === 'COMPLETE');
      if (complete.length === 0 || complete.length < nStartup) return false;
      // Judge only the first report inside each interval.
      const nearest = Math.floor((step - warmup) / interval) * interval + warmup;
      let prev = -1;
      for (const s of trial.intermediate.keys()) if (s < step && s > prev) prev = s;
      if (prev >= nearest) return false;
      const minimize = study.directions[0] === 'minimize';
      let best = minimize ? Infinity : -Infinity;
      for (const v of trial.intermediate.values())
        if (!Number.isNaN(v)) best = minimize ? Math.min(best, v) : Math.max(best, v);
      if (!Number.isFinite(best) && trial.intermediate.size > 0 && [...trial.intermediate.values()].every(Number.isNaN))
        return true;
      const at = complete
        .map((t) => t.intermediate.get(step))
        .filter((v): v is number => v !== undefined && !Number.isNaN(v))
        .sort((a, b) => a - b);
      if (at.length < nMin) return false;
      const p = percentileOf(at, minimize ? percentile : 100 - percentile);
      return minimize ? best > p : best < p;
    },
  };
}

/** Prunes trials worse than the median of complete trials at the same step. */
export function medianPruner(opts: PercentilePrunerOptions = {}): Pruner {
  return percentilePruner(50, opts);
}
