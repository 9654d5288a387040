// Entry of one `lathe tune --workers N` worker process: `node tune-worker.js <config> <storage-url>`. The same as
// src/tune/worker-main.ts, plus experiment tracking of each trial when LATHE_TRACKING_URL is set.
// Exit codes: 0 done, 2 bad config/storage, 3 the objective threw (its trial is FAILED), 1 anything else.
import { loadTuneConfig, TuneConfigError } from '../tune/config.js';
import { SearchSpaceError, StorageError } from '../tune/errors.js';
import { runWorker } from '../tune/runner.js';
import { ObjectiveError } from '../tune/study.js';
import { trackingObserver } from './tune-tracking.js';

const [configPath, storageUrl] = process.argv.slice(2);
try {
  await runWorker(loadTuneConfig(configPath), storageUrl, { observer: await trackingObserver() });
  process.exit(0);
} catch (err) {
  process.stderr.write(`worker ${process.pid}: ${(err as Error).message}\n`);
  process.exit(err instanceof ObjectiveError ? 3 : err instanceof TuneConfigError || err instanceof SearchSpaceError || err instanceof StorageError ? 2 : 1);
}
