// HPO studies as the UI's study views see them: a read-only StudySource, and the analyses those views plot.
import { forestImportance } from '../util/forest-importance.js';
import type { Direction, TrialState } from '../util/study-types.js';

export type { Direction, TrialState } from '../util/study-types.js';

/** One HPO study as the UI lists it: id, name, optimisation directions (one per objective) and trial count. */
export interface StudySummary {
  readonly id: string;
  readonly name: string;
  readonly directions: readonly Direction[];
  readonly trials: number;
}

/**
 * One trial of a study as the UI plots it: number, state, parameters, objective values and start/end times (ms since
 * the epoch).
 */
export interface TrialRecord {
  readonly number: number;
  readonly state: TrialState;
  readonly params: Readonly<Record<string, number | string>>;
  /** One value per objective; null unless complete. */
  readonly values: readonly number[] | null;
  /**
   * The tuner's numeric form of each parameter (numbers as they are, categoricals as their index among the choices):
   * what importance is computed on. Without it, numbers are used as they are and texts as their rank.
   */
  readonly internal?: Readonly<Record<string, number>>;
  /** Parameters sampled on a log scale (log axes in the plots, their logarithm in importance). */
  readonly logParams?: readonly string[];
  /** Intermediate values the trial reported (`trial.report(value, step)`), as [step, value] in step order. */
  readonly intermediate?: readonly (readonly [number, number])[];
  readonly startedAt?: number;
  readonly completedAt?: number;
}

/**
 * Where the UI reads HPO studies from (the CLI wiring hands `lathe ui` an adapter over a tune storage).
 * Contract: read-only; `trials` returns every trial of the study in trial-number order, and throws an Error
 * whose message names the id when the study does not exist. Called from request handlers: keep it async.
 */
export interface StudySource {
  /** Every study, with its trial count. */
  listStudies(): Promise<readonly StudySummary[]>;
  /** One study; throws an Error naming the id when it does not exist. */
  getStudy(id: string): Promise<StudySummary>;
  /** Every trial of a study in trial-number order; throws an Error naming the id when it does not exist. */
  trials(id: string): Promise<readonly TrialRecord[]>;
}

/** A StudySource over studies held in memory (tests, demos, or a snapshot taken from elsewhere). */
export class InMemoryStudySource implements StudySource {
  private readonly studies = new Map<string, { summary: Omit<StudySummary, 'trials'>; trials: TrialRecord[] }>();

  /** Adds (or replaces) a study and its trials (sorted by number); returns this for chaining. */
  add(
    study: { readonly id: string; readonly name?: string; readonly directions: readonly Direction[] },
    trials: readonly TrialRecord[],
  ): this {
    this.studies.set(study.id, {
      summary: { id: study.id, name: study.name ?? study.id, directions: study.directions },
      trials: [...trials].sort((a, b) => a.number - b.number),
    });
    return this;
  }

  /** Every study added, with its trial count. */
  async listStudies(): Promise<readonly StudySummary[]> {
    return [...this.studies.values()].map((s) => ({ ...s.summary, trials: s.trials.length }));
  }

  /** One study; throws an Error naming the id when it was not added. */
  async getStudy(id: string): Promise<StudySummary> {
    const s = this.studies.get(id);
    if (!s) throw new Error(`study '${id}' not found`);
    return { ...s.summary, trials: s.trials.length };
  }

  /** The trials of one study in number order; throws an Error naming the id when it was not added. */
  async trials(id: string): Promise<readonly TrialRecord[]> {
    const s = this.studies.get(id);
    if (!s) throw new Error(`study '${id}' not found`);
    return s.trials;
  }
}

/** A complete trial with finite objective values. */
type CompleteTrial = TrialRecord & { readonly values: readonly number[] };

const complete = (trials: readonly TrialRecord[]): CompleteTrial[] =>
  trials.filter(
    (t): t is CompleteTrial => t.state === 'COMPLETE' && t.values !== null && t.values.every(Number.isFinite),
  );

/** Objective value of each complete trial and the best so far (first objective). */
export function optimizationHistory(
  trials: readonly TrialRecord[],
  direction: Direction,
): { number: number; value: number; best: number }[] {
  let best = direction === 'minimize' ? Infinity : -Infinity;
  return complete(trials).map((t) => {
    const v = t.values[0];
    best = direction === 'minimize' ? Math.min(best, v) : Math.max(best, v);
    return { number: t.number, value: v, best };
  });
}

/**
 * Importance of each parameter for the first objective: permutation importance on a small random forest
 * (`forestImportance`, the function `lathe tune` reports with), over the complete trials that have every parameter
 * of the first one, in trial-number order; log-scaled parameters as their logarithm. Needs 4 complete trials.
 */
export function paramImportance(trials: readonly TrialRecord[]): { param: string; importance: number }[] {
  const done = complete(trials).sort((a, b) => a.number - b.number);
  if (done.length < 4) return [];
  const names = Object.keys(done[0].params)
    .filter((n) => done.every((t) => t.params[n] !== undefined))
    .sort();
  if (names.length === 0) return [];
  const columns = names.map((n) => {
    const texts = [...new Set(done.map((t) => t.params[n]).filter((v) => typeof v === 'string'))].sort();
    return Float64Array.from(done, (t) => {
      const v = t.internal?.[n] ?? (typeof t.params[n] === 'number' ? t.params[n] : texts.indexOf(t.params[n]));
      return t.logParams?.includes(n) && v > 0 ? Math.log(v) : v;
    });
  });
  const y = Float64Array.from(done, (t) => t.values[0]);
  return forestImportance(names, columns, y).map((r) => ({ param: r.param, importance: r.importance }));
}

/** Trial numbers on the Pareto front (no other complete trial is at least as good in every objective and better in one). */
export function paretoFront(trials: readonly TrialRecord[], directions: readonly Direction[]): number[] {
  const done = complete(trials).filter((t) => t.values.length === directions.length);
  const better = (a: readonly number[], b: readonly number[]): boolean => {
    let strictly = false;
    for (let i = 0; i < directions.length; i++) {
      const [x, y] = directions[i] === 'minimize' ? [a[i], b[i]] : [-a[i], -b[i]];
      if (x > y) return false;
      if (x < y) strictly = true;
    }
    return strictly;
  };
  return done.filter((t) => !done.some((o) => o !== t && better(o.values, t.values))).map((t) => t.number);
}
