// Errors of the tune layer. Each names the parameter, trial, study or storage URL at fault.

import { UserError } from '../util/errors.js';
/** Thrown by an objective (or by `trial.report` callers) to stop a trial early; the trial ends PRUNED, not FAILED. */
export class TrialPruned extends Error {
  constructor(message = 'trial pruned') {
    super(message);
    this.name = 'TrialPruned';
  }
}

/** A search space that cannot be sampled: bad bounds, a log range touching zero, an empty choice list, or a
 * parameter re-declared with a different distribution inside one trial. */
export class SearchSpaceError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'SearchSpaceError';
  }
}

/** A storage that cannot be opened or reached, or a request it refuses (unknown study, trial not running). */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}
