// Trial: what an objective talks to. Suggestions are synchronous (sampled from the snapshot taken when the trial
// started); their storage writes are queued in order and awaited at the next report/prune check and at the end.
import {
  categoricalDistribution,
  contains,
  distributionKey,
  floatDistribution,
  intDistribution,
  toExternal,
  toInternal,
  validateDistribution,
  type Distribution,
} from './distributions.js';
import { SearchSpaceError } from './errors.js';
import type { Sampler, StudyView } from './samplers/sampler.js';
import type { Storage } from './storage/storage.js';
import type { CategoricalChoice, FrozenTrial, JsonValue, ParamValue } from './types.js';
import type { RelativeParam } from './samplers/sampler.js';

/** What a Trial needs from its study (kept narrow so tests and the pruning hook can build one). */
export interface TrialHost {
  readonly storage: Storage;
  readonly sampler: Sampler;
  view(): StudyView;
  refreshView(): Promise<StudyView>;
  shouldPrune(view: StudyView, trial: FrozenTrial): boolean;
  readonly multiObjective: boolean;
}

/**
 * One trial of a study, what an objective talks to: suggestions are synchronous (sampled from the snapshot taken when
 * the trial started), and their storage writes are queued and awaited at the next report, prune check or the end.
 */
export class Trial {
  readonly number: number;
  readonly id: number;
  private readonly values = new Map<string, { distribution: Distribution; internal: number }>();
  private readonly intermediate = new Map<number, number>();
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly adopted = new Set<string>();

  constructor(
    private readonly host: TrialHost,
    private readonly frozen: FrozenTrial,
    private readonly snapshot: StudyView,
    private readonly relative: Readonly<Record<string, RelativeParam>>,
  ) {
    this.number = frozen.number;
    this.id = frozen.id;
    for (const [k, d] of Object.entries(frozen.distributions))
      this.values.set(k, { distribution: d, internal: frozen.internal[k] });
  }

  /** Parameters suggested so far (as the objective saw them). */
  get params(): Readonly<Record<string, ParamValue>> {
    return Object.fromEntries([...this.values].map(([k, v]) => [k, toExternal(v.distribution, v.internal)]));
  }

  get distributions(): Readonly<Record<string, Distribution>> {
    return Object.fromEntries([...this.values].map(([k, v]) => [k, v.distribution]));
  }

  /**
   * A float in [low, high] for parameter `name`: log-uniform with `log`, on a grid of `step` otherwise if given; the
   * same name again returns the same value; throws a SearchSpaceError on invalid bounds or a conflicting earlier
   * suggestion.
   */
  suggestFloat(name: string, low: number, high: number, opts: { log?: boolean; step?: number | null } = {}): number {
    return this.suggest(name, floatDistribution(name, low, high, opts)) as number;
  }

  /**
   * An integer in [low, high] for parameter `name` (on a grid of `step`, default 1; log-uniform with `log`); the same
   * name again returns the same value; throws a SearchSpaceError on invalid bounds or a conflicting earlier suggestion.
   */
  suggestInt(name: string, low: number, high: number, opts: { log?: boolean; step?: number } = {}): number {
    return this.suggest(name, intDistribution(name, low, high, opts)) as number;
  }

  /**
   * One of `choices` (strings, numbers, booleans or null, distinct) for parameter `name`; the same name again returns
   * the same value; throws a SearchSpaceError on an empty or invalid list or a conflicting earlier suggestion.
   */
  suggestCategorical<T extends CategoricalChoice>(name: string, choices: readonly T[]): T {
    return this.suggest(name, categoricalDistribution(name, choices)) as T;
  }

  /** Suggests a value for `name` from any distribution (validated); the same name twice returns the same value. */
  suggest(name: string, distribution: Distribution): ParamValue {
    if (typeof name !== 'string' || name === '')
      throw new SearchSpaceError(`trial ${this.number}: parameter name must be a non-empty string`);
    const d = validateDistribution(name, distribution);
    const have = this.values.get(name);
    if (have) {
      if (distributionKey(have.distribution) === distributionKey(d)) return toExternal(d, have.internal);
      if (this.frozen.distributions[name] && !this.adopted.has(name)) {
        // A fixed value (enqueued or re-queued trial) stored under another distribution: keep the value if the
        // objective's distribution holds it, and record the objective's distribution.
        const internal = toInternal(name, d, toExternal(have.distribution, have.internal));
        this.adopted.add(name);
        this.values.set(name, { distribution: d, internal });
        this.queue(() => this.host.storage.setParam(this.id, name, { distribution: d, internal }));
        return toExternal(d, internal);
      }
      throw new SearchSpaceError(
        `parameter '${name}': trial ${this.number} already suggested it from a different distribution (${distributionKey(have.distribution)} vs ${distributionKey(d)})`,
      );
    }
    const rel = this.relative[name];
    let internal: number;
    if (rel && distributionKey(rel.distribution) === distributionKey(d) && contains(d, rel.internal))
      internal = rel.internal;
    else internal = this.host.sampler.sampleIndependent(this.snapshot, this.frozen, name, d);
    if (!contains(d, internal))
      throw new Error(
        `sampler '${this.host.sampler.name}' returned ${internal} for '${name}', outside ${distributionKey(d)}`,
      );
    this.values.set(name, { distribution: d, internal });
    this.queue(() => this.host.storage.setParam(this.id, name, { distribution: d, internal }));
    return toExternal(d, internal);
  }

  /** Records an intermediate objective value (e.g. validation loss after `step` epochs). */
  async report(value: number, step: number): Promise<void> {
    if (this.host.multiObjective)
      throw new Error(
        `trial ${this.number}: report() is for single-objective studies (pruning is not defined for several objectives)`,
      );
    if (typeof value !== 'number')
      throw new TypeError(`trial ${this.number}: report(value) needs a number, got ${typeof value}`);
    if (!Number.isInteger(step) || step < 0)
      throw new TypeError(`trial ${this.number}: report step must be a non-negative integer, got ${step}`);
    this.intermediate.set(step, value);
    this.queue(() => this.host.storage.reportIntermediate(this.id, step, value));
    await this.flush();
  }

  /** Asks the study's pruner about the latest reported step (refreshes the study snapshot first). */
  async shouldPrune(): Promise<boolean> {
    await this.flush();
    if (this.host.multiObjective || this.intermediate.size === 0) return false;
    const view = await this.host.refreshView();
    return this.host.shouldPrune(view, this.freeze());
  }

  /** Sets a user attribute of the trial (any JSON value); the write is queued like the suggestions'. */
  setUserAttr(key: string, value: JsonValue): void {
    this.queue(() => this.host.storage.setTrialAttr(this.id, 'user', key, value));
  }

  /** Waits for queued writes; rethrows the first write that failed. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.failure !== undefined) {
      const f = this.failure;
      this.failure = undefined;
      throw f;
    }
  }

  /** A snapshot of this trial as the sampler/pruner would see it. */
  freeze(): FrozenTrial {
    const params: Record<string, ParamValue> = {};
    const internal: Record<string, number> = {};
    const distributions: Record<string, Distribution> = {};
    for (const [k, v] of this.values) {
      params[k] = toExternal(v.distribution, v.internal);
      internal[k] = v.internal;
      distributions[k] = v.distribution;
    }
    return {
      ...this.frozen,
      params,
      internal,
      distributions,
      intermediate: new Map([...this.frozen.intermediate, ...this.intermediate]),
    };
  }

  private queue(write: () => Promise<void>): void {
    this.pending = this.pending.then(write).catch((err) => {
      if (this.failure === undefined) this.failure = err;
    });
  }
}
