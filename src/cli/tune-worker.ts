// The one entry of a `lathe tune --workers N` worker process: `node tune-worker.js <config> <storage-url>` runs trials
// of the config's study (training-config objectives through the Trainer; each trial tracked as a run when
// LATHE_TRACKING_URL is set) until the study's budget is used.
// Exit codes: 0 done, 2 bad config/storage, 3 the objective threw (its trial is FAILED), 1 anything else.
import { loadTuneConfig, TuneConfigError } from '../tune/config.js';
import { SearchSpaceError, StorageError } from '../tune/errors.js';
import { runWorker } from '../tune/runner.js';
import { ObjectiveError } from '../tune/study.js';
import { loadTrainObjective } from './train-objective.js';
import { trackingObserver } from './tune-tracking.js';

const [configPath, storageUrl] = process.argv.slice(2);
try {
  await runWorker(loadTuneConfig(configPath), storageUrl, {
    observer: await trackingObserver(),
    trainObjective: loadTrainObjective,
  });
  process.exit(0);
} catch (err) {
  process.stderr.write(`worker ${process.pid}: ${(err as Error).message}\n`);
  process.exit(
    err instanceof ObjectiveError
      ? 3
      : err instanceof TuneConfigError || err instanceof SearchSpaceError || err instanceof StorageError
        ? 2
        : 1,
  );
}
