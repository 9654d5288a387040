// NSGA-II (Deb et al. 2002) for multi-objective studies, with Optuna's defaults: population 50, uniform crossover
// (probability 0.9, swap 0.5), per-parameter mutation 1/#params (a mutated parameter is drawn at random).
// Stateless across processes: each trial records its generation; generation g+1 starts once `populationSize`
// trials of generation g are complete, and parents are the elite of the previous parents plus that generation.
import { crowdingDistance, minimized, nonDominatedSort } from '../pareto.js';
import { Rng } from '../../util/random.js';
import type { FrozenTrial } from '../types.js';
import { sampleUniform } from './random.js';
import { IntersectionSpace, type RelativeParam, type RelativeSample, type Sampler, type StudyView } from './sampler.js';

/**
 * Options of {@link nsga2Sampler}: seed, population size (default 50), and the mutation, crossover (default 0.9) and
 * swapping (default 0.5) probabilities.
 */
export interface Nsga2Options {
  readonly seed?: number;
  readonly populationSize?: number;
  /** Per-parameter probability of a fresh random value (default 1 / #params). */
  readonly mutationProb?: number;
  readonly crossoverProb?: number;
  readonly swappingProb?: number;
}

const GEN = 'nsga2:generation';

interface Ranked {
  readonly trial: FrozenTrial;
  readonly rank: number;
  readonly crowding: number;
}

/**
 * An NSGA-II sampler (Deb et al. 2002) for multi-objective studies, with Optuna's defaults; generations are recorded on
 * trials, so it is stateless across processes.
 */
export function nsga2Sampler(opts: Nsga2Options = {}): Sampler {
  const rng = new Rng(opts.seed);
  const pop = opts.populationSize ?? 50;
  if (!Number.isInteger(pop) || pop < 2)
    throw new RangeError(`nsga2: populationSize must be an integer >= 2, got ${pop}`);
  const crossoverProb = opts.crossoverProb ?? 0.9;
  const swap = opts.swappingProb ?? 0.5;
  const space = new IntersectionSpace();
  // parents[g] = ranked parent population used to breed generation g (g >= 1).
  let parents: Ranked[][] = [];
  let byGen: FrozenTrial[][] = [];
  let seen = 0;
  let study: string | undefined;

  const update = (view: StudyView): number => {
    if (study !== view.studyName) {
      study = view.studyName;
      parents = [];
      byGen = [];
      seen = 0;
    }
    for (; seen < view.finished.length; seen++) {
      const t = view.finished[seen];
      const g = t.systemAttrs[GEN];
      if (t.state !== 'COMPLETE' || typeof g !== 'number') continue;
      (byGen[g] ??= []).push(t);
    }
    let g = 0;
    while ((byGen[g]?.length ?? 0) >= pop) {
      if (!parents[g + 1]) parents[g + 1] = elite([...(parents[g] ?? []).map((r) => r.trial), ...byGen[g]], pop, view);
      g++;
    }
    return g;
  };

  const tournament = (p: readonly Ranked[]): Ranked => {
    const a = p[rng.int(p.length)];
    const b = p[rng.int(p.length)];
    if (a.rank !== b.rank) return a.rank < b.rank ? a : b;
    return a.crowding >= b.crowding ? a : b;
  };

  return {
    name: 'nsga2',
    sampleRelative(view): RelativeSample {
      const g = update(view);
      const sp = space.update(view.finished);
      if (g === 0 || sp.size === 0) return { params: {}, attrs: { [GEN]: g } };
      const p = parents[g];
      const p1 = tournament(p).trial;
      const p2 = tournament(p).trial;
      const mutation = opts.mutationProb ?? 1 / Math.max(1, sp.size);
      const cross = rng.random() < crossoverProb;
      const params: Record<string, RelativeParam> = {};
      for (const [name, dist] of sp) {
        const from = cross && rng.random() < swap ? p2 : p1;
        params[name] = {
          distribution: dist,
          internal: rng.random() < mutation ? sampleUniform(rng, dist) : from.internal[name],
        };
      }
      return { params, attrs: { [GEN]: g } };
    },
    sampleIndependent: (_v, _t, _n, d) => sampleUniform(rng, d),
  };
}

/** The best `n` trials by non-domination rank, the last front cut by crowding distance. */
function elite(trials: readonly FrozenTrial[], n: number, view: StudyView): Ranked[] {
  const uniq = [...new Map(trials.map((t) => [t.number, t])).values()];
  const pts = uniq.map((t) => minimized(t, view.directions));
  const out: Ranked[] = [];
  const fronts = nonDominatedSort(pts);
  for (let r = 0; r < fronts.length && out.length < n; r++) {
    const f = fronts[r];
    const cd = crowdingDistance(f.map((i) => pts[i]));
    const ranked = f.map((i, k) => ({ trial: uniq[i], rank: r, crowding: cd[k] }));
    if (out.length + f.length > n) ranked.sort((a, b) => b.crowding - a.crowding);
    out.push(...ranked.slice(0, n - out.length));
  }
  return out;
}
