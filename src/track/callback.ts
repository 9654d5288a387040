// A Trainer callback (structurally typed: no dependency on the train layer) that logs into a Run.
import type { Run } from './run.js';

/** What the callback reads from the Trainer's batch and epoch logs. */
interface StepLogs {
  readonly step: number;
  readonly loss?: number;
  readonly lr?: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * `trackingCallback(run)` logs train loss and lr every `everyBatches` batches, every epoch-end metric, and ends the run
 * (finished) when fitting ends. Logging only buffers, so it does not slow the training loop.
 */
export function trackingCallback(run: Run, opts: { readonly everyBatches?: number; readonly endRun?: boolean } = {}) {
  const every = opts.everyBatches ?? 1;
  return {
    name: 'tracking',
    /**
     * Logs `train/loss`, `train/lr` and each `train/<metric>` at the global step, every `everyBatches` batches (default
     * 1).
     */
    onBatchEnd(_t: unknown, logs: StepLogs & { readonly batch: number }): void {
      if (logs.batch % every !== 0) return;
      if (logs.loss !== undefined) run.logMetric('train/loss', logs.loss, logs.step);
      if (logs.lr !== undefined) run.logMetric('train/lr', logs.lr, logs.step);
      for (const [k, v] of Object.entries(logs.metrics)) run.logMetric(`train/${k}`, v, logs.step);
    },
    /** Logs every epoch-end metric (and `epoch`) at the global step. */
    onEpochEnd(_t: unknown, logs: StepLogs & { readonly epoch: number }): void {
      run.logMetrics({ ...logs.metrics, epoch: logs.epoch }, logs.step);
    },
    /** Ends the run as finished (or, with `endRun: false`, only flushes it). */
    async onFitEnd(): Promise<void> {
      if (opts.endRun !== false) await run.end('finished');
      else await run.flush();
    },
  };
}
