// The pruning hook a training loop calls once per epoch: report the monitored metric, ask the pruner, and throw
// TrialPruned when it says stop. Engine-free: structurally a Trainer callback (`name` + `onEpochEnd(trainer, logs)`),
// and usable from any loop through `report(metrics, epoch)`.
import { TrialPruned } from './errors.js';
import type { Trial } from './trial.js';

export interface PruningReporterOptions {
  /** Metric reported as the intermediate value (e.g. 'val_loss', 'val_accuracy'). */
  readonly monitor: string;
}

export interface EpochMetrics {
  readonly epoch: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface PruningReporter {
  readonly name: 'TunePruning';
  /** Reports `metrics[monitor]` at step `epoch`; throws TrialPruned if the pruner says stop. */
  report(metrics: Readonly<Record<string, number>>, epoch: number): Promise<void>;
  /** Trainer callback form: `onEpochEnd(trainer, { epoch, metrics })`. */
  onEpochEnd(trainer: unknown, logs: EpochMetrics): Promise<void>;
  /** The last step reported, or -1. */
  readonly lastStep: number;
}

export function pruningReporter(trial: Trial, opts: PruningReporterOptions): PruningReporter {
  let last = -1;
  const report = async (metrics: Readonly<Record<string, number>>, epoch: number): Promise<void> => {
    const v = metrics[opts.monitor];
    if (typeof v !== 'number') throw new Error(`pruning: metric '${opts.monitor}' is missing at epoch ${epoch} (have: ${Object.keys(metrics).join(', ') || 'none'})`);
    await trial.report(v, epoch);
    last = epoch;
    if (await trial.shouldPrune()) throw new TrialPruned(`trial ${trial.number} pruned at epoch ${epoch} (${opts.monitor} = ${v})`);
  };
  return {
    name: 'TunePruning',
    report,
    onEpochEnd: (_trainer, logs) => report(logs.metrics, logs.epoch),
    get lastStep() {
      return last;
    },
  };
}
