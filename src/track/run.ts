// A run being recorded: logging only appends to a buffer; batches are flushed by timers, on size, on end and on exit.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { artifactKind, putBytes, putFile, validateArtifactPath, DEFAULT_MAX_ARTIFACT_BYTES } from './artifacts.js';
import { collectLineage } from './lineage.js';
import { canonicalMetricKey } from './metric-names.js';
import { runName } from './run-names.js';
import type { RunBatch, TrackingStore } from './store.js';
import { systemSampler } from './system-metrics.js';
import { SqlInputError } from '../util/sql/driver.js';
import { TrackingError, type ArtifactRecord, type MetricPoint, type ParamValue, type RunStatus } from './types.js';
import { checkKey, checkParam, checkParamsAndTags, checkTag } from './validate.js';

/**
 * Options of {@link startRun}: experiment, name, params, config, seed, dataset fingerprint, tags and notes to record,
 * and how the run buffers, beats, samples system metrics, records git state, limits artifacts and handles process exit.
 */
export interface StartRunOptions {
  /** Experiment the run belongs to (default 'default'). */
  readonly experiment?: string;
  /** Display name (default: a readable name made from the id, `brisk-otter-417`); accepted wherever an id is. */
  readonly name?: string;
  readonly params?: Readonly<Record<string, ParamValue>>;
  /** The whole config: stored in the lineage with its hash. */
  readonly config?: unknown;
  readonly seed?: number;
  /** A dataset fingerprint (see `fingerprintFiles`). */
  readonly dataset?: { readonly name?: string; readonly fingerprint: string };
  readonly tags?: Readonly<Record<string, string>>;
  readonly notes?: string;
  /** Flush buffered points at most this long after they were logged (default 500 ms). */
  readonly flushIntervalMs?: number;
  /** Flush at once when this many points are buffered (default 5000). */
  readonly maxBuffered?: number;
  /** Heartbeat period while idle (default 15 s); the sweep treats a run without heartbeat for `staleMs` as failed. */
  readonly heartbeatMs?: number;
  /** System metrics period (default 10 s; 0 turns them off). */
  readonly systemMetricsMs?: number;
  /** Record git commit and dirty flag (default true). */
  readonly git?: boolean;
  /** Largest artifact accepted (default 2 GiB). */
  readonly maxArtifactBytes?: number;
  /** Mark the run failed/killed and flush on process exit, crash and SIGINT/SIGTERM (default true). */
  readonly handleExit?: boolean;
}

/** A write the store refused for its content (not for a lost connection): dropped so later writes go on, and reported. */
export interface RejectedWrite {
  /** `metrics`, `param '<key>'` or `tag '<key>'`. */
  readonly what: string;
  readonly error: Error;
}

/**
 * Whether a failed write would fail again however often it is retried: an input error (TrackingError, a value no
 * store can hold) or a SQL data/constraint error (SQLSTATE class 22 or 23, SQLite constraint/mismatch/too big).
 * Anything else (a lost connection, a busy database) is retried with the next flush.
 */
