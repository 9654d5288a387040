// The Sampler extension point, the StudyView it reads, and search-space helpers samplers share.
import { distributionKey, type Distribution } from '../distributions.js';
import type { Direction, FrozenTrial, JsonValue } from '../types.js';

/**
 * What samplers and pruners see of a study: an immutable snapshot taken when a trial starts (or reports).
 * `finished` is append-only across snapshots of one study (finish order), so samplers can cache per index.
 */
export interface StudyView {
  readonly studyName: string;
  readonly directions: readonly Direction[];
  /** COMPLETE, PRUNED and FAILED trials in the order they finished. */
  readonly finished: readonly FrozenTrial[];
  /** Trials other workers are running now (the trial being sampled is not among them). */
  readonly running: readonly FrozenTrial[];
}

/** A jointly proposed parameter: its distribution and internal value. */
export interface RelativeParam {
  readonly distribution: Distribution;
  /** Internal value (category index for categoricals). */
  readonly internal: number;
}

/** What `sampleRelative` proposes: parameters by name, and system attributes to store on the trial. */
export interface RelativeSample {
  readonly params: Readonly<Record<string, RelativeParam>>;
  /** System attributes to store on the trial (e.g. the CMA-ES generation it belongs to). */
  readonly attrs?: Readonly<Record<string, JsonValue>>;
}

/**
 * Proposes parameter values.
 *
 * Contract:
 * - Methods are synchronous and see immutable snapshots; a sampler never writes to storage itself.
 * - `sampleRelative` runs once when a trial starts and may propose several parameters jointly; the trial uses a
 *   proposal only when the objective later asks for that name with the same distribution.
 * - `sampleIndependent` proposes one parameter the relative step did not cover; it must return an internal value
 *   inside `distribution` (a category index for categoricals).
 * - One sampler instance serves one study (it may cache per study); with the same seed and the same sequence of
 *   calls it returns the same values (reproducible). With several workers, results depend on timing.
 */
export interface Sampler {
  readonly name: string;
  /**
   * Proposes several parameters jointly when a trial starts (optional); used only where the objective later asks for
   * the same name and distribution.
   */
  sampleRelative?(study: StudyView, trial: FrozenTrial): RelativeSample;
  /**
   * Proposes one parameter not covered by `sampleRelative`: an internal value inside `distribution` (a category index
   * for categoricals).
   */
  sampleIndependent(study: StudyView, trial: FrozenTrial, name: string, distribution: Distribution): number;
}

/** Sign to turn a direction into minimization. */
export const sign = (d: Direction): number => (d === 'minimize' ? 1 : -1);

/**
 * The parameters (with identical distributions) that every COMPLETE trial has: the space relative samplers work in.
 * Updated incrementally from the append-only `finished` list.
 */
export class IntersectionSpace {
  private space: Map<string, Distribution> | null = null;
  private seen = 0;

  update(finished: readonly FrozenTrial[]): ReadonlyMap<string, Distribution> {
    for (; this.seen < finished.length; this.seen++) {
      const t = finished[this.seen];
      if (t.state !== 'COMPLETE') continue;
      if (this.space === null) {
        this.space = new Map(Object.entries(t.distributions));
        continue;
      }
      for (const [k, d] of this.space) {
        const td = t.distributions[k];
        if (!td || distributionKey(td) !== distributionKey(d)) this.space.delete(k);
      }
    }
    return this.space ?? new Map();
  }
}

/**
 * Groups of parameters that always appear together (Optuna's group decomposition): a conditional space like
 * {optimizer: sgd -> momentum; adam -> beta1, beta2} becomes {optimizer}, {momentum}, {beta1, beta2}.
 */
export class GroupSpace {
  private groups: Map<string, Distribution>[] = [];
  private seen = 0;

  update(finished: readonly FrozenTrial[]): readonly ReadonlyMap<string, Distribution>[] {
    for (; this.seen < finished.length; this.seen++) {
      const t = finished[this.seen];
      if (t.state !== 'COMPLETE') continue;
      const keys = new Set(Object.keys(t.distributions));
      const next: Map<string, Distribution>[] = [];
      for (const g of this.groups) {
        const inT = new Map([...g].filter(([k]) => keys.has(k)));
        const out = new Map([...g].filter(([k]) => !keys.has(k)));
        if (inT.size) next.push(inT);
        if (out.size) next.push(out);
        for (const k of inT.keys()) keys.delete(k);
      }
      if (keys.size) next.push(new Map([...keys].map((k) => [k, t.distributions[k]])));
      this.groups = next;
    }
    return this.groups;
  }
}
