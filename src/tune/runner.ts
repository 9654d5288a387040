// Running a tune config: the search space it declares, the objective module it names, and N worker processes
// (child_process.fork of a worker entry the caller names; `lathe tune` uses src/cli/tune-worker.ts) sharing one
// storage. The library call behind `lathe tune`. The tuner knows no trainer: a training-config objective is built
// by a loader the caller passes (WorkerOptions.trainObjective; the CLI passes src/cli/train-objective.ts).
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validateDistribution, type Distribution } from './distributions.js';
import { SearchSpaceError } from './errors.js';
import { TuneConfigError, type ParamSpec, type TrainObjectiveSpec, type TuneConfig } from './config.js';
import { prunerFromConfig, samplerFromConfig } from './registry.js';
import { parseStorageUrl } from './storage/open.js';
import { Study, type Objective } from './study.js';
import type { Trial } from './trial.js';
import type { Direction, FrozenTrial, ParamValue } from './types.js';

export interface SpaceEntry {
  readonly distribution: Distribution;
  /** Present only when every listed parameter has one of the given values. */
  readonly when?: Readonly<Record<string, readonly ParamValue[]>>;
}

/** Validates a config's search space; errors name `space.<param>`. */
export function spaceFromConfig(space: Readonly<Record<string, ParamSpec>> = {}): Record<string, SpaceEntry> {
  const out: Record<string, SpaceEntry> = {};
  for (const [name, spec] of Object.entries(space)) {
    let distribution: Distribution;
    try {
      distribution =
        spec.type === 'categorical'
          ? validateDistribution(name, { type: 'categorical', choices: spec.choices })
          : spec.type === 'float'
            ? validateDistribution(name, {
                type: 'float',
                low: spec.low,
                high: spec.high,
                log: spec.log ?? false,
                step: spec.step ?? null,
              })
            : validateDistribution(name, {
                type: 'int',
                low: spec.low,
                high: spec.high,
                log: spec.log ?? false,
                step: spec.step ?? 1,
              });
    } catch (err) {
      throw new SearchSpaceError(`space.${name}: ${(err as Error).message.replace(/^parameter '[^']*': /, '')}`);
    }
    let when: Record<string, readonly ParamValue[]> | undefined;
    if (spec.when) {
      when = {};
      for (const [dep, v] of Object.entries(spec.when)) {
        if (!(dep in out))
          throw new SearchSpaceError(`space.${name}.when: '${dep}' must be a parameter declared before '${name}'`);
        when[dep] = Array.isArray(v) ? v : [v as ParamValue];
      }
    }
    out[name] = when ? { distribution, when } : { distribution };
  }
  return out;
}

/** Suggests every parameter of the space whose condition holds, in declaration order. */
export function suggestFromSpace(
  trial: Trial,
  space: Readonly<Record<string, SpaceEntry>>,
): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const [name, e] of Object.entries(space)) {
    if (e.when && !Object.entries(e.when).every(([dep, vs]) => dep in params && vs.includes(params[dep]))) continue;
    params[name] = trial.suggest(name, e.distribution);
  }
  return params;
}

/** What a worker passes an objective besides the trial: Trainer callbacks a training objective adds to its run. */
export interface ObjectiveContext {
  readonly callbacks: readonly object[];
}

/** The user's objective: `(trial, params) => number | number[]`, imported from `path#export` (default export `objective` or default). */
export type ConfigObjective = (
  trial: Trial,
  params: Readonly<Record<string, ParamValue>>,
  ctx?: ObjectiveContext,
) => ReturnType<Objective>;

/**
 * Watches a worker's trials (experiment tracking hooks in here from the CLI layer). `start` runs once the trial's
 * parameters are set, before the objective; its `callbacks` go to a training objective's Trainer; `end` gets the
 * finished trial (COMPLETE, PRUNED or FAILED). An error from `start` fails the trial like the objective's; one from
 * `end` is logged (the trial is already stored).
 */
export interface TrialObserver {
  /** Called once a trial's parameters are set, before the objective; an error here fails the trial. */
  start(study: string, trial: Trial, params: Readonly<Record<string, ParamValue>>): Promise<TrialObservation>;
  /** Called when the worker stops, after its last trial. */
  close?(): Promise<void>;
}

