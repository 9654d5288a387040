// CMA-ES (Hansen's (mu/mu_w, lambda) strategy with rank-one and active rank-lambda updates) over the numeric parameters,
// mapped to the unit cube; categoricals are drawn at random. Each trial records its generation; generation g+1
// is computed from the first `popsize` complete trials of generation g, so the state is a deterministic replay
// of the study (any process rebuilds it; the replay is cached and extended incrementally).
import {
  distributionKey,
  fromUnit,
  toUnit,
  type Distribution,
  type FloatDistribution,
  type IntDistribution,
} from '../distributions.js';
import { Rng } from '../../util/random.js';
import type { FrozenTrial } from '../types.js';
import { sampleUniform } from './random.js';
import {
  IntersectionSpace,
  sign,
  type RelativeParam,
  type RelativeSample,
  type Sampler,
  type StudyView,
} from './sampler.js';

/**
 * Options of {@link cmaEsSampler}: seed, initial step size (in unit-cube coordinates), population size and initial
 * mean.
 */
export interface CmaEsOptions {
  readonly seed?: number;
  /** Initial step size in unit-cube coordinates (default 1/6: a sixth of each range). */
  readonly sigma0?: number;
  /** Population size (default 4 + floor(3 ln n)). */
  readonly popsize?: number;
  /** Initial mean (parameter values); default the centre of each range. */
  readonly x0?: Readonly<Record<string, number>>;
}

const GEN = 'cma:generation';
const KEY = 'cma:space';

type Num = FloatDistribution | IntDistribution;

/**
 * The CMA-ES state for dimension n, with the rules of Hansen's tutorial (arXiv:1604.00772) as the `cmaes` library
 * behind Optuna implements them: all lambda solutions are weighted, the worse half negatively ("active" CMA: the
 * covariance also shrinks along bad directions), with the negative weights scaled by alpha_min (eq. 50-53).
 */
class CmaState {
  readonly lambda: number;
  readonly mu: number;
  /** lambda weights: positive for the best mu (summing to 1), negative for the rest. */
  readonly weights: Float64Array;
  readonly mueff: number;
  private readonly cs: number;
  private readonly ds: number;
  private readonly cc: number;
  private readonly c1: number;
  private readonly cmu: number;
  private readonly chiN: number;
  private readonly weightSum: number;
  mean: Float64Array;
  sigma: number;
  private readonly C: Float64Array[];
  private B: Float64Array[];
  private D: Float64Array;
  private readonly ps: Float64Array;
  private readonly pc: Float64Array;
  generation = 0;

  constructor(
    readonly n: number,
    mean: Float64Array,
    sigma: number,
    popsize?: number,
  ) {
    const lambda = (this.lambda = popsize ?? 4 + Math.floor(3 * Math.log(n)));
    const mu = (this.mu = Math.floor(lambda / 2));
    const wp = Float64Array.from({ length: lambda }, (_, i) => Math.log((lambda + 1) / 2) - Math.log(i + 1));
    const sq = (xs: Float64Array): number => xs.reduce((a, b) => a + b, 0) ** 2 / xs.reduce((a, b) => a + b * b, 0);
    this.mueff = sq(wp.subarray(0, mu));
    const mueffMinus = lambda > mu ? sq(wp.subarray(mu)) : 0;
    this.c1 = 2 / ((n + 1.3) ** 2 + this.mueff);
    this.cmu = Math.min(1 - this.c1 - 1e-8, (2 * (this.mueff - 2 + 1 / this.mueff)) / ((n + 2) ** 2 + this.mueff));
    const alphaMin = Math.min(
      1 + this.c1 / this.cmu,
      1 + (2 * mueffMinus) / (this.mueff + 2),
      (1 - this.c1 - this.cmu) / (n * this.cmu),
    );
    let pos = 0;
    let neg = 0;
    for (const w of wp) w >= 0 ? (pos += w) : (neg -= w);
    this.weights = wp.map((w) => (w >= 0 ? w / pos : (alphaMin * w) / neg));
    this.weightSum = this.weights.reduce((a, b) => a + b, 0);
    this.cs = (this.mueff + 2) / (n + this.mueff + 5);
    this.ds = 1 + 2 * Math.max(0, Math.sqrt((this.mueff - 1) / (n + 1)) - 1) + this.cs;
    this.cc = (4 + this.mueff / n) / (n + 4 + (2 * this.mueff) / n);
    this.chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
    this.mean = Float64Array.from(mean);
    this.sigma = sigma;
    this.C = Array.from({ length: n }, (_, i) => {
      const r = new Float64Array(n);
      r[i] = 1;
      return r;
    });
    this.B = this.C.map((r) => Float64Array.from(r));
    this.D = new Float64Array(n).fill(1);
    this.ps = new Float64Array(n);
    this.pc = new Float64Array(n);
  }

