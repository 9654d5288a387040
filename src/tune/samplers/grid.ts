// Grid search over an explicit grid: every combination once, in a seeded shuffled order. Each trial takes the
// first grid point no finished or running trial has used yet (several workers may rarely pick the same point
// at the same moment; the grid still gets covered). When the grid is exhausted, points are revisited.
import { toInternal } from '../distributions.js';
import { SearchSpaceError } from '../errors.js';
import { Rng } from '../../util/random.js';
import type { CategoricalChoice, FrozenTrial } from '../types.js';
import type { Sampler, StudyView } from './sampler.js';

export interface GridSamplerOptions {
  readonly seed?: number;
}

/**
 * A grid-search sampler: every combination of `grid`'s values once, in a shuffled order seeded by `opts.seed`
 * (revisited once exhausted); throws a SearchSpaceError when a parameter has no values.
 */
export function gridSampler(
  grid: Readonly<Record<string, readonly CategoricalChoice[]>>,
  opts: GridSamplerOptions = {},
): Sampler {
  const names = Object.keys(grid).sort();
  for (const n of names)
    if (!Array.isArray(grid[n]) || grid[n].length === 0)
      throw new SearchSpaceError(`grid: parameter '${n}' needs a non-empty list of values`);
  const size = names.reduce((a, n) => a * grid[n].length, 1);
  const order = new Rng(opts.seed).shuffle([...Array(size).keys()]);
  const point = (i: number): Record<string, CategoricalChoice> => {
    const out: Record<string, CategoricalChoice> = {};
    for (const n of names) {
      out[n] = grid[n][i % grid[n].length];
      i = Math.floor(i / grid[n].length);
    }
    return out;
  };
  const assigned = new Map<number, number>(); // trial number -> grid index
  const GRID = 'grid:index';
  const idOf = (t: FrozenTrial): number | undefined =>
    typeof t.systemAttrs[GRID] === 'number' ? (t.systemAttrs[GRID] as number) : undefined;
  return {
    name: 'grid',
    sampleRelative(view: StudyView, trial) {
      const used = new Set<number>();
      for (const t of [...view.finished, ...view.running]) {
        const g = idOf(t);
        if (g !== undefined && t.state !== 'FAILED') used.add(g);
      }
      const next = order.find((g) => !used.has(g)) ?? order[trial.number % size];
      assigned.set(trial.number, next);
      return { params: {}, attrs: { [GRID]: next } };
    },
    sampleIndependent(_view, trial, name, dist) {
      if (!(name in grid))
        throw new SearchSpaceError(`grid: parameter '${name}' is not in the grid (${names.join(', ')})`);
      const g = assigned.get(trial.number) ?? idOf(trial) ?? 0;
      const value = point(g)[name];
      return toInternal(name, dist, value);
    },
  };
}