/**
 * What {@link TrialObserver.start} returns for one trial: Trainer callbacks for a training objective, and the hook
 * called when the trial finishes.
 */
export interface TrialObservation {
  readonly callbacks?: readonly object[];
  /** Called with the finished trial (COMPLETE, PRUNED or FAILED); an error here is logged, not raised. */
  end(trial: FrozenTrial): Promise<void>;
}

/** Builds the objective of a training-config spec (`objective: { train, monitor }`), checking it before any trial. */
export type TrainObjectiveLoader = (
  cfg: TuneConfig,
  spec: TrainObjectiveSpec,
  space: Readonly<Record<string, SpaceEntry>>,
  direction: Direction,
) => Promise<ConfigObjective>;

/**
 * Options of {@link runWorker}: a log sink, the training-objective loader, a per-trial callback and a trial observer.
 */
export interface WorkerOptions {
  /** Structured log sink (one object per event); default: none. */
  readonly log?: (r: Readonly<Record<string, unknown>>) => void;
  /** Builds training-config objectives (the tuner itself knows no trainer); without it such a config is refused. */
  readonly trainObjective?: TrainObjectiveLoader;
  /** Called after each trial this worker finished. */
  readonly onTrial?: (t: FrozenTrial) => void;
  readonly observer?: TrialObserver;
}

/**
 * The objective a config names: a module export, or (`objective: { train, monitor }`) a training config, built by
 * `trainObjective` (the CLI's loader runs it through the Trainer with pruning), checked before any trial starts.
 */
async function loadObjective(
  cfg: TuneConfig,
  space: Readonly<Record<string, SpaceEntry>> = spaceFromConfig(cfg.space),
  trainObjective?: TrainObjectiveLoader,
): Promise<ConfigObjective> {
  if (typeof cfg.objective !== 'string') {
    const directions = directionsOf(cfg);
    if (cfg.objective.latency) {
      if (directions.length !== 2 || directions[1] !== 'minimize')
        throw new TuneConfigError(
          'directions: a training objective with latency returns two values (the monitored metric, then latency in ms): use directions: [maximize|minimize, minimize]',
        );
    } else if (directions.length !== 1)
      throw new TuneConfigError(
        'objective.train: a training objective returns one metric; use direction, not directions (or add objective.latency for a second objective)',
      );
    if (!trainObjective)
      throw new TuneConfigError(
        'objective.train: a training objective needs a trainer; run it with `lathe tune`, or pass WorkerOptions.trainObjective',
      );
    return trainObjective(cfg, cfg.objective, space, directions[0]);
  }
  const [rel, exportName] = cfg.objective.split('#');
  const path = isAbsolute(rel) ? rel : resolve(cfg.configDir, rel);
  if (!existsSync(path)) throw new TuneConfigError(`objective: module '${path}' does not exist`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new TuneConfigError(`objective: cannot import '${path}': ${(err as Error).message}`);
  }
  const fn = exportName ? mod[exportName] : (mod.objective ?? mod.default);
  if (typeof fn !== 'function')
    throw new TuneConfigError(
      `objective: '${path}' has no function export '${exportName ?? 'objective'}' (exports: ${Object.keys(mod).join(', ') || 'none'})`,
    );
  return fn as ConfigObjective;
}

/** The storage URL a config runs on (CLI override first); relative SQLite paths are anchored at the config's folder. */
export function resolveStorageUrl(cfg: TuneConfig, override?: string): string {
  const url = override ?? cfg.storage ?? `sqlite:///${resolve(cfg.configDir, `${cfg.study}.tune.db`)}`;
  const loc = parseStorageUrl(url);
  if (loc.kind === 'sqlite' && !isAbsolute(loc.path) && !override)
    return `sqlite:///${resolve(cfg.configDir, loc.path)}`;
  return url;
}

export function directionsOf(cfg: TuneConfig): Direction[] {
  return cfg.directions ? [...cfg.directions] : [cfg.direction ?? 'minimize'];
}