  /** One candidate inside [0, 1]^n (resampled up to 100 times, then clipped). */
  ask(rng: Rng): Float64Array {
    const n = this.n;
    let x = new Float64Array(n);
    for (let attempt = 0; attempt < 100; attempt++) {
      const z = new Float64Array(n);
      for (let i = 0; i < n; i++) z[i] = this.D[i] * rng.normal();
      for (let i = 0; i < n; i++) {
        let y = 0;
        for (let j = 0; j < n; j++) y += this.B[i][j] * z[j];
        x[i] = this.mean[i] + this.sigma * y;
      }
      if (x.every((v) => v >= 0 && v <= 1)) return x;
    }
    x = x.map((v) => Math.min(1, Math.max(0, v)));
    return x;
  }

  /** C^{-1/2} y = B D^{-1} B^T y (with the decomposition of the current C). */
  private invSqrt(y: Float64Array): Float64Array {
    const n = this.n;
    const bty = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += this.B[i][j] * y[i];
      bty[j] = s / this.D[j];
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.B[i][j] * bty[j];
      out[i] = s;
    }
    return out;
  }

  /** Updates from lambda solutions (x in the unit cube, f to minimize). */
  tell(solutions: readonly { x: Float64Array; f: number }[]): void {
    const n = this.n;
    this.generation++;
    const sorted = [...solutions].sort((a, b) => a.f - b.f);
    const old = this.mean;
    const ys = sorted.map((s) => s.x.map((v, i) => (v - old[i]) / this.sigma)); // [lambda][n] ~ N(0, C)
    const yw = new Float64Array(n);
    for (let k = 0; k < this.mu; k++) for (let i = 0; i < n; i++) yw[i] += this.weights[k] * ys[k][i];
    this.mean = old.map((v, i) => v + this.sigma * yw[i]);
    // Step size: cumulation of C^{-1/2} yw.
    const csf = Math.sqrt(this.cs * (2 - this.cs) * this.mueff);
    const cInvHalfY = this.invSqrt(yw);
    for (let i = 0; i < n; i++) this.ps[i] = (1 - this.cs) * this.ps[i] + csf * cInvHalfY[i];
    const psNorm = Math.hypot(...this.ps);
    this.sigma = Math.min(this.sigma * Math.exp((this.cs / this.ds) * (psNorm / this.chiN - 1)), 1e3);
    // Covariance: rank-one (pc) and rank-lambda with active (negative) weights rescaled by n / |C^{-1/2} y|^2.
    const hsig =
      psNorm / Math.sqrt(1 - (1 - this.cs) ** (2 * (this.generation + 1))) < (1.4 + 2 / (n + 1)) * this.chiN ? 1 : 0;
    const ccf = Math.sqrt(this.cc * (2 - this.cc) * this.mueff);
    for (let i = 0; i < n; i++) this.pc[i] = (1 - this.cc) * this.pc[i] + hsig * ccf * yw[i];
    const wio = this.weights.map((w, k) => {
      if (w >= 0) return w;
      const z = this.invSqrt(ys[k]);
      return (w * n) / (z.reduce((a, b) => a + b * b, 0) + 1e-8);
    });
    const dh = (1 - hsig) * this.cc * (2 - this.cc);
    const decay = 1 + this.c1 * dh - this.c1 - this.cmu * this.weightSum;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let k = 0; k < this.lambda; k++) rankMu += wio[k] * ys[k][i] * ys[k][j];
        const v = decay * this.C[i][j] + this.c1 * this.pc[i] * this.pc[j] + this.cmu * rankMu;
        this.C[i][j] = this.C[j][i] = v;
      }
    }
    const { vectors, values } = jacobiEigen(this.C);
    this.B = vectors;
    this.D = values.map((v) => Math.sqrt(Math.max(v, 1e-20)));
  }
}

