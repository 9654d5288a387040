// The one storage interface behind tracking: runs, metrics, artifacts references and the model registry.
import type {
  AliasEvent, ArtifactRecord, ExperimentSummary, MetricPoint, ModelVersionRecord, NewModelVersion, NewRun,
  ParamValue, RegisteredModel, RunPage, RunQuery, RunRecord, RunStatus,
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

  createRun(run: NewRun): Promise<void>;
  getRun(id: string): Promise<RunRecord>;
  listRuns(query: RunQuery): Promise<RunPage>;
  listExperiments(): Promise<readonly ExperimentSummary[]>;
  /** Param and metric keys seen in an experiment (or all): the columns the runs table can show. */
  listColumns(experiment?: string): Promise<{ readonly params: readonly string[]; readonly metrics: readonly string[]; readonly tags: readonly string[] }>;
  writeBatch(runId: string, batch: RunBatch): Promise<void>;
  writeBatchSync?(runId: string, batch: RunBatch): void;
  setStatus(runId: string, status: RunStatus, endTime: number | null): Promise<void>;
  setStatusSync?(runId: string, status: RunStatus, endTime: number | null): void;
  setNotes(runId: string, notes: string): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  metricKeys(runId: string): Promise<readonly string[]>;
  /** A series in step order; with `maxPoints`, evenly thinned (first and last point kept). */
  metricSeries(runId: string, key: string, maxPoints?: number): Promise<readonly MetricPoint[]>;
  /** Runs still `running` whose writer is gone: same host and dead pid, or heartbeat older than `staleMs`. Marks them and returns their ids. */
  sweep(staleMs: number): Promise<readonly string[]>;

  addArtifact(ref: ArtifactRecord): Promise<void>;
  listArtifacts(runId: string): Promise<readonly ArtifactRecord[]>;
  getArtifact(runId: string, path: string): Promise<ArtifactRecord>;

  createModelVersion(v: NewModelVersion): Promise<ModelVersionRecord>;
  getModelVersion(name: string, version: number): Promise<ModelVersionRecord>;
  listModels(): Promise<readonly RegisteredModel[]>;
  getModel(name: string): Promise<RegisteredModel>;
  listModelVersions(name: string): Promise<readonly ModelVersionRecord[]>;
  /** Points `alias` at `version` (null removes it) and appends to the alias history. */
  setAlias(name: string, alias: string, version: number | null): Promise<void>;
  aliasHistory(name: string): Promise<readonly AliasEvent[]>;
  setModelVersionTag(name: string, version: number, key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
