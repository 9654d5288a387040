// `lathe tune <config.yaml> [--workers N] [--storage URL]`: runs a study from a config (N worker processes on one
// storage; several machines can join one PostgreSQL study), then prints the best trial(s), parameter importance
// and, with --export-best, writes the best trial as a training config.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { CliError } from './errors.js';
import { loadTuneConfig, TuneConfigError, type TuneConfig } from '../tune/config.js';
import { SearchSpaceError, StorageError } from '../tune/errors.js';
import { bestTrials, exportTrialConfig, paramImportance } from '../tune/analysis.js';
import { directionsOf, openConfigStudy, resolveStorageUrl, runWorker, runWorkers } from '../tune/runner.js';
import { ObjectiveError } from '../tune/study.js';
import type { FrozenTrial } from '../tune/types.js';
import { exportTrainConfig, loadTrainObjective, loadTrainTemplate } from './train-objective.js';
import { trackingObserver, tuneWorkerEntry } from './tune-tracking.js';

interface TuneCliOptions {
  workers?: string;
  storage?: string;
  json?: boolean;
  exportBest?: string;
}

async function userErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (
      err instanceof TuneConfigError ||
      err instanceof SearchSpaceError ||
      err instanceof StorageError ||
      err instanceof ObjectiveError
    )
      throw new CliError((err as Error).message);
    throw err;
  }
}

async function runTune(configPath: string, o: TuneCliOptions): Promise<void> {
  const cfg: TuneConfig = await userErrors(async () => loadTuneConfig(configPath));
  const workers = o.workers !== undefined ? Number(o.workers) : (cfg.workers ?? 1);
  if (!Number.isInteger(workers) || workers < 1)
    throw new CliError(`--workers: must be a positive integer, got ${o.workers}`);
  const url = await userErrors(async () => resolveStorageUrl(cfg, o.storage));
  const t0 = Date.now();
  const warnings: string[] = [];
  if (workers === 1)
    await userErrors(async () =>
      runWorker(cfg, url, {
        onTrial: o.json ? undefined : printTrial,
        observer: await trackingObserver(),
        trainObjective: loadTrainObjective,
      }),
    );
  else {
    const exits = await userErrors(() => runWorkers(cfg, configPath, url, workers, { entry: tuneWorkerEntry }));
    const bad = exits.filter((e) => e.code !== 0);
    const why = (e: (typeof bad)[number]) =>
      `worker ${e.index} (pid ${e.pid}, ${e.code !== null ? `exit ${e.code}` : `killed by ${e.signal}`}): ${e.stderr.trim().split('\n').pop() ?? ''}`;
    // bad input fails every worker the same way: an error, not a warning
    if (bad.some((e) => e.code === 2 || e.code === 3))
      throw new CliError(`${bad.length} of ${workers} workers failed:\n${bad.map((e) => `  ${why(e)}`).join('\n')}`, 2);
    // a worker that died (killed, crashed) is a warning: the others finish the study, its trial is re-queued
    warnings.push(...bad.map(why));
  }
  const study = await userErrors(() => openConfigStudy(cfg, url));
  try {
    const trials = await study.trials();
    const counts = await study.storage.counts(study.id);
    const best = bestTrials(trials, directionsOf(cfg));
    const importance = directionsOf(cfg).length === 1 ? paramImportance(trials) : [];
    const summary = {
      study: cfg.study,
      storage: url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
      directions: directionsOf(cfg),
      trials: {
        complete: counts.COMPLETE,
        pruned: counts.PRUNED,
        failed: counts.FAILED,
        running: counts.RUNNING,
        waiting: counts.WAITING,
      },
      wall_s: (Date.now() - t0) / 1000,
      warnings,
      best: best.map((t) => ({ number: t.number, values: t.values, params: t.params, user_attrs: t.userAttrs })),
      importance,
    };
    if (o.exportBest) {
      if (best.length === 0) throw new CliError(`--export-best: study '${cfg.study}' has no complete trial`);
      let out: Record<string, unknown>;
      if (typeof cfg.objective !== 'string' && !cfg.export?.base) {
        // A training objective: the best trial's training config is its template with the parameters filled in.
        out = exportTrainConfig(cfg, loadTrainTemplate(cfg.objective, cfg.configDir), best[0].params, best[0].number);
      } else {
        const base = cfg.export?.base
          ? (YAML.parse(readFileSync(resolve(cfg.configDir, cfg.export.base), 'utf8')) as Record<string, unknown>)
          : {};
        out = exportTrialConfig(best[0], base, cfg.export?.paths ?? {});
      }
      writeFileSync(o.exportBest, YAML.stringify(out));
    }
    for (const w of warnings) process.stderr.write(`lathe: warning: ${w}\n`);
    // the run failed only if the study did not get its trials (a dead worker whose trial was re-run is not a failure)
    if (warnings.length && cfg.n_trials !== undefined && counts.COMPLETE + counts.PRUNED < cfg.n_trials)
      process.exitCode = 1;
    if (o.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    console.log(`study ${summary.study} (${summary.directions.join(', ')}) on ${summary.storage}`);
    console.log(
      `trials: ${counts.COMPLETE} complete, ${counts.PRUNED} pruned, ${counts.FAILED} failed (${summary.wall_s.toFixed(1)} s)`,
    );
    for (const b of summary.best)
      console.log(
        `${best.length > 1 ? 'pareto' : 'best'} #${b.number}: ${b.values?.join(', ')}  ${JSON.stringify(b.params)}`,
      );
    if (importance.length)
      console.log(`importance: ${importance.map((i) => `${i.param} ${i.importance.toFixed(3)}`).join(', ')}`);
    if (o.exportBest) console.log(`best trial written to ${o.exportBest}`);
  } finally {
    await study.close();
  }
}

/** One line per finished trial (stderr, so stdout keeps the summary). */
function printTrial(t: FrozenTrial): void {
  const secs = t.completedAt && t.startedAt ? ` ${((t.completedAt - t.startedAt) / 1000).toFixed(1)}s` : '';
  const value =
    t.state === 'COMPLETE'
      ? ` ${t.values?.join(', ')}`
      : t.state === 'PRUNED' && t.intermediate.size
        ? ` at step ${Math.max(...t.intermediate.keys())}`
        : '';
  process.stderr.write(`trial ${t.number} ${t.state}${value}${secs} ${JSON.stringify(t.params)}\n`);
}

/** Registers the `lathe tune` command. */
export function registerTune(program: Command): void {
  program
    .command('tune')
    .description(
      'hyperparameter optimization / architecture search from a config (samplers, pruners, SQLite/PostgreSQL storages)',
    )
    .argument('<config>', 'tune config (YAML or JSON)')
    .option('--workers <n>', 'worker processes on one study (default: config workers or 1)')
    .option(
      '--storage <url>',
      'memory:, sqlite:///file.db, or postgres://user@host/db?schema=name (default: config storage)',
    )
    .option('--json', 'print the summary as one JSON line')
    .option('--export-best <file>', 'write the best trial as a training config (YAML)')
    .action((config: string, o: TuneCliOptions) => runTune(config, o));
}
