// DataLoader: batches from a map-style dataset, seeded shuffling, drop-last, custom collate, exact resume, and
// prefetching in worker threads (ORT's run() blocks the main thread, so decoding and augmentation must not run there).
// Determinism: the order of an epoch is a pure function of (seed, epoch), a sample's augmentation randomness of
// (seed, epoch, index) and a batch transform's of (seed, epoch, batch), so batches are identical with 0, 1 or N
// workers and after a resume.
import { Worker } from 'node:worker_threads';
import { permutation, sampleRandom, batchRandom } from './random.js';
import { defaultCollate } from './collate.js';
import type { BatchLoader } from './array-loader.js';
import type { Collate, Dataset } from './dataset.js';
import type { Batch, Sample } from './tensor.js';
import { SampleError, type SkippedSample } from './sample-error.js';

export type { Collate };
export type { Sample } from './tensor.js';
export type { SampleContext, SampleSource } from './dataset.js';
export { SampleError, type SkippedSample };

/**
 * How a worker rebuilds the dataset: a module (file URL or path) exporting a factory `(options) => Dataset`.
 * Only serializable options cross the thread boundary. `pipeline(...)` (src/data/pipeline.ts) builds one from
 * registered dataset and transform kinds.
 */
export interface SourceSpec {
  readonly module: string;
  readonly export: string;
  readonly options?: unknown;
}

/**
 * Options of {@link DataLoader}: samples per batch (`batchSize`), shuffling and seed, worker threads, prefetch depth
 * and collation.
 */
export interface DataLoaderOptions {
  readonly batchSize: number;
  /** Shuffle each epoch with permutation(size, seed, epoch) (default false). */
  readonly shuffle?: boolean;
  /** Seeds shuffling and all augmentation (default 0). */
  readonly seed?: number;
  /** Drop the last incomplete batch (default false). */
  readonly dropLast?: boolean;
  /** Worker threads (default 0: load on the calling thread; > 0 needs a SourceSpec). */
  readonly workers?: number;
  /** Batches kept in flight ahead of the consumer (default 2 per worker, 1 without workers). */
  readonly prefetch?: number;
  /** Custom collate (main thread only; with workers give the dataset a `collate`). */
  readonly collate?: Collate;
  /**
   * Leave samples that fail to load out of their batch instead of failing the epoch (default false): for scraped
   * folders with a few corrupt files. Each one is counted in `loader.skipped` and reported through `onSkip`
   * (default: a process warning naming the sample and file). A batch whose every sample fails is left out.
   */
  readonly skipErrors?: boolean;
  /** Called for each skipped sample (with `skipErrors`); replaces the default warning. */
  readonly onSkip?: (s: SkippedSample) => void;
}

/** The loader's position: the next batch `for await` yields. Saved in checkpoints for exact resume. */
export interface DataLoaderState {
  readonly epoch: number;
  readonly batch: number;
  readonly seed: number;
}

/** Loads the dataset a spec names (used on the calling thread and in workers). */
export async function loadSource(spec: SourceSpec): Promise<Dataset> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const factory = mod[spec.export];
  if (typeof factory !== 'function')
    throw new Error(`DataLoader: ${spec.module} has no factory export "${spec.export}"`);
  return (await (factory as (o: unknown) => Dataset | Promise<Dataset>)(spec.options)) as Dataset;
}

/** What building one batch gave: the batch (absent when `skipErrors` left out every sample) and what was skipped. */
export interface BuiltBatch {
  readonly batch?: Batch;
  readonly skipped: readonly SkippedSample[];
}

/**
 * Builds batch `batch` of `epoch` from the dataset indices `indices` (the work a worker does). The samples are read
 * concurrently (an image dataset's decodes overlap on libuv's thread pool); a failing sample rejects with a
 * SampleError naming its index and file (the first failing one in batch order, so the error is deterministic), or,
 * with `skipErrors`, is left out of the batch and reported in `skipped`.
 */
