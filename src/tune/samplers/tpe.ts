// Tree-structured Parzen Estimator (Bergstra et al. 2011; Optuna's TPESampler defaults): split observations into
// the best gamma(n) ("below") and the rest ("above"), fit a Parzen estimator to each, draw candidates from the
// below one and keep the candidate with the largest l(x)/g(x). Univariate by default; `multivariate` models the
// joint space (and `group` each group of co-occurring parameters of a conditional space). `constantLiar` treats
// trials running in other workers as bad observations so parallel workers do not all propose the same point.
//
// Speed: observations are cached per parameter set in typed arrays and extended incrementally from the study's
// append-only finished list; the split is a linear top-k scan; each ask is O(n) per parameter.
import { distributionKey, isSingle, snap, type Distribution } from '../distributions.js';
import { minimized, nonDominatedSort, crowdingDistance } from '../pareto.js';
import { lastStep } from '../pruners/pruner.js';
import { Rng } from '../../util/random.js';
import type { Direction, FrozenTrial } from '../types.js';
import { Parzen, type ParzenDim } from './parzen.js';
import { sampleUniform } from './random.js';
import {
  GroupSpace,
  IntersectionSpace,
  sign,
  type RelativeParam,
  type RelativeSample,
  type Sampler,
  type StudyView,
} from './sampler.js';

/** Options of {@link tpeSampler} (Optuna's TPESampler defaults). */
export interface TpeOptions {
  readonly seed?: number;
  /** Random trials before the model is used (default 10). */
  readonly nStartupTrials?: number;
  /** Candidates drawn from l(x) per suggestion (default 24). */
  readonly nEiCandidates?: number;
  /** Size of the "below" set for n observations (default min(ceil(0.1 n), 25)). */
  readonly gamma?: (n: number) => number;
  /** Weights of n observations, oldest first (default: 1 for the 25 newest, a ramp from 1/n below them). */
  readonly weights?: (n: number) => Float64Array;
  readonly priorWeight?: number;
  readonly considerMagicClip?: boolean;
  readonly considerEndpoints?: boolean;
  /**
   * Score candidates with each continuous kernel scaled by its bandwidth (its height, not its unit-mass density),
   * as Optuna 3.1–3.4 do (default true). False gives true mixture densities (Optuna ≥ 3.5); measured worse here.
   */
  readonly bandwidthWeighted?: boolean;
  readonly multivariate?: boolean;
  /** With multivariate: model each group of parameters that appear together separately (conditional spaces). */
  readonly group?: boolean;
  readonly constantLiar?: boolean;
}

const defaultGamma = (n: number): number => Math.min(Math.ceil(0.1 * n), 25);

export function defaultWeights(n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  if (n >= 25) {
    const ramp = n - 25;
    for (let i = 0; i < ramp; i++) w[i] = ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1);
  }
  return w;
}

interface Space {
  readonly names: readonly string[];
  readonly dists: readonly Distribution[];
}

/** Observations of one parameter set, in finish order, as typed arrays grown in place. */
class Observations {
  n = 0;
  private seen = 0;
  cols: Float64Array<ArrayBuffer>[];
  k1: Float64Array<ArrayBuffer> = new Float64Array(64);
  k2: Float64Array<ArrayBuffer> = new Float64Array(64);
  mo: number[][] = [];
  private readonly keys: string[];

  constructor(readonly space: Space) {
    this.cols = space.dists.map(() => new Float64Array(64));
    this.keys = space.dists.map(distributionKey);
  }

  update(finished: readonly FrozenTrial[], directions: readonly Direction[]): void {
    for (; this.seen < finished.length; this.seen++) {
      const t = finished[this.seen];
      if (t.state === 'FAILED' || !this.has(t)) continue;
      let a: number;
      let b: number;
      if (t.state === 'COMPLETE') {
        a = -Infinity;
        b = directions.length === 1 ? sign(directions[0]) * t.values![0] : 0;
        if (directions.length > 1) this.mo[this.n] = minimized(t, directions);
      } else {
        if (directions.length > 1) continue; // pruned trials carry no multi-objective value
        const step = lastStep(t);
        const v = step === undefined ? NaN : t.intermediate.get(step)!;
        [a, b] = Number.isNaN(v) ? [Number.MAX_VALUE, 0] : [-step!, sign(directions[0]) * v];
      }
      if (Number.isNaN(b)) continue;
      this.push(t, a, b);
    }
  }