export function isPermanentWriteError(err: unknown): boolean {
  if (err instanceof TrackingError || err instanceof SqlInputError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (/^(22|23)[0-9A-Z]{3}$/.test(code)) return true;
  return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
}

/**
 * A run being recorded (made by {@link startRun}): metrics, params, tags and artifacts are buffered and written in
 * batches by timers, on size, on `end` and on process exit; a heartbeat keeps it from being swept as dead.
 */
export class Run {
  readonly id: string;
  private buffer: MetricPoint[] = [];
  private pendingParams: Record<string, ParamValue> = {};
  private pendingTags: Record<string, string> = {};
  private readonly params = new Map<string, ParamValue>();
  private readonly nextStep = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private readonly rejectedWrites: RejectedWrite[] = [];
  private ended = false;
  /** Points handed to the store so far (written or being written). */
  private written = 0;

  constructor(
    readonly store: TrackingStore,
    id: string,
    params: Readonly<Record<string, ParamValue>>,
    private readonly opts: StartRunOptions,
  ) {
    this.id = id;
    for (const [k, v] of Object.entries(params)) this.params.set(k, v);
  }

  get status(): 'running' | 'ended' {
    return this.ended ? 'ended' : 'running';
  }

  /** Points written to the store so far (for tests and progress displays). */
  get flushedPoints(): number {
    return this.written;
  }

  /** @internal starts heartbeat and system-metric timers. */
  startTimers(): void {
    const hb = setInterval(() => this.schedule(0), this.opts.heartbeatMs ?? 15_000);
    hb.unref();
    this.timers.push(hb);
    const sysMs = this.opts.systemMetricsMs ?? 10_000;
    if (sysMs > 0) {
      const sample = systemSampler();
      let step = 0;
      const t = setInterval(() => this.logMetrics(sample(), step++), sysMs);
      t.unref();
      this.timers.push(t);
    }
  }

  /**
   * Appends one point; returns at once (the write happens in a later batch). `step` defaults to the key's previous step
   * + 1. The key is stored in its canonical spelling (`train_loss` → `train/loss`, see `canonicalMetricKey`).
   */
  logMetric(name: string, value: number, step?: number): void {
    const key = canonicalMetricKey(name);
    if (this.ended) throw new TrackingError(`run '${this.id}' has ended; cannot log metric '${key}'`);
    checkKey('metric', key);
    if (typeof value !== 'number') throw new TrackingError(`metric '${key}' must be a number (got ${typeof value})`);
    const s = step ?? this.nextStep.get(key) ?? 0;
    if (!Number.isInteger(s) || s < 0)
      throw new TrackingError(`step of metric '${key}' must be an integer >= 0 (got ${s})`);
    this.nextStep.set(key, s + 1);
    this.buffer.push({ key, step: s, time: Date.now(), value });
    if (this.buffer.length >= (this.opts.maxBuffered ?? 5000)) this.schedule(0);
    else if (!this.flushTimer) this.schedule(this.opts.flushIntervalMs ?? 500);
  }

  /** Appends one point per entry, all at the same step. */
  logMetrics(values: Readonly<Record<string, number>>, step?: number): void {
    for (const [k, v] of Object.entries(values)) this.logMetric(k, v, step);
  }

  /** Adds params; a param already set cannot change (throws). */
  logParams(values: Readonly<Record<string, ParamValue>>): void {
    for (const [k, v] of Object.entries(values)) {
      checkParam(k, v);
      if (this.params.has(k) && this.params.get(k) !== v)
        throw new TrackingError(
          `param '${k}' of run '${this.id}' is already ${JSON.stringify(this.params.get(k))}; params cannot change`,
          409,
        );
      this.params.set(k, v);
      this.pendingParams[k] = v;
    }
    this.schedule(this.opts.flushIntervalMs ?? 500);
  }

  /** Sets (or overwrites) a tag, written with the next flush; throws a TrackingError for an invalid key or value. */
  setTag(key: string, value: string): void {
    this.pendingTags[key] = checkTag(key, String(value));
    this.schedule(this.opts.flushIntervalMs ?? 500);
  }

  /** Replaces the run's notes (written at once, not buffered). */
  async setNotes(notes: string): Promise<void> {
    await this.store.setNotes(this.id, notes);
  }

  /** Copies a file into the artifact store and references it from this run as `name` (default: the file name). */
  async logArtifact(
    path: string,
    options: { readonly name?: string; readonly kind?: string } = {},
  ): Promise<ArtifactRecord> {
    return logArtifactTo(this.store, this.id, path, { ...options, maxBytes: this.maxBytes() });
  }

  /** Stores bytes made in memory (a plot, a report) as artifact `name`. */
  async logArtifactBytes(name: string, bytes: Uint8Array, kind?: string): Promise<ArtifactRecord> {
    validateArtifactPath(name);
    const { digest, size } = putBytes(this.store.artifactRoot, bytes, this.maxBytes(), name);
    return this.reference(name, digest, size, kind ?? artifactKind(name));
  }

  private maxBytes(): number {
    return this.opts.maxArtifactBytes ?? defaultMaxBytes();
  }

  private async reference(path: string, digest: string, size: number, kind: string): Promise<ArtifactRecord> {
    const rec: ArtifactRecord = { runId: this.id, path, digest, size, kind, createdAt: Date.now() };
    await this.store.addArtifact(rec);
    return rec;
  }

  private schedule(delayMs: number): void {
    if (this.ended) return;
    if (this.flushTimer && delayMs > 0) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush().catch(() => undefined); // kept in `failure`; surfaced by flush() and end()
    }, delayMs);
    this.flushTimer.unref();
  }

  /** Takes what is buffered as one batch. */
  private take(): RunBatch {
    const batch: RunBatch = {
      metrics: this.buffer,
      params: this.pendingParams,
      tags: this.pendingTags,
      heartbeatAt: Date.now(),
    };
    this.buffer = [];
    this.pendingParams = {};
    this.pendingTags = {};
    return batch;
  }

  /** Puts a failed batch back in front of newer points so the next flush retries it. */
  private restore(b: RunBatch): void {
    this.buffer = [...b.metrics, ...this.buffer];
    this.pendingParams = { ...b.params, ...this.pendingParams };
    this.pendingTags = { ...b.tags, ...this.pendingTags };
  }

  /**
   * Writes everything buffered so far; resolves when it is in the store. A batch the store refuses for its content
   * (see {@link isPermanentWriteError}) is split: its metrics, each param and each tag are written alone, the parts the
   * store still refuses are dropped and reported (stderr, {@link rejected}), and this flush rejects with the first such
   * error, while every later flush goes on. A lost connection keeps the batch for the next flush.
   */
  flush(): Promise<void> {
    const next = this.flushing.then(async () => {
      const batch = this.take();
      try {
        await this.store.writeBatch(this.id, batch);
        this.written += batch.metrics.length;
        this.failure = undefined;
      } catch (err) {
        if (!isPermanentWriteError(err)) {
          this.restore(batch);
          this.failure = err as Error;
          throw err;
        }
        await this.isolate(batch);
      }
    });
    this.flushing = next.catch(() => undefined);
    return next;
  }

  /** Writes the parts of a refused batch one by one; drops and reports those refused again. */
  private async isolate(batch: RunBatch): Promise<void> {
    const parts: { what: string; batch: RunBatch }[] = [
      { what: 'metrics', batch: { metrics: batch.metrics, heartbeatAt: batch.heartbeatAt } },
      ...Object.entries(batch.params ?? {}).map(([k, v]) => ({
        what: `param '${k}'`,
        batch: { metrics: [], params: { [k]: v }, heartbeatAt: batch.heartbeatAt },
      })),
      ...Object.entries(batch.tags ?? {}).map(([k, v]) => ({
        what: `tag '${k}'`,
        batch: { metrics: [], tags: { [k]: v }, heartbeatAt: batch.heartbeatAt },
      })),
    ];
    let first: Error | undefined;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      try {
        await this.store.writeBatch(this.id, p.batch);
        this.written += p.batch.metrics.length;
      } catch (err) {
        if (!isPermanentWriteError(err)) {
          for (const rest of parts.slice(i)) this.restore(rest.batch);
          this.failure = err as Error;
          throw err;
        }
        const e = err as Error;
        this.rejectedWrites.push({ what: p.what, error: e });
        if (p.what.startsWith('param ')) for (const k of Object.keys(p.batch.params ?? {})) this.params.delete(k);
        process.stderr.write(
          `lathe: run ${this.id}: the store refused ${p.what}; dropped it and kept logging: ${e.message}\n`,
        );
        first ??= new TrackingError(`run '${this.id}': ${p.what} was not stored: ${e.message}`, 400);
      }
    }
    this.failure = first;
    if (first) throw first;
  }

  /** Writes the store refused for their content (dropped; everything else was written). */
  get rejected(): readonly RejectedWrite[] {
    return this.rejectedWrites;
  }

  /** Flushes and marks the run ended (default 'finished'). Idempotent. */
  async end(status: Exclude<RunStatus, 'running'> = 'finished'): Promise<void> {
    if (this.ended) return;
    this.stopTimers();
    // A write refused for its content was dropped and reported; it does not keep the run from ending.
    await this.flush().catch((err: unknown) => {
      if (!(err instanceof TrackingError && this.rejectedWrites.length > 0)) throw err;
    });
    this.ended = true;
    activeRuns.delete(this);
    await this.store.setStatus(this.id, status, Date.now());
  }

  private stopTimers(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const t of this.timers) clearInterval(t);
  }

  /** @internal on process exit: write what is buffered and the final status without yielding (SQLite only). */
  endSync(status: Exclude<RunStatus, 'running'>): void {
    if (this.ended) return;
    this.stopTimers();
    this.ended = true;
    activeRuns.delete(this);
    if (!this.store.writeBatchSync || !this.store.setStatusSync) return; // the sweep will mark it from its heartbeat
    try {
      this.store.writeBatchSync(this.id, this.take());
      this.store.setStatusSync(this.id, status, Date.now());
    } catch (err) {
      process.stderr.write(`lathe: could not close run ${this.id} on exit: ${(err as Error).message}\n`);
    }
  }

  /** The last background flush error, if the latest flush failed. */
  get lastError(): Error | undefined {
    return this.failure;
  }
}