export async function buildBatchReport(
  source: Dataset,
  indices: ArrayLike<number>,
  epoch: number,
  seed: number,
  o: { readonly collate?: Collate; readonly batch?: number; readonly skipErrors?: boolean } = {},
): Promise<BuiltBatch> {
  const batch = o.batch ?? 0;
  const reads = Array.from(indices, async (i) =>
    source.get(i, { epoch, index: i, random: sampleRandom(seed, epoch, i) }),
  );
  const settled = await Promise.allSettled(reads);
  const samples: Sample[] = [];
  const skipped: SkippedSample[] = [];
  settled.forEach((r, k) => {
    if (r.status === 'fulfilled') return void samples.push(r.value);
    const i = indices[k];
    const err = r.reason instanceof SampleError ? r.reason : new SampleError(i, describe(source, i), r.reason);
    if (!o.skipErrors) throw err;
    skipped.push({ epoch, batch, index: i, file: err.file, message: err.message });
  });
  if (samples.length === 0) return { skipped };
  const out = (o.collate ?? source.collate ?? defaultCollate)(samples);
  return {
    batch: source.batchTransform
      ? source.batchTransform(out, { epoch, batch, random: batchRandom(seed, epoch, batch) })
      : out,
    skipped,
  };
}

/** Builds batch `batch` of `epoch` from the dataset indices `indices`; a failing sample rejects with a SampleError. */
export async function buildBatch(
  source: Dataset,
  indices: ArrayLike<number>,
  epoch: number,
  seed: number,
  collate?: Collate,
  batch = 0,
): Promise<Batch> {
  return (await buildBatchReport(source, indices, epoch, seed, { collate, batch })).batch!;
}

function describe(source: Dataset, i: number): string | undefined {
  try {
    return source.describe?.(i);
  } catch {
    return undefined;
  }
}

interface Pending {
  readonly resolve: (b: BuiltBatch) => void;
  readonly reject: (e: Error) => void;
}

/** A worker's reply: a batch and what it skipped, or the error that failed it. */
export interface WorkerReply {
  readonly id: number;
  readonly built?: BuiltBatch;
  readonly error?: { readonly message: string; readonly index?: number; readonly file?: string };
}

const isSpec = (x: Dataset | SourceSpec): x is SourceSpec => 'module' in x && 'export' in x;

/**
 * Batches over a Dataset (on this thread) or a SourceSpec (rebuilt in each of `workers` threads).
 *
 *   for await (const batch of loader) { ... }   // the rest of the current epoch, then the position moves on
 *   const s = loader.state(); ...; loader.resume(s)   // exact resume, e.g. from a checkpoint
 *
 * `iterate(epoch, fromBatch)` gives any epoch from any batch (the Trainer's BatchLoader contract).
 */
export class DataLoader implements BatchLoader, AsyncIterable<Batch> {
  readonly length: number;
  readonly size: number;
  readonly opts: DataLoaderOptions;
  private source?: Promise<Dataset>;
  private pool?: Worker[];
  private next = 0;
  private readonly pending = new Map<number, Pending>();
  private skippedCount = 0;
  private position = { epoch: 0, batch: 0 };

  constructor(input: Dataset, opts: DataLoaderOptions);
  constructor(input: Dataset | SourceSpec, size: number, opts: DataLoaderOptions);
  constructor(
    readonly input: Dataset | SourceSpec,
    sizeOrOpts: number | DataLoaderOptions,
    maybeOpts?: DataLoaderOptions,
  ) {
    const opts = typeof sizeOrOpts === 'number' ? maybeOpts : sizeOrOpts;
    if (!opts) throw new Error('DataLoader: options are required');
    let size: number;
    if (typeof sizeOrOpts === 'number') size = sizeOrOpts;
    else if (isSpec(input)) throw new Error('DataLoader: a SourceSpec needs its size (or use DataLoader.fromSpec)');
    else size = input.length;
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
      throw new Error(`DataLoader: batchSize must be an integer ≥ 1, got ${opts.batchSize}`);
    if ((opts.workers ?? 0) > 0 && !isSpec(input))
      throw new Error('DataLoader: workers need a SourceSpec ({ module, export, options }) the workers can rebuild');
    if ((opts.workers ?? 0) > 0 && opts.collate)
      throw new Error(
        'DataLoader: a custom collate cannot cross to worker threads; give the dataset a `collate` instead',
      );
    this.opts = opts;
    this.size = size;
    this.length = opts.dropLast ? Math.floor(size / opts.batchSize) : Math.ceil(size / opts.batchSize);
  }

