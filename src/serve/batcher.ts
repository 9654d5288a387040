// Dynamic batching for one model version.
//
// Work-conserving by default: a batch leaves as soon as an instance is idle, holding everything
// compatible that queued up while the instances were busy. So under load batches grow by
// themselves, and at low load no request waits for a window to close (the latency blow-up of
// fixed batching windows). `maxQueueDelayMs` > 0 lets an idle instance wait that long for a
// fuller (or preferred-size) batch; the wait is bounded by the oldest request's age.
import { OIP_DTYPE } from '../graph/dtype.js';
import { InferenceError, QueueFullError, queueFullMessage } from './errors.js';
import type { InstancePool } from './pool.js';
import type { WireTensor } from './worker-messages.js';
import { allocateOip, elementCount, type HostTensor, type ModelSignature, type TypedArray } from './tensor.js';

/** How a model version batches requests (the `batching` section of its serve config). */
export interface BatchingOptions {
  /** Largest number of rows (leading-dimension entries) in one session run; 1 disables batching. */
  readonly maxBatchSize: number;
  /** How long an idle instance may wait for a fuller batch; 0 = never wait (default). */
  readonly maxQueueDelayMs: number;
  /** Batch sizes to prefer when more rows are queued than the largest of them (e.g. [8, 16, 32]). */
  readonly preferredBatchSizes: readonly number[];
  /** Most requests waiting; the next one gets 503 + Retry-After. */
  readonly maxQueueSize: number;
}

/** What a finished request learns about its batch. */
export interface BatchInfo {
  readonly queueMs: number;
  readonly batchRows: number;
}

/** Receives one call per batch run (metrics). */
export interface BatchObserver {
  batch(rows: number, requests: number, runMs: number): void;
}

interface Job {
  readonly key: string;
  readonly rows: number;
  readonly inputs: readonly HostTensor[];
  readonly enqueuedAt: number;
  readonly resolve: (outputs: HostTensor[], info: BatchInfo) => void;
  readonly reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
  done: boolean;
}

/**
 * Dynamic batching for one model version: queues requests and, whenever an instance of the pool is idle, runs
 * everything compatible that has queued (up to `maxBatchSize` rows) as one session run, then splits the outputs back
 * per request; refuses with 503 (QueueFullError) when `maxQueueSize` requests wait.
 */
export class DynamicBatcher {
  private queue: Job[] = [];
  private inFlight = 0;
  private delayTimer: NodeJS.Timeout | undefined;
  private avgRunMs = 5;
  private avgJobsPerRun = 1;
  private refusalJson: string | undefined;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(
    private readonly label: string,
    private readonly signature: ModelSignature,
    private readonly pool: InstancePool,
    private readonly options: BatchingOptions,
    private readonly observer?: BatchObserver,
  ) {
    pool.onIdle(() => this.pump());
  }

  /** Requests waiting for an instance. */
  get depth(): number {
    return this.queue.length;
  }

  /** Requests queued or running. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** True when the next request would be refused. */
  get full(): boolean {
    return this.queue.length >= this.options.maxQueueSize;
  }

  /** Retry-After for a refused request: the queue's drain time in whole seconds, at least 1. */
  retryAfterS(): number {
    return Math.max(1, Math.ceil(this.drainEstimateMs() / 1000));
  }

  /** The 503 a new request gets now (the queue is full), or undefined; Retry-After is the queue's drain time. */
  refusal(): QueueFullError | undefined {
    return this.full ? new QueueFullError(this.label, this.options.maxQueueSize, this.retryAfterS()) : undefined;
  }

  /** The refusal's body, made once: a 503 under overload should cost as little as possible. */
  refusalBody(): string {
    return (this.refusalJson ??= JSON.stringify({ error: queueFullMessage(this.label, this.options.maxQueueSize) }));
  }

  /** How long the queue takes to empty at the recent pace: queued requests / (requests per run × instances) × run time. */
  drainEstimateMs(): number {
    const perRound = Math.max(1, this.avgJobsPerRun) * Math.max(1, this.pool.size);
    return (this.queue.length / perRound) * this.avgRunMs;
  }

