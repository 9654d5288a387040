// Regularized (aging) evolution (Real et al. 2019), the NAS workhorse: the population is the last
// `populationSize` complete trials; a trial copies the best of `sampleSize` random members and mutates one
// parameter. Stateless across processes (the population is read from the study). Several objectives: the
// parent is drawn from the non-dominated members of the sample.
import { minimized, nonDominatedSort } from '../pareto.js';
import { Rng } from '../../util/random.js';
import type { FrozenTrial } from '../types.js';
import { sampleUniform } from './random.js';
import { sign, type RelativeParam, type RelativeSample, type Sampler } from './sampler.js';

/** Options of {@link evolutionSampler}: seed, population size, tournament size and mutations per child. */
export interface EvolutionOptions {
  readonly seed?: number;
  /** Population (default 20); until that many trials are complete, trials are random. */
  readonly populationSize?: number;
  /** Tournament size (default 5). */
  readonly sampleSize?: number;
  /** Parameters mutated per child (default 1). */
  readonly mutations?: number;
}

/**
 * A regularized (aging) evolution sampler (Real et al. 2019): a trial copies the best of a random sample of the last
 * `populationSize` complete trials and mutates some parameters; random until the population is full.
 */
export function evolutionSampler(opts: EvolutionOptions = {}): Sampler {
  const rng = new Rng(opts.seed);
  const P = opts.populationSize ?? 20;
  const S = Math.min(opts.sampleSize ?? 5, P);
  const mutations = opts.mutations ?? 1;
  if (!(Number.isInteger(P) && P >= 2))
    throw new RangeError(`evolution: populationSize must be an integer >= 2, got ${P}`);
  return {
    name: 'evolution',
    sampleRelative(view): RelativeSample {
      const complete: FrozenTrial[] = [];
      for (let i = view.finished.length - 1; i >= 0 && complete.length < P; i--)
        if (view.finished[i].state === 'COMPLETE') complete.push(view.finished[i]);
      if (complete.length < P) return { params: {} };
      const sample = Array.from({ length: S }, () => complete[rng.int(complete.length)]);
      let parent: FrozenTrial;
      if (view.directions.length === 1) {
        const s = sign(view.directions[0]);
        parent = sample.reduce((a, b) => (s * b.values![0] < s * a.values![0] ? b : a));
      } else {
        const front = nonDominatedSort(sample.map((t) => minimized(t, view.directions)))[0];
        parent = sample[front[rng.int(front.length)]];
      }
      const names = Object.keys(parent.distributions).sort();
      const mutate = new Set(rng.shuffle([...names]).slice(0, mutations));
      const params: Record<string, RelativeParam> = {};
      for (const n of names) {
        const d = parent.distributions[n];
        let v = parent.internal[n];
        if (mutate.has(n)) {
          for (let k = 0; k < 8; k++) {
            const x = sampleUniform(rng, d);
            if (x !== v) {
              v = x;
              break;
            }
          }
        }
        params[n] = { distribution: d, internal: v };
      }
      return { params, attrs: { 'evolution:parent': parent.number } };
    },
    sampleIndependent: (_v, _t, _n, d) => sampleUniform(rng, d),
  };
}
