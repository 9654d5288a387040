// Study: a named optimization over one storage. Two ways to drive it: `optimize(objective, ...)` runs trials
// (several at once with `workers`, any number of processes on one storage), or `ask()` / `tell()` by hand.
import { categoricalDistribution, floatDistribution, toInternal, type Distribution } from './distributions.js';
import { SearchSpaceError, StorageError, TrialPruned } from './errors.js';
import { Heartbeat, resolveHeartbeat, workerId, type HeartbeatOptions, type ResolvedHeartbeat } from './heartbeat.js';
import type { Pruner } from './pruners/pruner.js';
import { nsga2Sampler } from './samplers/nsga2.js';
import type { RelativeParam, Sampler, StudyView } from './samplers/sampler.js';
import { tpeSampler } from './samplers/tpe.js';
import { openStorage } from './storage/open.js';
import type { NewParam, Storage, StudyRecord } from './storage/storage.js';
import { Trial, type TrialHost } from './trial.js';
import { paretoFront } from './pareto.js';
import type { Direction, FrozenTrial, JsonValue, ParamValue, TrialState } from './types.js';

/** What an objective returns: one value, or one per objective of a multi-objective study. */
export type ObjectiveResult = number | readonly number[];
/**
 * The function a study optimizes: receives a {@link Trial}, suggests parameters through it and returns its value(s);
 * throwing TrialPruned ends the trial PRUNED, any other error FAILED.
 */
export type Objective = (trial: Trial) => ObjectiveResult | Promise<ObjectiveResult>;

/**
 * Options of {@link Study.create}: name, storage, direction(s), sampler, pruner, whether to join an existing study,
 * heartbeats and a log sink.
 */
export interface StudyOptions {
  /** Default: `study-<timestamp>`. */
  readonly name?: string;
  /** A Storage or a URL (`memory:`, `sqlite:///file.db`, `postgres://...`); default `memory:`. */
  readonly storage?: Storage | string;
  readonly direction?: Direction;
  /** Several objectives (multi-objective study). */
  readonly directions?: readonly Direction[];
  /** Default: TPE for one objective, NSGA-II for several. */
  readonly sampler?: Sampler;
  /** Default: no pruning. */
  readonly pruner?: Pruner;
  /** Join the study if it exists (its directions must match). Default true. */
  readonly loadIfExists?: boolean;
  /** Heartbeats for RUNNING trials; default on for SQLite/PostgreSQL (5 s beat, 30 s grace), off for memory. */
  readonly heartbeat?: HeartbeatOptions | false;
  /** Structured log sink (one object per event). */
  readonly log?: (record: Readonly<Record<string, unknown>>) => void;
}

/**
 * Options of {@link Study.optimize}: how many trials to run (per call, or a study-wide budget), a timeout, concurrency,
 * error handling, per-trial callbacks and the polling period.
 */
export interface OptimizeOptions {
  /** Trials this call runs (like Optuna's n_trials). */
  readonly nTrials?: number;
  /** Study-wide budget: stop when the study holds this many trials (atomic across workers and processes). */
  readonly maxTrials?: number;
  /** Seconds; no new trial starts after it. */
  readonly timeout?: number;
  /** Trials run at once in this process (async objectives overlap their waits). Default 1. */
  readonly workers?: number;
  /** Keep going when the objective throws (the trial is FAILED either way). Default false: stop and rethrow. */
  readonly catch?: boolean;
  /** Called after each trial this call finishes. */
  readonly callbacks?: readonly ((study: Study, trial: FrozenTrial) => void | Promise<void>)[];
  /** How often an idle worker polls for re-queued trials while others run (ms, default: heartbeat interval / 2). */
  readonly pollMs?: number;
}