const defaultMaxBytes = (): number => Number(process.env.LATHE_MAX_ARTIFACT_BYTES) || DEFAULT_MAX_ARTIFACT_BYTES;

/** Adds a file as an artifact of any run (also one that has ended): what `lathe track log-artifact` does. */
export async function logArtifactTo(
  store: TrackingStore,
  runId: string,
  path: string,
  options: { readonly name?: string; readonly kind?: string; readonly maxBytes?: number } = {},
): Promise<ArtifactRecord> {
  const name = validateArtifactPath(options.name ?? basename(path));
  await store.getRun(runId);
  const { digest, size } = putFile(store.artifactRoot, path, options.maxBytes ?? defaultMaxBytes());
  const rec: ArtifactRecord = {
    runId,
    path: name,
    digest,
    size,
    kind: options.kind ?? artifactKind(name),
    createdAt: Date.now(),
  };
  await store.addArtifact(rec);
  return rec;
}

const activeRuns = new Set<Run>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' also fires after an uncaught exception (code 1): the run is marked failed with its points kept.
  process.on('exit', (code) => {
    for (const r of [...activeRuns]) r.endSync(code === 0 ? 'finished' : 'failed');
  });
  // Async stores (PostgreSQL) get a chance when the event loop drains normally.
  process.on('beforeExit', () => {
    for (const r of [...activeRuns]) if (!r.store.writeBatchSync) void r.end('finished').catch(() => undefined);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listenerCount(sig) > 0) continue; // the application handles it; 'exit' still closes runs
    const onSignal = (): void => {
      process.removeListener(sig, onSignal);
      const pending = [...activeRuns].map((r) =>
        r.store.writeBatchSync ? (r.endSync('killed'), Promise.resolve()) : r.end('killed').catch(() => undefined),
      );
      void Promise.all(pending).then(() => process.kill(process.pid, sig));
    };
    process.on(sig, onSignal);
  }
}

/** Creates a run in the store (recording lineage) and starts recording. */
export async function startRun(store: TrackingStore, opts: StartRunOptions = {}): Promise<Run> {
  const id = randomUUID().replace(/-/g, '');
  const params = opts.params ?? {};
  checkParamsAndTags(params, opts.tags);
  const experiment = opts.experiment ?? 'default';
  checkKey('experiment', experiment);
  const lineage = collectLineage({ config: opts.config, seed: opts.seed, dataset: opts.dataset, git: opts.git });
  await store.createRun({
    id,
    experiment,
    name: opts.name ?? runName(id),
    startTime: Date.now(),
    host: hostname(),
    pid: process.pid,
    params,
    tags: opts.tags ?? {},
    notes: opts.notes ?? '',
    lineage,
  });
  const run = new Run(store, id, params, opts);
  run.startTimers();
  if (opts.handleExit !== false) {
    installExitHooks();
    activeRuns.add(run);
  }
  return run;
}