  /**
   * Queues one request (inputs in signature order, already validated) and resolves with its
   * outputs (signature order). Rejects with QueueFullError when the queue is full and with a
   * timeout InferenceError after `timeoutMs`.
   */
  submit(inputs: readonly HostTensor[], timeoutMs: number): Promise<{ outputs: HostTensor[]; info: BatchInfo }> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const rows = this.signature.batchable ? inputs[0].shape[0] : 1;
    const key = inputs
      .map((t) => `${t.datatype}[${(this.signature.batchable ? t.shape.slice(1) : t.shape).join(',')}]`)
      .join(';');
    return new Promise((resolve, reject) => {
      const job: Job = {
        key,
        rows,
        inputs,
        enqueuedAt: performance.now(),
        resolve: (outputs, info) => resolve({ outputs, info }),
        reject,
        done: false,
      };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        job.timer = setTimeout(() => {
          const i = this.queue.indexOf(job);
          if (i >= 0) this.queue.splice(i, 1);
          this.finish(
            job,
            new InferenceError(`model '${this.label}' did not answer within ${timeoutMs} ms`, 'timeout'),
          );
        }, timeoutMs);
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Resolves once nothing is queued or running (used before a version is unloaded). */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private finish(job: Job, result: Error | { outputs: HostTensor[]; info: BatchInfo }): void {
    if (job.done) return;
    job.done = true;
    if (job.timer) clearTimeout(job.timer);
    if (result instanceof Error) job.reject(result);
    else job.resolve(result.outputs, result.info);
  }

  private pump(): void {
    while (this.queue.length > 0 && this.pool.idle > 0) {
      const batch = this.pick();
      if (!batch) return;
      void this.dispatch(batch);
    }
    this.checkDrained();
  }

  /** The next batch to run, or undefined to keep waiting for more rows (a timer is then armed). */
  private pick(): Job[] | undefined {
    const head = this.queue[0];
    const { maxBatchSize, maxQueueDelayMs, preferredBatchSizes } = this.options;
    const limit = this.signature.batchable ? Math.max(maxBatchSize, head.rows) : head.rows;
    const picked: Job[] = [];
    let rows = 0;
    for (const job of this.queue) {
      if (job.key !== head.key || rows + job.rows > limit) continue;
      picked.push(job);
      rows += job.rows;
      if (rows === limit) break;
    }
    const full = preferredBatchSizes.length > 0 ? Math.min(limit, Math.max(...preferredBatchSizes)) : limit;
    const waited = performance.now() - head.enqueuedAt;
    if (rows < full && maxQueueDelayMs > 0 && waited < maxQueueDelayMs) {
      if (!this.delayTimer) {
        this.delayTimer = setTimeout(
          () => {
            this.delayTimer = undefined;
            this.pump();
          },
          Math.max(1, Math.ceil(maxQueueDelayMs - waited)),
        );
      }
      return undefined;
    }
    let chosen = picked;
    const preferred = preferredBatchSizes.filter((p) => p <= rows).sort((a, b) => b - a)[0];
    if (preferred !== undefined && preferred < rows) {
      chosen = [];
      let r = 0;
      for (const job of picked) {
        if (r + job.rows > preferred) break;
        chosen.push(job);
        r += job.rows;
      }
      if (chosen.length === 0) chosen = [picked[0]];
    }
    const set = new Set(chosen);
    this.queue = this.queue.filter((j) => !set.has(j));
    return chosen;
  }

  private async dispatch(jobs: Job[]): Promise<void> {
    this.inFlight += jobs.length;
    const started = performance.now();
    const rows = jobs.reduce((s, j) => s + j.rows, 0);
    try {
      const feeds = this.stack(jobs, rows);
      const fetches = this.signature.outputs.map((o) => o.name);
      const { outputs, runMs } = await this.pool.run(feeds, fetches);
      this.avgRunMs = 0.9 * this.avgRunMs + 0.1 * runMs;
      this.avgJobsPerRun = 0.9 * this.avgJobsPerRun + 0.1 * jobs.length;
      this.observer?.batch(rows, jobs.length, runMs);
      this.split(jobs, rows, outputs, started);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      for (const job of jobs) this.finish(job, e);
    } finally {
      this.inFlight -= jobs.length;
      this.checkDrained();
    }
  }

  /** One feed per input: the jobs' rows stacked along the leading axis (one copy into a fresh, transferable buffer). */
  private stack(jobs: readonly Job[], rows: number): WireTensor[] {
    return this.signature.inputs.map((spec, i) => {
      const first = jobs[0].inputs[i];
      const dims = this.signature.batchable ? [rows, ...first.shape.slice(1)] : [...first.shape];
      const data = allocateOip(first.datatype, elementCount(dims));
      let offset = 0;
      for (const job of jobs) {
        const src = job.inputs[i].data;
        (data as Float32Array).set(src as Float32Array, offset);
        offset += src.length;
      }
      return { name: spec.name, type: OIP_DTYPE[first.datatype], dims, data };
    });
  }

  private split(jobs: readonly Job[], rows: number, outputs: readonly WireTensor[], started: number): void {
    let row = 0;
    for (const job of jobs) {
      const info: BatchInfo = { queueMs: started - job.enqueuedAt, batchRows: rows };
      const mine: HostTensor[] = [];
      for (let o = 0; o < outputs.length; o++) {
        const out = outputs[o];
        const spec = this.signature.outputs[o];
        if (jobs.length === 1) {
          mine.push({ name: spec.name, datatype: spec.datatype, shape: out.dims, data: out.data });
          continue;
        }
        if (out.dims[0] !== rows) {
          this.finish(
            job,
            new InferenceError(
              `output '${spec.name}' has leading dimension ${out.dims[0]}, expected the batch size ${rows}`,
              'error',
            ),
          );
          break;
        }
        const inner = elementCount(out.dims.slice(1));
        const data = out.data.subarray(row * inner, (row + job.rows) * inner) as TypedArray;
        mine.push({ name: spec.name, datatype: spec.datatype, shape: [job.rows, ...out.dims.slice(1)], data });
      }
      row += job.rows;
      this.finish(job, { outputs: mine, info });
    }
  }

  private checkDrained(): void {
    if (this.pending > 0 || this.drainWaiters.length === 0) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }
}
