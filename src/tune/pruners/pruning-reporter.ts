// The pruning hook a training loop calls once per epoch: report the monitored metric, ask the pruner, and throw
// TrialPruned when it says stop. Engine-free: structurally a Trainer callback (`name` + `onEpochEnd(trainer, logs)`),
// and usable from any loop through `report(metrics, step)`. As a callback it reports at step = epochs completed
// (the Trainer numbers epochs from 0), the resource ASHA/Hyperband rungs count: `min_resource: 1` is one epoch.
import { TrialPruned } from '../errors.js';
import type { Trial } from '../trial.js';

/** Options of {@link pruningReporter}: the monitored metric and the run's final step. */
export interface PruningReporterOptions {
  /** Metric reported as the intermediate value (e.g. 'val_loss', 'val_accuracy'). */
  readonly monitor: string;
  /**
   * The run's last step (e.g. its epochs): a report at or after it is recorded but not judged, since the work is
   * done and pruning would only discard the result. Default: every report is judged.
   */
  readonly finalStep?: number;
}

interface EpochMetrics {
  readonly epoch: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * The pruning hook of a training loop, returned by {@link pruningReporter}: `report(metrics, step)` from any loop, or
 * `onEpochEnd` as a Trainer callback.
 */
export interface PruningReporter {
  readonly name: 'TunePruning';
  /** Reports `metrics[monitor]` at `step`; throws TrialPruned if the pruner says stop. */
  report(metrics: Readonly<Record<string, number>>, step: number): Promise<void>;
  /** Trainer callback form: `onEpochEnd(trainer, { epoch, metrics })` reports at step `epoch + 1`. */
  onEpochEnd(trainer: unknown, logs: EpochMetrics): Promise<void>;
  /** The last step reported, or -1. */
  readonly lastStep: number;
  /** The last value reported, or undefined. */
  readonly lastValue: number | undefined;
}

/**
 * Makes the pruning hook for one trial: each report records `metrics[monitor]` as the trial's intermediate value at
 * that step and throws TrialPruned when the study's pruner says stop (reports at or after `finalStep` are recorded, not
 * judged); a missing metric is an Error naming it.
 */
export function pruningReporter(trial: Trial, opts: PruningReporterOptions): PruningReporter {
  let last = -1;
  let lastValue: number | undefined;
  const report = async (metrics: Readonly<Record<string, number>>, step: number): Promise<void> => {
    const v = metrics[opts.monitor];
    if (typeof v !== 'number')
      throw new Error(
        `pruning: metric '${opts.monitor}' is missing at step ${step} (have: ${Object.keys(metrics).join(', ') || 'none'})`,
      );
    await trial.report(v, step);
    last = step;
    lastValue = v;
    if ((opts.finalStep === undefined || step < opts.finalStep) && (await trial.shouldPrune()))
      throw new TrialPruned(`trial ${trial.number} pruned at step ${step} (${opts.monitor} = ${v})`);
  };
  return {
    name: 'TunePruning',
    report,
    onEpochEnd: (_trainer, logs) => report(logs.metrics, logs.epoch + 1),
    get lastStep() {
      return last;
    },
    get lastValue() {
      return lastValue;
    },
  };
}