/** The objective threw: names the trial; the trial is stored FAILED with the message. */
export class ObjectiveError extends Error {
  constructor(
    readonly trialNumber: number,
    cause: unknown,
  ) {
    super(`trial ${trialNumber} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ObjectiveError';
  }
}

/** What {@link Study.tell} accepts: the objective's value(s) for a COMPLETE trial, or the PRUNED or FAILED state. */
export type TellResult =
  | ObjectiveResult
  | { readonly state: 'PRUNED' }
  | { readonly state: 'FAILED'; readonly error?: unknown };

/**
 * A named hyperparameter optimization over one storage (Optuna's model): `optimize` runs trials of an objective
 * (several at once, from any number of processes sharing the storage), or drive it by hand with `ask`/`tell`;
 * `bestTrial`, `bestTrials` and `trials` read the results.
 */
export class Study {
  private finished: FrozenTrial[] = [];
  private cursor = 0;
  private running: readonly FrozenTrial[] = [];
  private refreshing: Promise<void> = Promise.resolve();
  private readonly live = new Map<number, Trial>();
  private readonly heartbeat: Heartbeat | null;
  private readonly worker = workerId();

  private constructor(
    readonly storage: Storage,
    private readonly record: StudyRecord,
    readonly sampler: Sampler,
    readonly pruner: Pruner | undefined,
    readonly beat: ResolvedHeartbeat | null,
    private readonly log: (r: Readonly<Record<string, unknown>>) => void,
    private readonly ownsStorage: boolean,
  ) {
    this.heartbeat = beat ? new Heartbeat(storage, beat.intervalMs) : null;
  }

  /** Creates (or, by default, joins) a study. */
  static async create(opts: StudyOptions = {}): Promise<Study> {
    const directions = resolveDirections(opts);
    const owns = typeof opts.storage !== 'object';
    const storage = typeof opts.storage === 'object' ? opts.storage : await openStorage(opts.storage ?? 'memory:');
    try {
      const name = opts.name ?? `study-${Date.now()}`;
      const record = await storage.createStudy(name, directions, { loadIfExists: opts.loadIfExists ?? true });
      const sampler = opts.sampler ?? (directions.length > 1 ? nsga2Sampler() : tpeSampler());
      return new Study(
        storage,
        record,
        sampler,
        opts.pruner,
        resolveHeartbeat(opts.heartbeat, storage),
        opts.log ?? (() => undefined),
        owns,
      );
    } catch (err) {
      if (owns) await storage.close();
      throw err;
    }
  }

  get name(): string {
    return this.record.name;
  }

  get id(): number {
    return this.record.id;
  }

  get directions(): readonly Direction[] {
    return this.record.directions;
  }

  get multiObjective(): boolean {
    return this.record.directions.length > 1;
  }

  /** Closes the storage if the study opened it from a URL. */
  async close(): Promise<void> {
    if (this.ownsStorage) await this.storage.close();
  }

  /** The latest snapshot (call `refresh()` to update it). */
  view(except?: number): StudyView {
    return {
      studyName: this.record.name,
      directions: this.record.directions,
      finished: this.finished,
      running: except === undefined ? this.running : this.running.filter((t) => t.id !== except),
    };
  }

  /** Pulls newly finished trials (incrementally) and the running ones from storage. */
  async refresh(): Promise<StudyView> {
    const next = this.refreshing.then(async () => {
      const page = await this.storage.finishedSince(this.record.id, this.cursor);
      for (const t of page.trials) this.finished.push(t);
      this.cursor = page.cursor;
      this.running = await this.storage.getTrials(this.record.id, ['RUNNING']);
    });
    this.refreshing = next.catch(() => undefined);
    await next;
    return this.view();
  }

  /**
   * Starts a trial: claims a WAITING one (enqueued or re-queued) if any, else creates one. With `maxTrials`, returns
   * null once the study's budget is used. `fixed` suggests those parameters right away (define-and-run style).
   */
  async ask(fixed?: Readonly<Record<string, Distribution>>): Promise<Trial>;
  async ask(
    fixed: Readonly<Record<string, Distribution>> | undefined,
    opts: { maxTrials: number },
  ): Promise<Trial | null>;
  async ask(fixed?: Readonly<Record<string, Distribution>>, opts: { maxTrials?: number } = {}): Promise<Trial | null> {
    const view = await this.refresh();
    let frozen = await this.storage.claimWaiting(this.record.id, this.worker);
    frozen ??= await this.storage.createTrial(
      this.record.id,
      { state: 'RUNNING', worker: this.worker },
      opts.maxTrials,
    );
    if (!frozen) return null;
    this.heartbeat?.start(frozen.id);
    try {
      const snapshot = { ...view, running: view.running.filter((t) => t.id !== frozen!.id) };
      let relative: Readonly<Record<string, RelativeParam>> = {};
      if (this.sampler.sampleRelative) {
        const r = this.sampler.sampleRelative(snapshot, frozen);
        relative = r.params;
        for (const [k, v] of Object.entries(r.attrs ?? {})) await this.storage.setTrialAttr(frozen.id, 'system', k, v);
        if (r.attrs) frozen = { ...frozen, systemAttrs: { ...frozen.systemAttrs, ...r.attrs } };
      }
      const trial = new Trial(this.host(), frozen, snapshot, relative);
      this.live.set(trial.number, trial);
      for (const [k, d] of Object.entries(fixed ?? {})) trial.suggest(k, d);
      return trial;
    } catch (err) {
      await this.finishTrial(frozen.id, 'FAILED', null, err);
      throw err;
    }
  }

  /** Finishes a trial started with `ask()`: values (COMPLETE), or an explicit PRUNED / FAILED state. */
  async tell(trial: Trial | number, result: TellResult): Promise<FrozenTrial> {
    const number = typeof trial === 'number' ? trial : trial.number;
    const t = this.live.get(number);
    const id = typeof trial === 'number' ? t?.id : trial.id;
    if (id === undefined)
      throw new StorageError(
        `study '${this.name}': trial ${number} was not started by this Study object (tell needs the trial from ask())`,
      );
    let writeError: unknown;
    if (t) await t.flush().catch((e) => (writeError = e));
    this.live.delete(number);
    if (typeof result === 'object' && result !== null && 'state' in result) {
      const err = result.state === 'FAILED' ? (result.error ?? writeError) : undefined;
      await this.finishTrial(id, result.state, null, err);
      return this.storage.getTrial(id);
    }
    const values = typeof result === 'number' ? [result] : Array.isArray(result) ? result : null;
    const problem = writeError
      ? `a storage write failed: ${(writeError as Error).message}`
      : values === null
        ? `the objective returned ${JSON.stringify(result)}, not a number or a list of numbers`
        : values.length !== this.directions.length
          ? `the objective returned ${values.length} value(s) for ${this.directions.length} objective(s)`
          : values.some((v) => typeof v !== 'number' || Number.isNaN(v))
            ? `the objective returned ${JSON.stringify(values)} (NaN or not a number)`
            : null;
    if (problem) {
      this.log({ event: 'trial_failed', study: this.name, trial: number, reason: problem });
      await this.finishTrial(id, 'FAILED', null, new Error(problem));
    } else await this.finishTrial(id, 'COMPLETE', values as number[], undefined);
    return this.storage.getTrial(id);
  }

  /** Queues a trial with fixed parameters; the next worker to ask runs it first. */
  async enqueueTrial(
    params: Readonly<Record<string, ParamValue>>,
    distributions: Readonly<Record<string, Distribution>> = {},
  ): Promise<FrozenTrial> {
    const fixed: Record<string, NewParam> = {};
    for (const [k, v] of Object.entries(params)) {
      const d =
        distributions[k] ?? (typeof v === 'number' ? floatDistribution(k, v, v) : categoricalDistribution(k, [v]));
      fixed[k] = { distribution: d, internal: toInternal(k, d, v) };
    }
    return (await this.storage.createTrial(this.record.id, { state: 'WAITING', params: fixed }))!;
  }

  /**
   * Runs the objective on new trials until `nTrials` (this call) or `maxTrials` (study-wide) or `timeout`.
   * A TrialPruned thrown by the objective ends the trial PRUNED; any other error ends it FAILED and, unless
   * `catch`, stops the run and rethrows as ObjectiveError (trials already running in other workers finish first).
   */
  async optimize(objective: Objective, opts: OptimizeOptions = {}): Promise<void> {
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1)
      throw new RangeError(`optimize: workers must be a positive integer, got ${workers}`);
    for (const k of ['nTrials', 'maxTrials'] as const) {
      const v = opts[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0))
        throw new RangeError(`optimize: ${k} must be a non-negative integer, got ${v}`);
    }
    if (opts.timeout !== undefined && !(opts.timeout > 0))
      throw new RangeError(`optimize: timeout must be > 0 seconds, got ${opts.timeout}`);
    if (opts.nTrials === undefined && opts.maxTrials === undefined && opts.timeout === undefined)
      throw new RangeError('optimize: give nTrials, maxTrials or timeout');
    const deadline = opts.timeout !== undefined ? Date.now() + opts.timeout * 1000 : Infinity;
    const pollMs = opts.pollMs ?? (this.beat ? Math.max(20, this.beat.intervalMs / 2) : 50);
    let started = 0;
    let stopError: unknown;
    const loop = async (): Promise<void> => {
      for (;;) {
        if (stopError !== undefined || Date.now() >= deadline) return;
        if (opts.nTrials !== undefined && started >= opts.nTrials) return;
        if (this.beat)
          await this.storage
            .failStale(this.record.id, this.beat.graceMs, this.beat.maxRetries)
            .then((f) =>
              f.forEach((t) =>
                this.log({ event: 'trial_stale', study: this.name, trial: t.number, requeued: t.retriedBy }),
              ),
            );
        started++;
        const trial =
          opts.maxTrials !== undefined ? await this.ask(undefined, { maxTrials: opts.maxTrials }) : await this.ask();
        if (!trial) {
          started--;
          // Budget used. Wait while trials are RUNNING elsewhere (one may die and be re-queued) or WAITING.
          const c = await this.storage.counts(this.record.id);
          if (!this.beat || (c.RUNNING === 0 && c.WAITING === 0)) return;
          await sleep(pollMs);
          continue;
        }
        const done = await this.runTrial(trial, objective);
        if (done.error !== undefined && !opts.catch) stopError ??= new ObjectiveError(trial.number, done.error);
        for (const cb of opts.callbacks ?? []) await cb(this, done.trial);
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
    if (stopError !== undefined) throw stopError;
  }

  private async runTrial(trial: Trial, objective: Objective): Promise<{ trial: FrozenTrial; error?: unknown }> {
    let result: ObjectiveResult;
    try {
      result = await objective(trial);
    } catch (err) {
      if (err instanceof TrialPruned) return { trial: await this.tell(trial, { state: 'PRUNED' }) };
      this.log({
        event: 'trial_failed',
        study: this.name,
        trial: trial.number,
        error: (err as Error)?.message ?? String(err),
      });
      return { trial: await this.tell(trial, { state: 'FAILED', error: err }), error: err };
    }
    return { trial: await this.tell(trial, result) };
  }

  private async finishTrial(
    id: number,
    state: 'COMPLETE' | 'PRUNED' | 'FAILED',
    values: number[] | null,
    error: unknown,
  ): Promise<void> {
    this.heartbeat?.stop(id);
    if (error !== undefined) {
      const msg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      await this.storage.setTrialAttr(id, 'system', 'fail_reason', msg.slice(0, 2000)).catch(() => undefined);
    }
    const ok = await this.storage.finishTrial(id, state, values);
    if (!ok)
      this.log({
        event: 'trial_result_refused',
        study: this.name,
        trialId: id,
        reason: 'the trial is no longer RUNNING (its heartbeat expired); this result is not counted',
      });
  }

  private host(): TrialHost {
    return {
      storage: this.storage,
      sampler: this.sampler,
      view: () => this.view(),
      refreshView: () => this.refresh(),
      shouldPrune: (view, trial) =>
        this.pruner && !this.multiObjective
          ? this.pruner.prune({ ...view, running: view.running.filter((t) => t.id !== trial.id) }, trial)
          : false,
      multiObjective: this.multiObjective,
    };
  }

  // ---- analysis shortcuts -------------------------------------------------------------------------------

  /** The study's trials in number order, optionally only those in `states`. */
  async trials(states?: readonly TrialState[]): Promise<readonly FrozenTrial[]> {
    return this.storage.getTrials(this.record.id, states);
  }

  /** The best COMPLETE trial (single objective); throws if there is none. */
  async bestTrial(): Promise<FrozenTrial> {
    if (this.multiObjective)
      throw new Error(
        `study '${this.name}' has ${this.directions.length} objectives: use bestTrials() (the Pareto front)`,
      );
    const s = this.directions[0] === 'minimize' ? 1 : -1;
    let best: FrozenTrial | undefined;
    for (const t of await this.trials(['COMPLETE'])) if (!best || s * t.values![0] < s * best.values![0]) best = t;
    if (!best) throw new Error(`study '${this.name}' has no COMPLETE trial yet`);
    return best;
  }

  /**
   * The value of the best COMPLETE trial (single objective); throws when there is none or the study has several
   * objectives.
   */
  async bestValue(): Promise<number> {
    return (await this.bestTrial()).values![0];
  }

  /**
   * The parameters of the best COMPLETE trial (single objective); throws when there is none or the study has several
   * objectives.
   */
  async bestParams(): Promise<Readonly<Record<string, ParamValue>>> {
    return (await this.bestTrial()).params;
  }

  /** The Pareto-optimal COMPLETE trials. */
  async bestTrials(): Promise<readonly FrozenTrial[]> {
    return paretoFront(await this.trials(['COMPLETE']), this.directions);
  }

  /** Sets a user attribute of the study (any JSON value). */
  async setUserAttr(key: string, value: JsonValue): Promise<void> {
    await this.storage.setStudyAttr(this.record.id, 'user', key, value);
  }
}

function resolveDirections(opts: StudyOptions): Direction[] {
  if (opts.direction && opts.directions) throw new SearchSpaceError('give direction or directions, not both');
  const ds = opts.directions ? [...opts.directions] : [opts.direction ?? 'minimize'];
  if (ds.length === 0) throw new SearchSpaceError('directions must not be empty');
  for (const d of ds)
    if (d !== 'minimize' && d !== 'maximize')
      throw new SearchSpaceError(`direction must be 'minimize' or 'maximize', got ${JSON.stringify(d)}`);
  return ds;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
