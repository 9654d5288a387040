// Public record types of the tracking layer: runs, metrics, artifacts, model versions.

import { UserError } from '../util/errors.js';
/** Lifecycle of a run. `killed`: the writer died without ending it (found by a pid/heartbeat sweep). */
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';
/** Every run status, in lifecycle order (for validation and UI filters). */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'killed'];

/** The value of a run param: a string, a number or a boolean (params are set once and never change). */
export type ParamValue = string | number | boolean;

/** One point of a metric series. `value` may be NaN (a diverged loss is worth recording). */
export interface MetricPoint {
  readonly key: string;
  readonly step: number;
  /** Wall time, milliseconds since the epoch. */
  readonly time: number;
  readonly value: number;
}

/** What was recorded automatically about where a run came from. */
export interface Lineage {
  readonly git?: { readonly commit: string; readonly dirty: boolean } | null;
  readonly configHash?: string | null;
  readonly config?: unknown;
  readonly dataset?: { readonly name?: string; readonly fingerprint: string } | null;
  readonly seed?: number | null;
  readonly versions: Readonly<Record<string, string>>;
  readonly host?: string;
  readonly platform?: string;
  readonly argv?: readonly string[];
}

/**
 * A run as stored: identity, status and times (ms since the epoch; endTime null while running), host and pid of the
 * writer, params, tags, notes, the latest value of each metric and the lineage.
 */
export interface RunRecord {
  readonly id: string;
  readonly experiment: string;
  readonly name: string;
  readonly status: RunStatus;
  readonly startTime: number;
  readonly endTime: number | null;
  readonly heartbeatAt: number;
  readonly host: string;
  readonly pid: number;
  readonly notes: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly tags: Readonly<Record<string, string>>;
  /** Last logged value of each metric (highest step). */
  readonly latest: Readonly<Record<string, number>>;
  readonly lineage: Lineage;
}

/** What a store needs to create a run. */
export interface NewRun {
  readonly id: string;
  readonly experiment: string;
  readonly name: string;
  readonly startTime: number;
  readonly host: string;
  readonly pid: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly notes: string;
  readonly lineage: Lineage;
}

/** Sort direction of a runs query. */
export type SortOrder = 'asc' | 'desc';

/**
 * A page of the runs table. `filter` is a small expression language, clauses joined by `and`:
 * `status = finished and params.lr >= 0.01 and metrics.loss < 0.5 and tags.model = "mlp" and name ~ sweep`.
 * Fields: status, name, experiment, id, params.<k>, metrics.<k> (latest value), tags.<k>;
 * operators: = != < <= > >= ~ (contains). Values may be quoted with " or '; inside quotes a backslash escapes
 * a quote character or a backslash. `sort` is one such field or `start_time`.
 */
export interface RunQuery {
  readonly experiment?: string;
  readonly filter?: string;
  readonly sort?: string;
  readonly order?: SortOrder;
  readonly offset?: number;
  readonly limit?: number;
}

/** One page of a runs query: the total number of matching runs, the offset of this page and its runs. */
export interface RunPage {
  readonly total: number;
  readonly offset: number;
  readonly runs: readonly RunRecord[];
}

/** One experiment: its name, number of runs and latest run start (ms since the epoch). */
export interface ExperimentSummary {
  readonly name: string;
  readonly runs: number;
  readonly lastStart: number;
}

/** An artifact reference: a logical path inside a run, pointing at content in the store. */
export interface ArtifactRecord {
  readonly runId: string;
  readonly path: string;
  readonly digest: string;
  readonly size: number;
  readonly kind: string;
  readonly createdAt: number;
}

/** Input/output names, element types and shapes (a dimension is a number or a symbol). */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
}
/** A registered model's inputs and outputs (names, element types, shapes). */
export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/**
 * One version of a registered model: the source run, the ONNX and weights digests in the artifact store, signature,
 * copied metrics and lineage, description, tags and creation time.
 */
export interface ModelVersionRecord {
  readonly name: string;
  readonly version: number;
  readonly runId: string | null;
  /** Digest of the ONNX file in the artifact store. */
  readonly onnxDigest: string;
  readonly weightsDigest: string | null;
  readonly signature: ModelSignature | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly lineage: Lineage | null;
  readonly description: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

/**
 * A registered model: its name, creation time, latest version number (0 when it has none) and its aliases (alias →
 * version).
 */
export interface RegisteredModel {
  readonly name: string;
  readonly createdAt: number;
  readonly latestVersion: number;
  readonly aliases: Readonly<Record<string, number>>;
}

/** One move of an alias; `version` null means the alias was removed. */
export interface AliasEvent {
  readonly alias: string;
  readonly version: number | null;
  readonly at: number;
}

/** What a store needs to create a model version: the record less what the store assigns (number, time). */
export type NewModelVersion = Omit<ModelVersionRecord, 'version' | 'createdAt'>;

/** A request the store cannot satisfy because of its input (unknown id, bad filter, overwrite, ...). HTTP maps `status` (404/400/409/413). */
export class TrackingError extends UserError {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 | 413 = 400,
  ) {
    super(message);
    this.name = 'TrackingError';
  }
}
