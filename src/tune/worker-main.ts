// Entry of one `lathe tune` worker process: `node worker-main.js <config> <storage-url>`.
// Exit codes: 0 done, 2 bad config/storage, 3 the objective threw (its trial is FAILED), 1 anything else.
import { loadTuneConfig, TuneConfigError } from './config.js';
import { SearchSpaceError, StorageError } from './errors.js';
import { runWorker } from './runner.js';
import { ObjectiveError } from './study.js';

const [configPath, storageUrl] = process.argv.slice(2);
try {
  await runWorker(loadTuneConfig(configPath), storageUrl);
  process.exit(0);
} catch (err) {
  process.stderr.write(`worker ${process.pid}: ${(err as Error).message}\n`);
  process.exit(err instanceof ObjectiveError ? 3 : err instanceof TuneConfigError || err instanceof SearchSpaceError || err instanceof StorageError ? 2 : 1);
}
