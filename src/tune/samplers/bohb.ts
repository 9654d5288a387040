// BOHB (Falkner et al. 2018): Hyperband brackets whose configurations come from a model instead of at random.
// The model is a multivariate TPE fitted on the largest budget (rung step) that has enough observations — a
// trial's observation at budget b is its intermediate value at the first step >= b, so pruned trials teach the
// model about small budgets. A fraction of trials stays random (default 1/3), as in the paper.
import { hyperbandPruner, type HyperbandOptions, type HyperbandPruner } from '../pruners/hyperband.js';
import { Rng } from '../../util/random.js';
import type { FrozenTrial } from '../types.js';
import { sampleUniform } from './random.js';
import type { RelativeSample, Sampler, StudyView } from './sampler.js';
import { tpeSampler } from './tpe.js';

/**
 * Options of {@link bohbSampler}: the Hyperband options (which must match the study's pruner) plus the seed, the share
 * of random trials and the observations a budget needs before the model uses it.
 */
export interface BohbOptions extends HyperbandOptions {
  readonly seed?: number;
  /** Share of trials drawn at random (default 1/3). */
  readonly randomFraction?: number;
  /** Observations a budget needs before the model uses it (default: #params + 2, at least 5). */
  readonly minPointsInModel?: number;
}

/**
 * A BOHB sampler (Falkner et al. 2018): multivariate TPE fitted on the largest budget (rung step) with enough
 * observations, a third of the trials random by default; pair it with a Hyperband pruner.
 */
export function bohbSampler(opts: BohbOptions = {}): Sampler {
  const rng = new Rng(opts.seed);
  const eta = opts.reductionFactor ?? 3;
  const minResource = opts.minResource ?? 1;
  const randomFraction = opts.randomFraction ?? 1 / 3;
  const models = new Map<number, { sampler: Sampler; list: FrozenTrial[]; seen: Set<number> }>();
  let study: string | undefined;

  const budgets = (view: StudyView): number[] => {
    let top = typeof opts.maxResource === 'number' ? opts.maxResource : 0;
    if (top === 0)
      for (const t of [...view.finished, ...view.running])
        for (const s of t.intermediate.keys()) top = Math.max(top, s);
    const out: number[] = [];
    for (let b = minResource; b <= top; b *= eta) out.push(b);
    return out;
  };

  const observe = (view: StudyView, b: number): { sampler: Sampler; list: FrozenTrial[] } => {
    let m = models.get(b);
    if (!m) {
      m = {
        sampler: tpeSampler({ seed: rng.nextU32(), multivariate: true, nStartupTrials: 1, considerMagicClip: true }),
        list: [],
        seen: new Set(),
      };
      models.set(b, m);
    }
    for (const t of [...view.finished, ...view.running]) {
      if (m.seen.has(t.id) || t.state === 'FAILED') continue;
      let at = Infinity;
      let v: number | undefined;
      for (const [s, x] of t.intermediate) if (s >= b && s < at) [at, v] = [s, x];
      if (v === undefined || Number.isNaN(v)) continue;
      m.seen.add(t.id);
      m.list.push({ ...t, state: 'COMPLETE', values: [v] });
    }
    return m;
  };

  return {
    name: 'bohb',
    sampleRelative(view, trial): RelativeSample {
      if (view.directions.length > 1) return { params: {} };
      if (study !== view.studyName) {
        models.clear();
        study = view.studyName;
      }
      if (rng.random() < randomFraction) return { params: {}, attrs: { 'bohb:budget': null } };
      const bs = budgets(view);
      for (let i = bs.length - 1; i >= 0; i--) {
        const m = observe(view, bs[i]);
        const nParams = m.list.length ? Object.keys(m.list[0].distributions).length : 0;
        const need = opts.minPointsInModel ?? Math.max(5, nParams + 2);
        if (m.list.length < need) continue;
        const sub: StudyView = {
          studyName: `${view.studyName}#bohb@${bs[i]}`,
          directions: view.directions,
          finished: m.list,
          running: [],
        };
        const r = m.sampler.sampleRelative!(sub, trial);
        return { params: r.params, attrs: { 'bohb:budget': bs[i] } };
      }
      return { params: {}, attrs: { 'bohb:budget': null } };
    },
    sampleIndependent: (_v, _t, _n, d) => sampleUniform(rng, d),
  };
}

/** BOHB = this sampler + a Hyperband pruner with the same resources. */
export function bohb(opts: BohbOptions = {}): { readonly sampler: Sampler; readonly pruner: HyperbandPruner } {
  return { sampler: bohbSampler(opts), pruner: hyperbandPruner(opts) };
}