/** Eigen-decomposition of a symmetric matrix (cyclic Jacobi): C = V diag(values) V^T, V's columns = eigenvectors. */
function jacobiEigen(C: readonly Float64Array[]): { vectors: Float64Array[]; values: Float64Array } {
  const n = C.length;
  const a = C.map((r) => Float64Array.from(r));
  const v = Array.from({ length: n }, (_, i) => {
    const r = new Float64Array(n);
    r[i] = 1;
    return r;
  });
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { vectors: v, values: Float64Array.from(a.map((r, i) => r[i])) };
}

/**
 * A CMA-ES sampler over the numeric parameters (mapped to the unit cube; categoricals random), its state replayed
 * deterministically from the study so any process can continue it.
 */
export function cmaEsSampler(opts: CmaEsOptions = {}): Sampler {
  const rng = new Rng(opts.seed);
  const space = new IntersectionSpace();
  let state: CmaState | null = null;
  let spaceKey = '';
  let names: string[] = [];
  let dists: Num[] = [];
  let pending = new Map<number, { x: Float64Array; f: number }[]>();
  let seen = 0;
  let study: string | undefined;

  const reset = (view: StudyView, sp: ReadonlyMap<string, Distribution>): void => {
    const entries = [...sp]
      .filter((e): e is [string, Num] => e[1].type !== 'categorical' && e[1].low !== e[1].high)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    names = entries.map(([k]) => k);
    dists = entries.map(([, d]) => d);
    spaceKey = entries.map(([k, d]) => `${k}=${distributionKey(d)}`).join('|');
    const mean = Float64Array.from(dists, (d, i) =>
      opts.x0?.[names[i]] !== undefined ? toUnit(d, opts.x0[names[i]]) : 0.5,
    );
    state = names.length ? new CmaState(names.length, mean, opts.sigma0 ?? 1 / 6, opts.popsize) : null;
    pending = new Map();
    seen = 0;
    study = view.studyName;
  };

  const replay = (view: StudyView): void => {
    for (; seen < view.finished.length; seen++) {
      const t: FrozenTrial = view.finished[seen];
      if (!state || t.state !== 'COMPLETE' || t.systemAttrs[KEY] !== spaceKey) continue;
      const g = t.systemAttrs[GEN];
      if (typeof g !== 'number' || g < state.generation) continue;
      let list = pending.get(g);
      if (!list) pending.set(g, (list = []));
      list.push({
        x: Float64Array.from(names, (k, i) => toUnit(dists[i], t.internal[k])),
        f: sign(view.directions[0]) * t.values![0],
      });
      while (state && (pending.get(state.generation)?.length ?? 0) >= state.lambda) {
        const gen = state.generation;
        state.tell(pending.get(gen)!.slice(0, state.lambda));
        pending.delete(gen);
      }
    }
  };

  return {
    name: 'cmaes',
    sampleRelative(view): RelativeSample {
      if (view.directions.length > 1) return { params: {} };
      const sp = space.update(view.finished);
      const key = [...sp]
        .filter(([, d]) => d.type !== 'categorical' && d.low !== d.high)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, d]) => `${k}=${distributionKey(d)}`)
        .join('|');
      if (key !== spaceKey || study !== view.studyName) reset(view, sp);
      replay(view);
      if (!state) return { params: {} };
      const x = state.ask(rng);
      const params: Record<string, RelativeParam> = {};
      names.forEach((k, i) => (params[k] = { distribution: dists[i], internal: fromUnit(dists[i], x[i]) }));
      return { params, attrs: { [GEN]: state.generation, [KEY]: spaceKey } };
    },
    sampleIndependent: (_v, _t, _n, d) => sampleUniform(rng, d),
  };
}
