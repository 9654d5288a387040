// Plain data types shared by studies, trials, samplers, pruners and storages.
import type { Distribution } from './distributions.js';

import type { TrialState } from '../util/study-types.js';

// Direction and TrialState are defined once, in util/study-types.ts (the tracking UI shows them too).
export type { Direction, TrialState } from '../util/study-types.js';

/** A categorical choice; stored as its index, reported as the value itself. */
export type CategoricalChoice = string | number | boolean | null;
/** A parameter value as the objective sees it: a number, a string, a boolean or null. */
export type ParamValue = number | string | boolean | null;

/** Any JSON value (the type of study and trial attributes). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** An immutable snapshot of a trial as the storage holds it. */
export interface FrozenTrial {
  /** Storage-wide id. */
  readonly id: number;
  /** 0-based position in its study, assigned atomically at creation (never reused). */
  readonly number: number;
  readonly state: TrialState;
  /** Parameter values as the objective saw them. */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The same parameters in internal form (floats and ints as numbers, categoricals as their index). */
  readonly internal: Readonly<Record<string, number>>;
  readonly distributions: Readonly<Record<string, Distribution>>;
  /** One value per objective; null unless COMPLETE. */
  readonly values: readonly number[] | null;
  /** Intermediate values reported with `trial.report(value, step)`, by step. */
  readonly intermediate: ReadonlyMap<number, number>;
  readonly userAttrs: Readonly<Record<string, JsonValue>>;
  readonly systemAttrs: Readonly<Record<string, JsonValue>>;
  /** Unix ms. */
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  readonly heartbeatAt: number | null;
  /** Which worker owns (owned) the trial: `host:pid:n`. */
  readonly worker: string | null;
  /** For a FAILED trial whose worker died: the number of the WAITING trial that re-runs its parameters. */
  readonly retriedBy: number | null;
  /** For a re-queued trial: the number of the trial it replaces. */
  readonly retryOf: number | null;
}

/** Counts that a study's trial budget is checked against (see Storage.createTrial). */
export interface TrialCounts {
  readonly WAITING: number;
  readonly RUNNING: number;
  readonly COMPLETE: number;
  readonly PRUNED: number;
  readonly FAILED: number;
  /** Trials that use up the budget: all but the FAILED ones that were re-queued (their copy counts instead). */
  readonly budget: number;
}
