// Callbacks: factories that return named hook objects. Contract: hooks run on the training thread between
// steps, in the order given; a hook may set `trainer.shouldStop`; hooks must not keep references to batch data.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Trainer } from './trainer.js';
import { removeCheckpoint, sweepCheckpointDir } from './checkpoint.js';
import { writeAtomicFile } from '../util/write-atomic.js';

/**
 * What `onBatchEnd` hooks receive: the position (epoch, batch of `batches`, global optimizer step), the batch loss, the
 * learning rate and the in-graph metrics of that batch.
 */
export interface BatchLogs {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * What `onEpochEnd`, `onCommit` and `onFitEnd` hooks receive: the epoch, the global step, the epoch's wall time in
 * seconds and its metrics.
 */
export interface EpochLogs {
  readonly epoch: number;
  readonly step: number;
  readonly seconds: number;
  /** train_loss, val_loss, val_accuracy, lr, ... */
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * A Trainer callback: a named object of optional hooks run on the training thread between steps, in the order given; a
 * hook may set `trainer.shouldStop` and must not keep references to batch data.
 */
export interface Callback {
  readonly name: string;
  /** Called once before the first step of `fit` (after a resume has restored state). */
  onFitStart?(t: Trainer): void | Promise<void>;
  /** Called after every training batch (micro-batch) with its loss and metrics. */
  onBatchEnd?(t: Trainer, logs: BatchLogs): void | Promise<void>;
  /** Called at the end of every epoch, after validation, with the epoch's metrics. */
  onEpochEnd?(t: Trainer, logs: EpochLogs): void | Promise<void>;
  /**
   * The run's state is consistent here — after every `onEpochEnd` hook of an epoch, and every `checkpointEvery`
   * steps or seconds mid-epoch — so this is where it is persisted (ModelCheckpoint writes `last`). The callback
   * states a checkpoint records are snapshotted at this point.
   */
  onCommit?(t: Trainer, logs: EpochLogs | undefined): void | Promise<void>;
  /** Called once when `fit` returns (finished, stopped early or out of epochs), with the last epoch's logs if any. */
  onFitEnd?(t: Trainer, logs: EpochLogs | undefined): void | Promise<void>;
  /** State saved in checkpoints (best scores, counters) and restored on resume. */
  state?(): Record<string, unknown>;
  /** Restores what `state()` returned, from a checkpoint being resumed. */
  load?(s: Readonly<Record<string, unknown>>): void;
}

const better = (mode: 'min' | 'max', a: number, b: number, delta = 0): boolean =>
  mode === 'min' ? a < b - delta : a > b + delta;

export interface ModelCheckpointOptions {
  /** Folder for checkpoints (default: the trainer's run directory). */
  readonly dir?: string;
  readonly monitor?: string;
  readonly mode?: 'min' | 'max';
  /** Keep the k best checkpoints by `monitor` (0: none). */
  readonly saveTopK?: number;
  /** Always keep `last` (needed for --resume). */
  readonly saveLast?: boolean;
}

/**
 * Saves the top-k checkpoints by a monitored metric at each epoch end (`best` is the best one) and `last` at every
 * commit point. At fit start it sweeps what interrupted writes left behind: temp files, unreferenced tensor files,
 * and epoch checkpoints that are not in its top-k (written after the last commit by a run that was then killed).
 */
export function modelCheckpoint(opts: ModelCheckpointOptions = {}): Callback {
  const monitor = opts.monitor ?? 'val_loss';
  const mode = opts.mode ?? (monitor.includes('acc') ? 'max' : 'min');
  const k = opts.saveTopK ?? 1;
  let kept: { name: string; score: number }[] = [];
  return {
    name: 'ModelCheckpoint',
    onFitStart(t) {
      const dir = opts.dir ?? t.runDir;
      if (!dir || !existsSync(dir)) return;
      const keep = new Set(kept.map((c) => c.name));
      for (const f of readdirSync(dir)) {
        const m = /^(epoch\d+)\.json$/.exec(f);
        if (m && !keep.has(m[1])) removeCheckpoint(dir, m[1]);
      }
      sweepCheckpointDir(dir);
    },
    onCommit(t, logs) {
      const dir = opts.dir ?? t.runDir;
      if (dir && (opts.saveLast ?? true)) t.saveCheckpoint(dir, 'last', logs);
    },
    onEpochEnd(t, logs) {
      const dir = opts.dir ?? t.runDir;
      if (!dir) return;
      const score = logs.metrics[monitor];
      if (k <= 0 || score === undefined || Number.isNaN(score)) return;
      const worst = kept.length ? kept[kept.length - 1] : undefined;
      if (kept.length < k || (worst && better(mode, score, worst.score))) {
        const name = `epoch${logs.epoch}`;
        t.saveCheckpoint(dir, name, logs);
        kept.push({ name, score });
        kept.sort((a, b) => (mode === 'min' ? a.score - b.score : b.score - a.score));
        while (kept.length > k) removeCheckpoint(dir, kept.pop()!.name);
        if (kept[0].name === name) t.saveCheckpoint(dir, 'best', logs);
      }
    },
    state: () => ({ kept }),
    load(s) {
      kept = (s.kept as typeof kept) ?? [];
    },
  };
}

/**
 * Stops training once `minutes` of wall-clock training have passed (counted from the first step, across resumes),
 * at the next step boundary: the partial epoch is validated and checkpointed like a full one, so runs compared at
 * equal training time end the same way (`trainer.maxMinutes` in a config).
 */
export function timeBudget(minutes: number): Callback {
  if (!(minutes > 0)) throw new RangeError(`timeBudget: minutes must be positive, got ${minutes}`);
  let before = 0; // seconds spent in earlier sessions of this run (restored on resume)
  let start = 0;
  const elapsed = () => before + (performance.now() - start) / 1000;
  return {
    name: 'TimeBudget',
    onFitStart() {
      start = performance.now();
    },
    onBatchEnd(t, logs) {
      if (t.shouldStop || elapsed() < minutes * 60) return;
      t.shouldStop = true;
      t.log({ event: 'time_budget', minutes, seconds: Math.round(elapsed()), step: logs.step });
    },
    state: () => ({ seconds: elapsed() }),
    load(s) {
      before = Number(s.seconds) || 0;
    },
  };
}

/** Stops when `monitor` has not improved by `minDelta` for `patience` epochs. */
export function earlyStopping(
  opts: { monitor?: string; mode?: 'min' | 'max'; patience?: number; minDelta?: number } = {},
): Callback {
  const monitor = opts.monitor ?? 'val_loss';
  const mode = opts.mode ?? (monitor.includes('acc') ? 'max' : 'min');
  const patience = opts.patience ?? 3;
  let best = mode === 'min' ? Infinity : -Infinity;
  let bad = 0;
  return {
    name: 'EarlyStopping',
    onEpochEnd(t, logs) {
      const v = logs.metrics[monitor];
      if (v === undefined) return;
      if (better(mode, v, best, opts.minDelta ?? 0)) {
        best = v;
        bad = 0;
      } else if (++bad >= patience) {
        t.shouldStop = true;
        t.log({ event: 'early_stop', epoch: logs.epoch, monitor, best });
      }
    },
    state: () => ({ best, bad }),
    load(s) {
      best = s.best as number;
      bad = s.bad as number;
    },
  };
}

/** Records the learning rate of each epoch as the `lr` metric. */
export function lrMonitor(): Callback {
  let last = NaN;
  return {
    name: 'LRMonitor',
    onBatchEnd(_t, logs) {
      last = logs.lr;
    },
    onEpochEnd(_t, logs) {
      (logs.metrics as Record<string, number>).lr = last;
    },
  };
}

/**
 * Progress. On a terminal: one live line per epoch — `epoch 2/10 [=====>    ] 120/469  loss 0.4123  38.2 it/s
 * 0:03 < 0:09` (elapsed < ETA), then `validating…`, then the epoch's metrics — redrawn at most `redrawsPerSecond`
 * times a second and cut to the terminal's width. Elsewhere (or with `json`): JSON lines, one per `everyBatches`
 * batches and one per epoch, numbers rounded.
 */
export function progressBar(
  opts: { json?: boolean; everyBatches?: number; stream?: NodeJS.WriteStream; redrawsPerSecond?: number } = {},
): Callback {
  const out = opts.stream ?? process.stdout;
  const json = opts.json ?? !out.isTTY;
  const every = opts.everyBatches ?? 50;
  const minGap = 1000 / (opts.redrawsPerSecond ?? 10);
  let t0 = Date.now();
  let lastDraw = 0;
  let lossSum = 0;
  let count = 0;
  let epochs = 0;
  const fit = (line: string): string => {
    const width = (out.columns ?? 100) - 1;
    return line.length > width
      ? line.slice(0, Math.max(0, width - 1)) + '…'
      : line.padEnd(Math.min(width, line.length + 3));
  };
  const clock = (ms: number): string => {
    const s = Math.round(ms / 1000);
    const h = Math.floor(s / 3600),
      m = Math.floor((s % 3600) / 60),
      sec = s % 60;
    return `${h ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(sec).padStart(2, '0')}`;
  };
  return {
    name: 'ProgressBar',
    onFitStart(t) {
      t0 = Date.now();
      epochs = t.cfg.epochs;
    },
    onBatchEnd(_t, l) {
      lossSum += l.loss;
      count++;
      if (json) {
        if ((l.batch + 1) % every === 0)
          out.write(
            JSON.stringify({
              event: 'batch',
              epoch: l.epoch,
              batch: l.batch + 1,
              batches: l.batches,
              step: l.step,
              loss: round(l.loss),
              lr: sig(l.lr),
            }) + '\n',
          );
        return;
      }
      const last = l.batch + 1 === l.batches;
      const now = Date.now();
      if (!last && now - lastDraw < minGap) return;
      lastDraw = now;
      const w = 20;
      const done = Math.round(((l.batch + 1) / l.batches) * w);
      const elapsed = now - t0;
      const rate = (count * 1000) / Math.max(1, elapsed);
      const eta = ((l.batches - l.batch - 1) / Math.max(rate, 1e-9)) * 1000;
      const bar = `${'='.repeat(Math.max(0, done - 1))}${done ? '>' : ''}${' '.repeat(w - done)}`;
      const phase = last ? '  validating…' : '';
      out.write(
        `\r${fit(`epoch ${l.epoch + 1}/${epochs} [${bar}] ${l.batch + 1}/${l.batches}  loss ${(lossSum / count).toFixed(4)}  ${rate.toFixed(1)} it/s  ${clock(elapsed)} < ${clock(eta)}${phase}`)}`,
      );
    },
    onEpochEnd(_t, l) {
      if (json)
        out.write(
          JSON.stringify({
            event: 'epoch',
            epoch: l.epoch,
            step: l.step,
            seconds: round(l.seconds),
            ...roundAll(l.metrics),
          }) + '\n',
        );
      else
        out.write(
          `\r${fit(
            `epoch ${l.epoch + 1}/${epochs} done in ${clock(l.seconds * 1000)}  ${Object.entries(l.metrics)
              .map(([k, v]) => `${k} ${sig(v, 4)}`)
              .join('  ')}`,
          )}\n`,
        );
      lossSum = 0;
      count = 0;
      t0 = Date.now();
      lastDraw = 0;
    },
  };
}

/**
 * Keeps the first `lines` lines of a log file (a resumed run rewinds its logs to the checkpoint: rows a killed run
 * wrote after its last commit are written again, once).
 */
function rewind(path: string, lines: number): string[] {
  if (!existsSync(path)) return [];
  const kept = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .slice(0, lines);
  writeAtomicFile(path, kept.map((l) => l + '\n').join(''));
  return kept;
}

/** Appends one CSV row per epoch (the header from the first row's keys). */
export function csvLogger(path: string): Callback {
  let columns: string[] | undefined;
  let rows = 0;
  return {
    name: 'CSVLogger',
    onEpochEnd(_t, l) {
      const row = { epoch: l.epoch, step: l.step, seconds: round(l.seconds), ...l.metrics };
      if (!columns) {
        mkdirSync(dirname(path), { recursive: true });
        const header = l.epoch > 0 && existsSync(path) ? readFileSync(path, 'utf8').split('\n')[0] : '';
        if (header)
          columns = header.split(','); // resumed from a checkpoint that predates the logger's state: append
        else {
          columns = Object.keys(row);
          writeFileSync(path, columns.join(',') + '\n');
        }
      }
      appendFileSync(path, columns.map((c) => String((row as Record<string, number>)[c] ?? '')).join(',') + '\n');
      rows++;
    },
    state: () => ({ rows, columns: columns ?? null }),
    load(s) {
      rows = s.rows as number;
      columns = (s.columns as string[] | null) ?? undefined;
      if (columns) rewind(path, rows + 1);
    },
  };
}

/** Appends one JSON object per epoch to a JSONL file. */
export function jsonlLogger(path: string): Callback {
  let rows = 0;
  return {
    name: 'JSONLLogger',
    onEpochEnd(_t, l) {
      mkdirSync(dirname(path), { recursive: true });
      appendFileSync(path, JSON.stringify({ epoch: l.epoch, step: l.step, seconds: l.seconds, ...l.metrics }) + '\n');
      rows++;
    },
    state: () => ({ rows }),
    load(s) {
      rows = s.rows as number;
      rewind(path, rows);
    },
  };
}

const round = (v: number): number => Math.round(v * 1e5) / 1e5;
/** `digits` significant digits (learning rates are small). */
const sig = (v: number, digits = 6): number => (Number.isFinite(v) && v !== 0 ? Number(v.toPrecision(digits)) : v);
const roundAll = (m: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)]));
