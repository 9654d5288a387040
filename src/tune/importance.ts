// Parameter importance of a study: the permutation importance of src/util/forest-importance.ts over the complete
// trials (log-scaled parameters as their logarithm, categoricals as their index). The tracking UI's study page calls
// the same function, so `lathe tune` and `lathe ui` agree.
import type { Distribution } from './distributions.js';
import { forestImportance } from '../util/forest-importance.js';
import type { FrozenTrial } from './types.js';

export interface ImportanceOptions {
  readonly seed?: number;
  readonly trees?: number;
  readonly maxDepth?: number;
  /** Which objective (default 0). */
  readonly objective?: number;
}

/** Importance of each parameter every complete trial has, highest first. */
export function paramImportance(
  trials: readonly FrozenTrial[],
  opts: ImportanceOptions = {},
): { readonly param: string; readonly importance: number }[] {
  const k = opts.objective ?? 0;
  const done = trials.filter((t) => t.state === 'COMPLETE' && t.values && Number.isFinite(t.values[k]));
  if (done.length < 4) return [];
  const names = Object.keys(done[0].distributions)
    .filter((n) => done.every((t) => n in t.distributions))
    .sort();
  if (names.length === 0) return [];
  const feat = (d: Distribution, v: number): number => (d.type !== 'categorical' && d.log ? Math.log(v) : v);
  const X = names.map((n) => Float64Array.from(done, (t) => feat(t.distributions[n], t.internal[n])));
  const y = Float64Array.from(done, (t) => t.values![k]);
  return forestImportance(names, X, y, opts);
}
