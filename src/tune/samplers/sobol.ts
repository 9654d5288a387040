// Sobol quasi-random search (a QMC sampler): trial k takes the k-th point of a Sobol sequence, optionally
// scrambled by a seeded random digital shift. Points are computed directly from the trial number (Gray code),
// so any number of workers and processes share one low-discrepancy sequence without coordination.
import { distributionKey, fromUnit, type Distribution } from '../distributions.js';
import { SearchSpaceError } from '../errors.js';
import { Rng } from '../../util/random.js';
import { sampleUniform } from './random.js';
import { IntersectionSpace, type RelativeParam, type Sampler } from './sampler.js';
import { SOBOL_TABLE } from './sobol-table.js';

/** Direction numbers V[k] (k = 0..31, left-aligned 32-bit) of dimension `dim`. */
function directions(dim: number): Uint32Array {
  const v = new Uint32Array(32);
  if (dim >= SOBOL_TABLE.length)
    throw new SearchSpaceError(`sobol: at most ${SOBOL_TABLE.length} dimensions, got ${dim + 1}`);
  const [poly, init] = SOBOL_TABLE[dim];
  const s = 31 - Math.clz32(poly);
  const m = new Array<number>(32);
  if (dim === 0) m.fill(1);
  else {
    for (let k = 0; k < s; k++) m[k] = init[k];
    for (let k = s; k < 32; k++) {
      let x = m[k - s] ^ (m[k - s] << s);
      for (let i = 1; i < s; i++) if ((poly >>> (s - i)) & 1) x ^= m[k - i] << i;
      m[k] = x;
    }
  }
  for (let k = 0; k < 32; k++) v[k] = (m[k] << (31 - k)) >>> 0;
  return v;
}

const cache: Uint32Array[] = [];

/** Coordinate `dim` of the `index`-th Sobol point, in [0, 1). */
export function sobolPoint(index: number, dim: number, shift = 0): number {
  const v = (cache[dim] ??= directions(dim));
  let gray = index ^ Math.floor(index / 2);
  let x = 0;
  for (let k = 0; gray > 0; k++, gray = Math.floor(gray / 2)) if (gray & 1) x ^= v[k];
  return ((x ^ shift) >>> 0) / 4294967296;
}

export interface SobolSamplerOptions {
  readonly seed?: number;
  /** Random digital shift (default true); false gives the plain sequence starting at the origin. */
  readonly scramble?: boolean;
  /** The space up front (else the first trial is random and the space is learnt from it, as in Optuna). */
  readonly space?: Readonly<Record<string, Distribution>>;
}

/**
 * A Sobol quasi-random sampler: trial k takes the k-th point of a (by default scrambled) Sobol sequence, so workers
 * share one low-discrepancy sequence without coordination.
 */
export function sobolSampler(opts: SobolSamplerOptions = {}): Sampler {
  const rng = new Rng(opts.seed);
  const scramble = opts.scramble ?? true;
  const shifts: number[] = [];
  const shiftRng = new Rng(opts.seed === undefined ? undefined : opts.seed ^ 0x5bd1e995);
  const shiftOf = (d: number): number => {
    while (shifts.length <= d) shifts.push(scramble ? shiftRng.nextU32() : 0);
    return shifts[d];
  };
  const learnt = new IntersectionSpace();
  return {
    name: 'sobol',
    sampleRelative(view, trial) {
      const space = opts.space ? new Map(Object.entries(opts.space)) : learnt.update(view.finished);
      const names = [...space.keys()].sort();
      const params: Record<string, RelativeParam> = {};
      names.forEach((name, d) => {
        const dist = space.get(name)!;
        const u = sobolPoint(trial.number, d, shiftOf(d));
        params[name] = {
          distribution: dist,
          internal:
            dist.type === 'categorical'
              ? Math.min(dist.choices.length - 1, Math.floor(u * dist.choices.length))
              : fromUnit(dist, u),
        };
      });
      return { params, attrs: { 'sobol:space': names.map((n) => `${n}=${distributionKey(space.get(n)!)}`).join('|') } };
    },
    sampleIndependent: (_v, _t, _n, d) => sampleUniform(rng, d),
  };
}
