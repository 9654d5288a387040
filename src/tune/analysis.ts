// Study analysis: optimization history, best trial(s), and export of the best trial as a ready training config.
import { paretoFront } from './pareto.js';
import type { Direction, FrozenTrial, ParamValue } from './types.js';

export { paramImportance } from './importance.js';
export { paretoFront } from './pareto.js';

/**
 * One point of the optimization history: a COMPLETE trial's number, its value (first objective) and the best value so
 * far.
 */
export interface HistoryPoint {
  readonly number: number;
  readonly value: number;
  readonly best: number;
}

/** Value of each COMPLETE trial (first objective) in trial order, with the best so far. */
export function optimizationHistory(trials: readonly FrozenTrial[], direction: Direction): HistoryPoint[] {
  let best = direction === 'minimize' ? Infinity : -Infinity;
  return trials
    .filter((t) => t.state === 'COMPLETE' && t.values)
    .sort((a, b) => a.number - b.number)
    .map((t) => {
      const v = t.values![0];
      best = direction === 'minimize' ? Math.min(best, v) : Math.max(best, v);
      return { number: t.number, value: v, best };
    });
}

/** The best COMPLETE trial of a single-objective study, or undefined. */
export function bestTrial(trials: readonly FrozenTrial[], direction: Direction): FrozenTrial | undefined {
  const s = direction === 'minimize' ? 1 : -1;
  let best: FrozenTrial | undefined;
  for (const t of trials)
    if (t.state === 'COMPLETE' && t.values && (!best || s * t.values[0] < s * best.values![0])) best = t;
  return best;
}

/** Best trial (one objective) or Pareto front (several). */
export function bestTrials(trials: readonly FrozenTrial[], directions: readonly Direction[]): FrozenTrial[] {
  if (directions.length === 1) {
    const b = bestTrial(trials, directions[0]);
    return b ? [b] : [];
  }
  return paretoFront(trials, directions);
}

type Config = { [k: string]: unknown };

/**
 * A training config with a trial's parameters written in: parameter names are dotted paths into the config
 * (`optimizer.lr`, `model.options.width`), or mapped to paths by `paths` ({ lr: 'optimizer.lr' }). The base config
 * is not modified.
 */
export function exportTrialConfig(
  trial: FrozenTrial,
  base: Readonly<Config> = {},
  paths: Readonly<Record<string, string>> = {},
): Config {
  const out = structuredClone(base) as Config;
  for (const [name, value] of Object.entries(trial.params)) setPath(out, paths[name] ?? name, value);
  return out;
}

function setPath(obj: Config, path: string, value: ParamValue): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k] as Config;
  }
  o[keys[keys.length - 1]] = value;
}