  /** A loader over a spec whose length is read by loading it once on this thread. */
  static async fromSpec(spec: SourceSpec, opts: DataLoaderOptions): Promise<DataLoader> {
    const src = await loadSource(spec);
    const l = new DataLoader(spec, src.length, opts);
    l.source = Promise.resolve(src);
    return l;
  }

  get seed(): number {
    return this.opts.seed ?? 0;
  }

  /** Where `for await` continues: epoch and the index of the next batch. */
  state(): DataLoaderState {
    return { epoch: this.position.epoch, batch: this.position.batch, seed: this.seed };
  }

  /** Continues from a saved state (a different seed would silently change the batches, so it is an error). */
  resume(s: DataLoaderState): void {
    if (s.seed !== this.seed) throw new Error(`DataLoader.resume: state has seed ${s.seed}, this loader ${this.seed}`);
    if (
      !(
        Number.isInteger(s.epoch) &&
        s.epoch >= 0 &&
        Number.isInteger(s.batch) &&
        s.batch >= 0 &&
        s.batch <= this.length
      )
    ) {
      throw new Error(
        `DataLoader.resume: bad position epoch ${s.epoch} batch ${s.batch} (epoch has ${this.length} batches)`,
      );
    }
    this.position = { epoch: s.epoch, batch: s.batch };
  }

  /** The dataset indices of batch `b` of `epoch`. */
  indices(epoch: number, b: number): Uint32Array {
    const order = this.opts.shuffle ? permutation(this.size, this.seed, epoch) : undefined;
    const start = b * this.opts.batchSize;
    const end = Math.min(this.size, start + this.opts.batchSize);
    const out = new Uint32Array(Math.max(0, end - start));
    for (let i = start; i < end; i++) out[i - start] = order ? order[i] : i;
    return out;
  }

  private workerPool(): Worker[] {
    if (this.pool) return this.pool;
    const spec = this.input as SourceSpec;
    const pool: Worker[] = Array.from({ length: this.opts.workers ?? 0 }, () => {
      const w = new Worker(new URL('./worker-loader.js', import.meta.url), {
        workerData: { spec, seed: this.seed, skipErrors: this.opts.skipErrors ?? false },
      });
      w.on('message', (m: WorkerReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        // idle workers must not keep the process alive; busy ones must (their replies are awaited)
        if (this.pending.size === 0) for (const x of this.pool ?? []) x.unref();
        if (m.error === undefined) return p.resolve(m.built!);
        const { message, index, file } = m.error;
        p.reject(
          index === undefined
            ? new Error(message)
            : Object.assign(new SampleError(index, file, new Error(message)), { message }),
        );
      });
      // a worker that dies fails every batch in flight; the next request starts a fresh pool
      const dead = (e: Error): void => {
        if (this.pool !== pool) return;
        this.pool = undefined;
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
        for (const x of pool) if (x !== w) void x.terminate();
      };
      w.on('error', dead);
      w.on('exit', (code) => dead(new Error(`DataLoader: worker thread exited (code ${code})`)));
      w.unref();
      return w;
    });
    this.pool = pool;
    return pool;
  }

