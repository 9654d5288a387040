// The one storage interface behind tracking: runs, metrics, artifacts references and the model registry.
import type {
  AliasEvent,
  ArtifactRecord,
  ExperimentSummary,
  MetricPoint,
  ModelVersionRecord,
  NewModelVersion,
  NewRun,
  ParamValue,
  RegisteredModel,
  RunPage,
  RunQuery,
  RunRecord,
  RunStatus,
} from './types.js';

/** A batch of writes for one run, as the Run buffer flushes it. */
export interface RunBatch {
  readonly metrics: readonly MetricPoint[];
  readonly params?: Readonly<Record<string, ParamValue>>;
  readonly tags?: Readonly<Record<string, string>>;
  /** Wall time of this flush: the run's heartbeat. */
  readonly heartbeatAt: number;
}

/**
 * Storage of the tracking layer (SQLite and PostgreSQL implement it; `test/track/store-conformance.ts` is its suite).
 *
 * Contract:
 * - Safe for many processes writing at once (different runs, or the same run from one process); a batch is
 *   written atomically (all of it or none), so a writer killed mid-flush never leaves half a batch.
 * - Input errors (unknown run/model/version, malformed filter, a param changed after it was set, an artifact
 *   path already used in a run, an alias to a missing version) throw {@link TrackingError} naming what is wrong.
 * - Metric points are appended, never deduplicated: logging the same (key, step) twice keeps both points.
 * - `writeBatchSync`, when present, does what `writeBatch` does without yielding (used on process exit).
 * - Methods may be called concurrently by one process; `close()` waits for nothing the caller has not awaited.
 */
export interface TrackingStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Folder of the content-addressed artifact store that goes with this tracking store. */
  readonly artifactRoot: string;

  /** Creates a run; throws a TrackingError for an invalid experiment, run name, notes, param or tag. */
  createRun(run: NewRun): Promise<void>;
  /**
   * The run with this id, else the one run with this name (every method taking a run accepts its name: a name several
   * runs share throws a TrackingError listing their ids); throws a TrackingError (404) when there is none.
   */
  getRun(id: string): Promise<RunRecord>;
  /**
   * One page of runs matching a {@link RunQuery} (experiment, filter expression, sort, offset and limit), with the
   * total count; throws a TrackingError on a malformed filter.
   */
  listRuns(query: RunQuery): Promise<RunPage>;
  /** Every experiment with its run count and latest start time. */
  listExperiments(): Promise<readonly ExperimentSummary[]>;
  /** Param and metric keys seen in an experiment (or all): the columns the runs table can show. */
  listColumns(experiment?: string): Promise<{
    readonly params: readonly string[];
    readonly metrics: readonly string[];
    readonly tags: readonly string[];
  }>;
  /**
   * Writes one flushed batch (metric points, params, tags, heartbeat) atomically; throws a TrackingError when a param
   * would change.
   */
  writeBatch(runId: string, batch: RunBatch): Promise<void>;
  /** `writeBatch` without yielding, for process exit (SQLite only). */
  writeBatchSync?(runId: string, batch: RunBatch): void;
  /** Sets a run's status and end time (null while running); throws a TrackingError (404) for an unknown run. */
  setStatus(runId: string, status: RunStatus, endTime: number | null): Promise<void>;
  /** `setStatus` without yielding, for process exit (SQLite only). */
  setStatusSync?(runId: string, status: RunStatus, endTime: number | null): void;
  /** Replaces a run's notes; throws a TrackingError for an unknown run or invalid text. */
  setNotes(runId: string, notes: string): Promise<void>;
  /**
   * Removes a tag from a run (nothing happens when it has none by that key); throws a TrackingError for an unknown run.
   */
  deleteTag(runId: string, key: string): Promise<void>;
  /** The metric keys logged in a run in their canonical spelling, sorted; throws a TrackingError for an unknown run. */
  metricKeys(runId: string): Promise<readonly string[]>;
  /**
   * A series in step order (`key` in either spelling: `train/loss` also reads points stored as `train_loss`); with
   * `maxPoints`, evenly thinned (first and last point kept).
   */
  metricSeries(runId: string, key: string, maxPoints?: number): Promise<readonly MetricPoint[]>;
  /** Runs still `running` whose writer is gone: same host and dead pid, or heartbeat older than `staleMs`. Marks them and returns their ids. */
  sweep(staleMs: number): Promise<readonly string[]>;

  /** Records an artifact reference of a run; throws a TrackingError when the run already has one at that path. */
  addArtifact(ref: ArtifactRecord): Promise<void>;
  /** Every artifact reference of a run. */
  listArtifacts(runId: string): Promise<readonly ArtifactRecord[]>;
  /** The artifact of a run at `path`; throws a TrackingError (404) when there is none. */
  getArtifact(runId: string, path: string): Promise<ArtifactRecord>;

  /** Creates the next version (latest + 1) of a registered model, registering the model on first use. */
  createModelVersion(v: NewModelVersion): Promise<ModelVersionRecord>;
  /** One version of a registered model; throws a TrackingError (404) when the model or version does not exist. */
  getModelVersion(name: string, version: number): Promise<ModelVersionRecord>;
  /** Every registered model with its latest version and aliases. */
  listModels(): Promise<readonly RegisteredModel[]>;
  /** One registered model; throws a TrackingError (404) when it does not exist. */
  getModel(name: string): Promise<RegisteredModel>;
  /**
   * Every version of a registered model, in version order; throws a TrackingError (404) when the model does not exist.
   */
  listModelVersions(name: string): Promise<readonly ModelVersionRecord[]>;
  /** Points `alias` at `version` (null removes it) and appends to the alias history. */
  setAlias(name: string, alias: string, version: number | null): Promise<void>;
  /** Every move of a model's aliases, oldest first; throws a TrackingError (404) when the model does not exist. */
  aliasHistory(name: string): Promise<readonly AliasEvent[]>;
  /** Sets a tag on one model version; throws a TrackingError when the version does not exist. */
  setModelVersionTag(name: string, version: number, key: string, value: string): Promise<void>;

  /** Closes the database connection. */
  close(): Promise<void>;
}
