// The Pruner extension point.
import type { StudyView } from '../samplers/sampler.js';
import type { FrozenTrial } from '../types.js';

/**
 * Decides whether a running trial should stop early.
 *
 * Contract:
 * - `prune` is synchronous, reads only the snapshot it is given (`trial` is RUNNING and carries every intermediate
 *   value reported so far; its latest step is the one being judged) and keeps no per-trial state that another
 *   process would need: any worker can ask about any trial and gets the same answer from the same snapshot.
 * - Only single-objective studies are pruned; values follow the study's direction.
 */
export interface Pruner {
  readonly name: string;
  /**
   * Whether `trial` should stop at its latest reported step, judged from the study snapshot alone (synchronous, no
   * per-trial state).
   */
  prune(study: StudyView, trial: FrozenTrial): boolean;
}

/** Never prunes. */
export function nopPruner(): Pruner {
  return { name: 'none', prune: () => false };
}

/** The last reported step of a trial, or undefined. */
export function lastStep(t: FrozenTrial): number | undefined {
  let last: number | undefined;
  for (const s of t.intermediate.keys()) if (last === undefined || s > last) last = s;
  return last;
}
