// A pool of worker threads, each owning one ORT session of the same model version
// (Triton's "instance group"). The pool hands one batch to one idle instance at a time.
import { Worker } from 'node:worker_threads';
import type { Device } from '../runtime/device.js';
import type { FromWorker, ToWorker, WireTensor, WireValueInfo, WorkerInit } from './worker-messages.js';
import { InferenceError } from './errors.js';

export interface PoolOptions {
  readonly modelPath: string;
  /** Worker threads (session instances). */
  readonly instances: number;
  /** ORT intra-op threads per instance. */
  readonly intraOpThreads: number;
  /** Let ORT's thread pool spin while waiting for work (faster alone, steals CPU from the event loop). */
  readonly spinning: boolean;
  /** Execution provider (runtime/device.ts); 'cuda' falls back to the CPU when it cannot start. */
  readonly device?: Device;
  /**
   * Batches handed to one instance at a time (default 1). With 2, the next batch already waits in the
   * worker's port when a run ends, so the session never idles while the event loop is busy answering
   * the previous batch: measured here, a lone worker was idle ~28% of the time under load without it.
   */
  readonly inflight?: number;
}

export interface ModelIo {
  readonly inputs: readonly WireValueInfo[];
  readonly outputs: readonly WireValueInfo[];
}

/** A finished run: outputs and the time the worker spent in session.run. */
export interface RunResult {
  readonly outputs: readonly WireTensor[];
  readonly runMs: number;
}

interface Pending {
  readonly resolve: (out: RunResult) => void;
  readonly reject: (err: Error) => void;
}

class Instance {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Batches sent and not yet answered. */
  inFlight = 0;
  dead = false;

  constructor(readonly worker: Worker) {
    worker.on('message', (msg: FromWorker) => {
      if (msg.kind !== 'result' && msg.kind !== 'run-error') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.kind === 'result') p.resolve({ outputs: msg.outputs, runMs: msg.runMs });
      else p.reject(new InferenceError('the session failed to run the batch', 'error', msg.message));
    });
    const fail = (why: string): void => {
      this.dead = true;
      for (const p of this.pending.values()) p.reject(new InferenceError('the session worker stopped', 'error', why));
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`session worker crashed: ${err.message}`));
    worker.on('exit', (code) => fail(`session worker exited with code ${code}`));
  }

  run(feeds: readonly WireTensor[], fetches: readonly string[]): Promise<RunResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ToWorker = { kind: 'run', id, feeds, fetches };
      const transfer = feeds.map((f) => f.data.buffer as ArrayBuffer).filter((b, i, all) => all.indexOf(b) === i);
      this.worker.postMessage(msg, transfer);
    });
  }
}

function startWorker(init: WorkerInit): Promise<{ worker: Worker; io: ModelIo }> {
  const worker = new Worker(new URL('./session-worker.js', import.meta.url), { workerData: init });
  return new Promise((resolve, reject) => {
    const onMessage = (msg: FromWorker): void => {
      worker.off('error', onError);
      worker.off('message', onMessage);
      if (msg.kind === 'loaded') resolve({ worker, io: { inputs: msg.inputs, outputs: msg.outputs } });
      else {
        void worker.terminate();
        reject(
          new Error(`cannot load ${init.modelPath}: ${msg.kind === 'load-error' ? msg.message : 'unexpected message'}`),
        );
      }
    };
    const onError = (err: Error): void => {
      worker.off('message', onMessage);
      reject(new Error(`cannot load ${init.modelPath}: ${err.message}`));
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
  });
}

/** Worker threads running one model; `acquire()` gives an idle instance or undefined. */
export class InstancePool {
  private readonly waiters: (() => void)[] = [];

  private constructor(
    private readonly instances: Instance[],
    readonly io: ModelIo,
    private readonly inflight: number,
  ) {}

  static async start(options: PoolOptions): Promise<InstancePool> {
    const init: WorkerInit = {
      modelPath: options.modelPath,
      session: { device: options.device ?? 'cpu', threads: options.intraOpThreads, spinning: options.spinning },
    };
    const started = await Promise.allSettled(Array.from({ length: options.instances }, () => startWorker(init)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.worker.terminate() : undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    const ok = started.map((s) => (s as PromiseFulfilledResult<{ worker: Worker; io: ModelIo }>).value);
    return new InstancePool(
      ok.map((s) => new Instance(s.worker)),
      ok[0].io,
      Math.max(1, options.inflight ?? 1),
    );
  }

  get size(): number {
    return this.instances.length;
  }

  /** Batches the pool can take now (free slots over live instances). */
  get idle(): number {
    let free = 0;
    for (const i of this.instances) if (!i.dead) free += this.inflight - i.inFlight;
    return free;
  }

  /** Instances with at least one batch in flight. */
  get busy(): number {
    return this.instances.filter((i) => i.inFlight > 0).length;
  }

  /** Seconds each instance's thread has spent running (not waiting for work) since it started: its session runs. */
  busySeconds(): number[] {
    return this.instances.map((i) => (i.dead ? 0 : i.worker.performance.eventLoopUtilization().active / 1000));
  }

  /** Runs one batch on the least loaded instance with a free slot (the caller checked `idle > 0`). Calls `onIdle` listeners when the slot frees up. */
  async run(feeds: readonly WireTensor[], fetches: readonly string[]): Promise<RunResult> {
    let inst: Instance | undefined;
    for (const i of this.instances)
      if (!i.dead && i.inFlight < this.inflight && (!inst || i.inFlight < inst.inFlight)) inst = i;
    if (!inst) throw new InferenceError('no live session instance', 'unavailable');
    inst.inFlight++;
    try {
      return await inst.run(feeds, fetches);
    } finally {
      inst.inFlight--;
      for (const w of this.waiters) w();
    }
  }

  /** Registers a listener called whenever an instance becomes idle. */
  onIdle(listener: () => void): void {
    this.waiters.push(listener);
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.worker.terminate()));
  }
}