  private request(epoch: number, b: number): Promise<BuiltBatch> {
    const idx = this.indices(epoch, b);
    const workers = this.opts.workers ?? 0;
    if (workers === 0) {
      this.source ??= isSpec(this.input) ? loadSource(this.input) : Promise.resolve(this.input);
      const o = { collate: this.opts.collate, batch: b, skipErrors: this.opts.skipErrors };
      return this.source.then((s) => buildBatchReport(s, idx, epoch, this.seed, o));
    }
    const pool = this.workerPool();
    const id = this.next++;
    return new Promise<BuiltBatch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const w = pool[b % pool.length];
      w.ref();
      w.postMessage({ id, epoch, batch: b, indices: idx }, [idx.buffer as ArrayBuffer]);
    });
  }

  /** How many samples `skipErrors` has left out so far (all epochs). */
  get skipped(): number {
    return this.skippedCount;
  }

  private report(built: BuiltBatch): void {
    for (const s of built.skipped) {
      this.skippedCount++;
      if (this.opts.onSkip) this.opts.onSkip(s);
      else
        process.emitWarning(
          `DataLoader: skipped ${s.message} (epoch ${s.epoch}, batch ${s.batch}; ${this.skippedCount} skipped so far)`,
          'SkippedSample',
        );
    }
  }

  /** Batches `fromBatch..length-1` of `epoch` as [index, batch], prefetching `prefetch` ahead. */
  private async *indexed(epoch: number, fromBatch: number): AsyncGenerator<readonly [number, Batch]> {
    const ahead = Math.max(1, this.opts.prefetch ?? 2 * Math.max(1, this.opts.workers ?? 0));
    const queue: { b: number; p: Promise<BuiltBatch> }[] = [];
    let b = fromBatch;
    const enqueue = (): void => {
      const p = this.request(epoch, b);
      // a prefetched batch may fail before it is awaited: without a handler now, Node would end the process
      p.catch(() => undefined);
      queue.push({ b: b++, p });
    };
    while (b < this.length && queue.length < ahead) enqueue();
    while (queue.length) {
      const { b: at, p } = queue.shift()!;
      const built = await p;
      if (b < this.length) enqueue();
      this.report(built);
      if (built.batch) yield [at, built.batch];
    }
  }

  /** Batches `fromBatch..length-1` of `epoch`, prefetching `prefetch` ahead. Does not move `state()`. */
  async *iterate(epoch: number, fromBatch = 0): AsyncGenerator<Batch> {
    for await (const [, batch] of this.indexed(epoch, fromBatch)) yield batch;
  }

  /** The rest of the current epoch; `state()` advances as each batch is handed out, and to the next epoch at its end. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const { epoch, batch } = this.position;
    for await (const [b, out] of this.indexed(epoch, batch)) {
      this.position = { epoch, batch: b + 1 };
      yield out;
    }
    this.position = { epoch: epoch + 1, batch: 0 };
  }

  /**
   * Stops the worker threads (a later batch starts new ones); batches still in flight reject. Always settles: the
   * workers are held referenced until they have exited, so the process cannot end with `close()` pending.
   */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    for (const p of this.pending.values()) p.reject(new Error('DataLoader: closed'));
    this.pending.clear();
    if (!pool) return;
    for (const w of pool) w.ref();
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

/**
 * The batches from `from` to the end of its epoch, reporting the position after each one handed out (and the next
 * epoch's start at the end): how a stateful loader's plain `for await` continues where `state()` says it is.
 */
export async function* restOfEpoch(
  from: { readonly epoch: number; readonly batch: number },
  iterate: (epoch: number, fromBatch: number) => AsyncIterable<Batch>,
  moveTo: (position: { epoch: number; batch: number }) => void,
): AsyncGenerator<Batch> {
  const { epoch, batch } = from;
  let b = batch;
  for await (const out of iterate(epoch, batch)) {
    moveTo({ epoch, batch: ++b });
    yield out;
  }
  moveTo({ epoch: epoch + 1, batch: 0 });
}
