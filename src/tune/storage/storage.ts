// The one storage interface behind studies: in-memory, SQLite and PostgreSQL implement it, and
// test/tune/storage-conformance.ts is the suite every implementation runs.
import type { Distribution } from '../distributions.js';
import type { Direction, FrozenTrial, JsonValue, TrialCounts, TrialState } from '../types.js';

/**
 * A study as stored: id, name, optimisation directions (one per objective), user and system attributes and creation
 * time (ms since the epoch).
 */
export interface StudyRecord {
  readonly id: number;
  readonly name: string;
  readonly directions: readonly Direction[];
  readonly userAttrs: Readonly<Record<string, JsonValue>>;
  readonly systemAttrs: Readonly<Record<string, JsonValue>>;
  readonly createdAt: number;
}

export interface NewParam {
  readonly distribution: Distribution;
  readonly internal: number;
}

export interface NewTrial {
  readonly state: 'RUNNING' | 'WAITING';
  /** Owner of a RUNNING trial. */
  readonly worker?: string;
  /** Fixed parameters (an enqueued or re-queued trial). */
  readonly params?: Readonly<Record<string, NewParam>>;
  readonly userAttrs?: Readonly<Record<string, JsonValue>>;
  readonly systemAttrs?: Readonly<Record<string, JsonValue>>;
}

/** Finished trials in the order they finished, after a cursor; `cursor` resumes where this page ended. */
export interface FinishedPage {
  readonly trials: readonly FrozenTrial[];
  readonly cursor: number;
}

/**
 * Where studies and trials live.
 *
 * Contract:
 * - Safe for many workers (async callers in one process, processes, machines for PostgreSQL) on one study.
 * - `createTrial` assigns `number` atomically (0, 1, 2, ... per study, never reused); with `maxTrials` it creates
 *   nothing and returns null when the study's budget count (TrialCounts.budget) has reached it — check and insert
 *   are one atomic step, so N workers racing on a budget of N create exactly N trials.
 * - `claimWaiting` moves the oldest WAITING trial to RUNNING for one worker; two callers never get the same trial.
 * - A trial's final state is written once: `finishTrial` succeeds only on a RUNNING trial and returns false
 *   (changing nothing) otherwise, so a result that arrives after its trial was failed is not counted twice.
 *   Parameters, intermediate values and attributes can be written only while the trial is RUNNING (else StorageError);
 *   writing a parameter or step again replaces it (an enqueued value gets the objective's distribution).
 * - `failStale` atomically fails RUNNING trials whose heartbeat is older than the grace period (trials that never
 *   beat count from their start); each gets exactly one WAITING copy of its parameters while its chain of retries
 *   (`retryOf` links) is shorter than `maxRetries`.
 * - `finishedSince` pages through finished trials in finish order; trials never re-appear after the cursor moves
 *   past them (samplers cache them incrementally; this is what keeps a 5,000-trial study fast).
 * - Every error is a StorageError naming the study, trial or URL.
 */
export interface Storage {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** The URL it was opened from (for worker processes and messages). */
  readonly url: string;

  /** Creates a study; with `loadIfExists`, returns the existing one when directions match (else throws). */
  createStudy(name: string, directions: readonly Direction[], opts?: { loadIfExists?: boolean }): Promise<StudyRecord>;
  /** The study, or undefined. */
  getStudy(name: string): Promise<StudyRecord | undefined>;
  /** Every study in this storage. */
  listStudies(): Promise<readonly StudyRecord[]>;
  /** Deletes a study and its trials; throws a StorageError when it does not exist. */
  deleteStudy(name: string): Promise<void>;
  /** Sets a user or system attribute of a study (JSON value; replaces any earlier value). */
  setStudyAttr(studyId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void>;

  /**
   * Creates a RUNNING or WAITING trial with the next number (atomically); with `maxTrials`, returns null instead once
   * the study's budget count has reached it.
   */
  createTrial(studyId: number, trial: NewTrial, maxTrials?: number): Promise<FrozenTrial | null>;
  /**
   * Moves the oldest WAITING trial to RUNNING for `worker` and returns it, or null when none waits; two callers never
   * get the same trial.
   */
  claimWaiting(studyId: number, worker: string): Promise<FrozenTrial | null>;
  /** Sets (or replaces) a parameter of a RUNNING trial; throws a StorageError otherwise. */
  setParam(trialId: number, name: string, param: NewParam): Promise<void>;
  /** Records (or replaces) the intermediate value of a RUNNING trial at `step`; throws a StorageError otherwise. */
  reportIntermediate(trialId: number, step: number, value: number): Promise<void>;
  /** Sets a user or system attribute of a RUNNING trial; throws a StorageError otherwise. */
  setTrialAttr(trialId: number, kind: 'user' | 'system', key: string, value: JsonValue): Promise<void>;
  /**
   * Writes a RUNNING trial's final state and values (one per objective for COMPLETE, else null); returns false and
   * changes nothing when the trial is not RUNNING.
   */
  finishTrial(
    trialId: number,
    state: 'COMPLETE' | 'PRUNED' | 'FAILED',
    values: readonly number[] | null,
  ): Promise<boolean>;
  /** Records that a RUNNING trial's worker is alive (nothing happens for a trial in another state). */
  heartbeat(trialId: number): Promise<void>;
  /**
   * Atomically fails RUNNING trials silent for longer than `graceMs`, re-queueing each one's parameters as a WAITING
   * trial while its retry chain is shorter than `maxRetries`; returns the failed trials.
   */
  failStale(studyId: number, graceMs: number, maxRetries: number): Promise<readonly FrozenTrial[]>;

  /** The trial with this storage-wide id; throws a StorageError when there is none. */
  getTrial(trialId: number): Promise<FrozenTrial>;
  /** Every trial of the study in number order (optionally only some states). */
  getTrials(studyId: number, states?: readonly TrialState[]): Promise<readonly FrozenTrial[]>;
  /** Finished trials in finish order after `cursor` (start at 0), with the cursor to pass next. */
  finishedSince(studyId: number, cursor: number): Promise<FinishedPage>;
  /** The study's trial counts per state and its budget count (re-queued failures not counted twice). */
  counts(studyId: number): Promise<TrialCounts>;
  /** Closes the connection (nothing for memory storage). */
  close(): Promise<void>;
}

/** Budget count from per-state counts and the number of re-queued FAILED trials. */
export function toCounts(byState: Partial<Record<TrialState, number>>, requeued: number): TrialCounts {
  const c = { WAITING: 0, RUNNING: 0, COMPLETE: 0, PRUNED: 0, FAILED: 0, ...byState };
  return { ...c, budget: c.WAITING + c.RUNNING + c.COMPLETE + c.PRUNED + c.FAILED - requeued };
}