  has(t: FrozenTrial): boolean {
    for (let j = 0; j < this.keys.length; j++) {
      const d = t.distributions[this.space.names[j]];
      if (!d || distributionKey(d) !== this.keys[j]) return false;
    }
    return true;
  }

  private push(t: FrozenTrial, a: number, b: number): void {
    if (this.n === this.k1.length) {
      const grow = (x: Float64Array): Float64Array<ArrayBuffer> => {
        const y = new Float64Array(x.length * 2);
        y.set(x);
        return y;
      };
      this.k1 = grow(this.k1);
      this.k2 = grow(this.k2);
      this.cols = this.cols.map(grow);
    }
    for (let j = 0; j < this.cols.length; j++)
      this.cols[j][this.n] = toModel(this.space.dists[j], t.internal[this.space.names[j]]);
    this.k1[this.n] = a;
    this.k2[this.n] = b;
    this.n++;
  }
}

/** Internal value -> the space the estimator models (log for log scales). */
function toModel(d: Distribution, x: number): number {
  return d.type !== 'categorical' && d.log ? Math.log(x) : x;
}

function fromModel(d: Distribution, x: number): number {
  if (d.type === 'categorical') return x;
  return snap(d, d.log ? Math.exp(x) : x);
}

function parzenDim(d: Distribution): ParzenDim {
  if (d.type === 'categorical') return { kind: 'cat', n: d.choices.length };
  if (d.log)
    return d.type === 'int'
      ? { kind: 'num', low: Math.log(d.low - 0.5), high: Math.log(d.high + 0.5), step: null }
      : { kind: 'num', low: Math.log(d.low), high: Math.log(d.high), step: null };
  const step = d.type === 'int' ? d.step : d.step;
  return step === null
    ? { kind: 'num', low: d.low, high: d.high, step: null }
    : { kind: 'num', low: d.low - step / 2, high: d.high + step / 2, step };
}

/**
 * A Tree-structured Parzen Estimator sampler (Bergstra et al. 2011; Optuna's defaults): random for the first
 * `nStartupTrials` (default 10), then the candidate maximising l(x)/g(x); the default sampler of single-objective
 * studies.
 */