/** Opens (creating if needed) the study a config describes. */
export async function openConfigStudy(
  cfg: TuneConfig,
  storageUrl: string,
  log?: (r: Readonly<Record<string, unknown>>) => void,
): Promise<Study> {
  const space = spaceFromConfig(cfg.space);
  const directions = directionsOf(cfg);
  const dists = Object.fromEntries(
    Object.entries(space)
      .filter(([, e]) => !e.when)
      .map(([k, e]) => [k, e.distribution]),
  );
  const sampler = samplerFromConfig(cfg.sampler as never, { directions: directions.length, space: dists });
  const pruner = prunerFromConfig(cfg.pruner as never, cfg.sampler as never);
  const hb = cfg.heartbeat;
  return Study.create({
    name: cfg.study,
    storage: storageUrl,
    directions,
    sampler,
    pruner,
    loadIfExists: true,
    log,
    heartbeat: hb
      ? {
          intervalMs: (hb.interval_s ?? 5) * 1000,
          graceMs: hb.grace_s !== undefined ? hb.grace_s * 1000 : undefined,
          requeue: hb.requeue,
        }
      : undefined,
  });
}

/** One worker: runs trials of the config's study until the study-wide budget (n_trials) or timeout. */
export async function runWorker(cfg: TuneConfig, storageUrl: string, opts: WorkerOptions = {}): Promise<void> {
  const space = spaceFromConfig(cfg.space);
  const objective = await loadObjective(cfg, space, opts.trainObjective);
  const study = await openConfigStudy(cfg, storageUrl, opts.log);
  const observed = new Map<number, TrialObservation>();
  const finished = async (_s: Study, t: FrozenTrial): Promise<void> => {
    const o = observed.get(t.number);
    observed.delete(t.number);
    // The trial is already stored: an observer that fails to record it is reported, not fatal to the study.
    await o?.end(t).catch((err: unknown) => {
      const record = {
        event: 'observer_failed',
        study: cfg.study,
        trial: t.number,
        error: (err as Error)?.message ?? String(err),
      };
      if (opts.log) opts.log(record);
      else process.emitWarning(`tune: recording trial ${t.number} failed: ${record.error}`);
    });
    opts.onTrial?.(t);
  };
  try {
    await study.optimize(
      async (trial) => {
        const params = suggestFromSpace(trial, space);
        await trial.flush(); // the config's parameters are durable before the objective runs (a re-queued copy gets them all)
        const o = await opts.observer?.start(cfg.study, trial, params);
        if (o) observed.set(trial.number, o);
        return objective(trial, params, { callbacks: o?.callbacks ?? [] });
      },
      { maxTrials: cfg.n_trials, timeout: cfg.timeout, catch: cfg.catch ?? false, callbacks: [finished] },
    );
  } finally {
    await study.close();
    await opts.observer?.close?.();
  }
}

export interface WorkerExit {
  readonly index: number;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Options of {@link runWorkers}: the worker script each child process runs and a hook that sees each child start. */
export interface RunWorkersOptions {
  /**
   * The worker script: `node <entry> <config> <storage-url>` runs trials until the budget is used (`lathe tune`'s is
   * src/cli/tune-worker.ts: runWorker plus experiment tracking and training objectives). Exit codes: 0 done, 2 bad
   * config or storage, 3 the objective threw, 1 anything else.
   */
  readonly entry: string;
  /** Sees each child as it starts (tests use it to kill one mid-trial). */
  readonly onSpawn?: (pid: number, index: number) => void;
}

/** Forks `workers` processes on one study and waits for all. The study is created first (so workers only join). */
export async function runWorkers(
  cfg: TuneConfig,
  configPath: string,
  storageUrl: string,
  workers: number,
  opts: RunWorkersOptions,
): Promise<WorkerExit[]> {
  const { entry, onSpawn } = opts;
  if (parseStorageUrl(storageUrl).kind === 'memory')
    throw new TuneConfigError(
      `storage: 'memory:' cannot be shared by ${workers} worker processes; use sqlite:///file.db or postgres://...`,
    );
  const study = await openConfigStudy(cfg, storageUrl);
  await study.close();
  return Promise.all(
    Array.from(
      { length: workers },
      (_, index) =>
        new Promise<WorkerExit>((done) => {
          const child = fork(entry, [resolve(configPath), storageUrl], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
          let stderr = '';
          child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
          onSpawn?.(child.pid!, index);
          child.on('exit', (code, signal) => done({ index, pid: child.pid!, code, signal, stderr }));
        }),
    ),
  );
}
