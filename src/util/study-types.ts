// The words an optimization study is described in, defined once: the tuner (src/tune/) stores them and the
// tracking UI (src/track/) shows them; neither imports the other, both import these.

/** Whether an objective is to be made small or large. */
export type Direction = 'minimize' | 'maximize';

/**
 * Lifecycle of a trial (Optuna's names). WAITING: queued (enqueued by the user or re-queued after a dead worker),
 * not yet claimed by a worker. RUNNING: owned by one worker, which beats a heartbeat. COMPLETE, PRUNED and FAILED
 * are final and never change again.
 */
export type TrialState = 'WAITING' | 'RUNNING' | 'COMPLETE' | 'PRUNED' | 'FAILED';
