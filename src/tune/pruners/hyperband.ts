// Hyperband (Li et al. 2018) as in Optuna: several successive-halving brackets with growing minimum resource;
// each trial joins one bracket (a hash of study name and trial number, weighted by each bracket's budget) and
// competes only with trials of its bracket.
import { hashString } from '../../util/random.js';
import type { StudyView } from '../samplers/sampler.js';
import type { FrozenTrial } from '../types.js';
import { lastStep, type Pruner } from './pruner.js';
import { successiveHalvingPruner } from './successive-halving.js';

/**
 * Options of {@link hyperbandPruner}: minimum resource (default 1 step), maximum resource (default 'auto'), reduction
 * factor eta (default 3) and the trials a rung needs before it judges (default 0).
 */
export interface HyperbandOptions {
  readonly minResource?: number;
  /** Largest step a trial runs to; 'auto' = the last step of the first complete trial (default). */
  readonly maxResource?: number | 'auto';
  /** eta (default 3). */
  readonly reductionFactor?: number;
  readonly bootstrapCount?: number;
}

export interface HyperbandPruner extends Pruner {
  /** The bracket a trial belongs to (null until the number of brackets is known). */
  bracketOf(study: StudyView, trialNumber: number): number | null;
}

/**
 * A Hyperband pruner (Li et al. 2018, as Optuna's): successive-halving brackets with growing minimum resource, each
 * trial competing only within the bracket its number hashes to; throws a RangeError unless minResource > 0 and
 * maxResource ≥ minResource.
 */
export function hyperbandPruner(opts: HyperbandOptions = {}): HyperbandPruner {
  const minResource = opts.minResource ?? 1;
  const eta = opts.reductionFactor ?? 3;
  if (!(minResource > 0)) throw new RangeError(`hyperband: minResource must be > 0, got ${minResource}`);
  if (opts.maxResource !== undefined && opts.maxResource !== 'auto' && !(opts.maxResource >= minResource))
    throw new RangeError(`hyperband: maxResource must be >= minResource (${minResource}), got ${opts.maxResource}`);
  let maxResource = opts.maxResource === 'auto' ? undefined : opts.maxResource;
  let brackets: { cumulative: number[]; total: number; pruners: Pruner[] } | undefined;

  const setup = (study: StudyView): boolean => {
    if (brackets) return true;
    if (maxResource === undefined) {
      const done = study.finished.find((t) => t.state === 'COMPLETE' && t.intermediate.size > 0);
      if (!done) return false;
      maxResource = lastStep(done)!;
    }
    const n = Math.floor(Math.log(maxResource / minResource) / Math.log(eta) + 1e-9) + 1;
    const cumulative: number[] = [];
    let total = 0;
    const pruners: Pruner[] = [];
    for (let b = 0; b < n; b++) {
      const s = n - 1 - b;
      total += Math.ceil((n * eta ** s) / (s + 1));
      cumulative.push(total);
    }
    brackets = { cumulative, total, pruners };
    for (let b = 0; b < n; b++) {
      pruners.push(
        successiveHalvingPruner(
          { minResource, reductionFactor: eta, minEarlyStoppingRate: b, bootstrapCount: opts.bootstrapCount ?? 0 },
          (t) => bracketOf(study.studyName, t.number) === b,
        ),
      );
    }
    return true;
  };

  const bracketOf = (studyName: string, trialNumber: number): number => {
    const h = hashString(`${studyName}_${trialNumber}`) % brackets!.total;
    return brackets!.cumulative.findIndex((c) => h < c);
  };

  return {
    name: 'hyperband',
    bracketOf: (study, n) => (setup(study) ? bracketOf(study.studyName, n) : null),
    prune(study: StudyView, trial: FrozenTrial): boolean {
      if (!setup(study)) return false;
      return brackets!.pruners[bracketOf(study.studyName, trial.number)].prune(study, trial);
    },
  };
}
