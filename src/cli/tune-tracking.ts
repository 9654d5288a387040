// Experiment tracking for `lathe tune` (the CLI composes the tune and track layers): with LATHE_TRACKING_URL set,
// every trial becomes a tracking run in experiment <study> — its parameters, per-epoch metrics (training objectives:
// the Trainer's tracking callback), intermediate values, final value and state — so `lathe ui` shows each trial as
// a run beside the study views.
import { fileURLToPath } from 'node:url';
import { trackingCallback } from '../track/callback.js';
import { openTracking, type Tracking } from '../track/open.js';
import { TuneConfigError } from '../tune/config.js';
import type { TrialObserver } from '../tune/runner.js';

/** The worker script `lathe tune --workers N` forks (the one tune worker entry). */
export const tuneWorkerEntry = fileURLToPath(new URL('./tune-worker.js', import.meta.url));

/** A TrialObserver that records trials as tracking runs, or undefined when no tracking URL is set. */
export async function trackingObserver(url = process.env.LATHE_TRACKING_URL): Promise<TrialObserver | undefined> {
  if (!url) return undefined;
  let tracking: Tracking;
  try {
    tracking = await openTracking(url);
  } catch (err) {
    throw new TuneConfigError(`LATHE_TRACKING_URL: cannot open tracking store '${url}': ${(err as Error).message}`);
  }
  return {
    async start(study, trial, params) {
      const flat: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(params)) flat[k] = v === null ? 'null' : v;
      const run = await tracking.startRun({
        experiment: study,
        name: `${study} #${trial.number}`,
        params: flat,
        systemMetricsMs: 0,
        tags: { 'tune.study': study, 'tune.trial': String(trial.number) },
      });
      return {
        callbacks: [trackingCallback(run, { everyBatches: 50, endRun: false })],
        async end(t) {
          run.setTag('tune.state', t.state);
          for (const [step, v] of [...t.intermediate].sort((a, b) => a[0] - b[0]))
            run.logMetric('tune/intermediate', v, step);
          t.values?.forEach((v, i) => run.logMetric(i === 0 ? 'tune/value' : `tune/value_${i}`, v, 0));
          await run.end(t.state === 'FAILED' ? 'failed' : 'finished');
        },
      };
    },
    close: () => tracking.close(),
  };
}