export function tpeSampler(opts: TpeOptions = {}): Sampler {
  const rng = new Rng(opts.seed);
  const nStartup = opts.nStartupTrials ?? 10;
  const nCand = opts.nEiCandidates ?? 24;
  const gamma = opts.gamma ?? defaultGamma;
  const weightsOf = opts.weights ?? defaultWeights;
  const parzenOpts = {
    priorWeight: opts.priorWeight ?? 1,
    magicClip: opts.considerMagicClip ?? true,
    endpoints: opts.considerEndpoints ?? false,
    bandwidthWeighted: opts.bandwidthWeighted ?? true,
  };
  const caches = new Map<string, Observations>();
  const intersection = new IntersectionSpace();
  const groups = new GroupSpace();
  let studyName: string | undefined;

  const cacheFor = (view: StudyView, space: Space): Observations => {
    if (studyName !== view.studyName) {
      caches.clear();
      studyName = view.studyName;
    }
    const key = space.names.map((n, i) => `${n}=${distributionKey(space.dists[i])}`).join('|');
    let c = caches.get(key);
    if (!c) caches.set(key, (c = new Observations(space)));
    c.update(view.finished, view.directions);
    return c;
  };

  /** Joint TPE draw over a space; returns internal values. */
  const sampleSpace = (view: StudyView, space: Space, multivariate: boolean): number[] | null => {
    const obs = cacheFor(view, space);
    if (obs.n < nStartup) return null;
    // Constant liar: trials running elsewhere count as the worst observations (they join "above").
    const liars = opts.constantLiar ? view.running.filter((t) => obs.has(t)) : [];
    const total = obs.n + liars.length;
    const nBelow = Math.min(gamma(total), obs.n);
    const below = view.directions.length === 1 ? topK(obs, nBelow) : topKMulti(obs, nBelow);
    const isBelow = new Uint8Array(obs.n);
    for (const i of below) isBelow[i] = 1;
    const d = space.dists.length;
    const belowCols = space.dists.map(() => new Float64Array(below.length));
    const aboveCols = space.dists.map(() => new Float64Array(total - below.length));
    below.sort((a, b) => a - b);
    for (let r = 0; r < below.length; r++) for (let j = 0; j < d; j++) belowCols[j][r] = obs.cols[j][below[r]];
    let r = 0;
    for (let i = 0; i < obs.n; i++)
      if (!isBelow[i]) {
        for (let j = 0; j < d; j++) aboveCols[j][r] = obs.cols[j][i];
        r++;
      }
    for (const t of liars) {
      for (let j = 0; j < d; j++) aboveCols[j][r] = toModel(space.dists[j], t.internal[space.names[j]]);
      r++;
    }
    const dims = space.dists.map(parzenDim);
    const po = { ...parzenOpts, multivariate };
    const l = new Parzen(dims, belowCols, weightsOf(below.length), po);
    const g = new Parzen(dims, aboveCols, weightsOf(total - below.length), po);
    const cands = l.sample(rng, nCand);
    const ll = l.logPdf(cands, nCand);
    const lg = g.logPdf(cands, nCand);
    let best = 0;
    let bestScore = -Infinity;
    for (let s = 0; s < nCand; s++) {
      const score = ll[s] - lg[s];
      if (score > bestScore) {
        bestScore = score;
        best = s;
      }
    }
    return space.dists.map((dist, j) => fromModel(dist, cands[j][best]));
  };

  return {
    name: opts.multivariate ? 'tpe-multivariate' : 'tpe',
    sampleRelative(view: StudyView): RelativeSample {
      if (!opts.multivariate) return { params: {} };
      const spaces = opts.group ? groups.update(view.finished) : [intersection.update(view.finished)];
      const params: Record<string, RelativeParam> = {};
      for (const sp of spaces) {
        const entries = [...sp].filter(([, dist]) => !isSingle(dist)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        if (entries.length === 0) continue;
        const space = { names: entries.map(([n]) => n), dists: entries.map(([, dd]) => dd) };
        const xs = sampleSpace(view, space, true);
        if (!xs) continue;
        space.names.forEach((n, j) => (params[n] = { distribution: space.dists[j], internal: xs[j] }));
      }
      return { params };
    },
    sampleIndependent(view, _trial, name, dist) {
      if (isSingle(dist)) return dist.type === 'categorical' ? 0 : dist.low;
      const xs = sampleSpace(view, { names: [name], dists: [dist] }, false);
      return xs ? xs[0] : sampleUniform(rng, dist);
    },
  };
}

/** Indices of the k best observations by (k1, k2), lexicographic; a linear scan with a sorted buffer of k. */
function topK(obs: Observations, k: number): number[] {
  const best: number[] = [];
  const less = (i: number, j: number): boolean =>
    obs.k1[i] < obs.k1[j] || (obs.k1[i] === obs.k1[j] && obs.k2[i] < obs.k2[j]);
  for (let i = 0; i < obs.n && k > 0; i++) {
    if (best.length === k && !less(i, best[k - 1])) continue;
    let p = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(i);
    while (p > 0 && less(i, best[p - 1])) {
      best[p] = best[p - 1];
      p--;
    }
    best[p] = i;
  }
  return best;
}

/** Multi-objective split: whole non-dominated fronts first, the last one cut by crowding distance. */
function topKMulti(obs: Observations, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < obs.n; i++) if (obs.k1[i] === -Infinity) idx.push(i);
  const fronts = nonDominatedSort(idx.map((i) => obs.mo[i]));
  const out: number[] = [];
  for (const f of fronts) {
    if (out.length + f.length <= k) {
      for (const j of f) out.push(idx[j]);
      continue;
    }
    const cd = crowdingDistance(f.map((j) => obs.mo[idx[j]]));
    const order = f.map((j, r) => [j, cd[r]] as const).sort((a, b) => b[1] - a[1]);
    for (const [j] of order.slice(0, k - out.length)) out.push(idx[j]);
    break;
  }
  return out;
}
