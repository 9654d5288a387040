// Random search: each parameter uniform (log-uniform on log scales, uniform over the grid for steps).
import { fromUnit, type Distribution } from '../distributions.js';
import { Rng } from '../../util/random.js';
import type { Sampler } from './sampler.js';

/** A uniform draw from a distribution, as an internal value. */
export function sampleUniform(rng: Rng, d: Distribution): number {
  if (d.type === 'categorical') return rng.int(d.choices.length);
  return fromUnit(d, rng.random());
}

export interface RandomSamplerOptions {
  readonly seed?: number;
}

/**
 * A random-search sampler: each parameter uniform (log-uniform on log scales, uniform over the grid points with a
 * step), seeded by `opts.seed`.
 */
export function randomSampler(opts: RandomSamplerOptions = {}): Sampler {
  const rng = new Rng(opts.seed);
  return {
    name: 'random',
    sampleIndependent: (_study, _trial, _name, d) => sampleUniform(rng, d),
  };
}
