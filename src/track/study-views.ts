// HPO studies as the UI's study views see them: a read-only StudySource, and the analyses those views plot.
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
 * Importance of each parameter for the first objective: the share of the objective's variance explained by the
 * parameter alone (correlation ratio η² over up to 8 quantile bins for numbers, one bin per category), normalized to sum to 1.
 */
export function paramImportance(trials: readonly TrialRecord[]): { param: string; importance: number }[] {
  const done = complete(trials);
  if (done.length < 2) return [];
  const ys = done.map((t) => t.values[0]);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const total = ys.reduce((a, y) => a + (y - mean) ** 2, 0);
  const names = [...new Set(done.flatMap((t) => Object.keys(t.params)))].sort();
  const raw = names.map((param) => {
    const pairs = done
      .filter((t) => t.params[param] !== undefined)
      .map((t) => ({ x: t.params[param], y: t.values[0] }));
    const groups = new Map<string, number[]>();
    if (pairs.every((p) => typeof p.x === 'number')) {
      const sorted = pairs.map((p) => p.x as number).sort((a, b) => a - b);
      const bins = Math.min(8, new Set(sorted).size);
      const edges = Array.from({ length: bins - 1 }, (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / bins)]);
      for (const p of pairs) {
        const b = edges.filter((e) => (p.x as number) >= e).length;
        groups.set(String(b), [...(groups.get(String(b)) ?? []), p.y]);
      }
    } else for (const p of pairs) groups.set(String(p.x), [...(groups.get(String(p.x)) ?? []), p.y]);
    let between = 0;
    for (const g of groups.values()) {
      const m = g.reduce((a, b) => a + b, 0) / g.length;
      between += g.length * (m - mean) ** 2;
    }
    return { param, importance: total > 0 ? between / total : 0 };
  });
  const sum = raw.reduce((a, r) => a + r.importance, 0);
  return raw
    .map((r) => ({ param: r.param, importance: sum > 0 ? r.importance / sum : 0 }))
    .sort((a, b) => b.importance - a.importance);
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
