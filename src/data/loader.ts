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
import type { Batch } from './tensor.js';

export type { Collate };
export type { SampleSource } from './dataset.js';

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
  if (typeof factory !== 'function') throw new Error(`DataLoader: ${spec.module} has no factory export "${spec.export}"`);
  return (await (factory as (o: unknown) => Dataset | Promise<Dataset>)(spec.options)) as Dataset;
}

/** Builds batch `batch` of `epoch` from the dataset indices `indices` (the work a worker does). */
export async function buildBatch(source: Dataset, indices: ArrayLike<number>, epoch: number, seed: number, collate?: Collate, batch = 0): Promise<Batch> {
  const samples = [];
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    samples.push(await source.get(i, { epoch, index: i, random: sampleRandom(seed, epoch, i) }));
  }
  const out = (collate ?? source.collate ?? defaultCollate)(samples);
  return source.batchTransform ? source.batchTransform(out, { epoch, batch, random: batchRandom(seed, epoch, batch) }) : out;
}

interface Pending {
  readonly resolve: (b: Batch) => void;
  readonly reject: (e: Error) => void;
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
  private position = { epoch: 0, batch: 0 };

  constructor(input: Dataset, opts: DataLoaderOptions);
  constructor(input: Dataset | SourceSpec, size: number, opts: DataLoaderOptions);
  constructor(readonly input: Dataset | SourceSpec, sizeOrOpts: number | DataLoaderOptions, maybeOpts?: DataLoaderOptions) {
    const opts = typeof sizeOrOpts === 'number' ? maybeOpts : sizeOrOpts;
    if (!opts) throw new Error('DataLoader: options are required');
    let size: number;
    if (typeof sizeOrOpts === 'number') size = sizeOrOpts;
    else if (isSpec(input)) throw new Error('DataLoader: a SourceSpec needs its size (or use DataLoader.fromSpec)');
    else size = input.length;
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new Error(`DataLoader: batchSize must be an integer ≥ 1, got ${opts.batchSize}`);
    if ((opts.workers ?? 0) > 0 && !isSpec(input)) throw new Error('DataLoader: workers need a SourceSpec ({ module, export, options }) the workers can rebuild');
    if ((opts.workers ?? 0) > 0 && opts.collate) throw new Error('DataLoader: a custom collate cannot cross to worker threads; give the dataset a `collate` instead');
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
    if (!(Number.isInteger(s.epoch) && s.epoch >= 0 && Number.isInteger(s.batch) && s.batch >= 0 && s.batch <= this.length)) {
      throw new Error(`DataLoader.resume: bad position epoch ${s.epoch} batch ${s.batch} (epoch has ${this.length} batches)`);
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
    this.pool = Array.from({ length: this.opts.workers ?? 0 }, () => {
      const w = new Worker(new URL('./worker-loader.js', import.meta.url), { workerData: { spec, seed: this.seed } });
      w.on('message', (m: { id: number; batch?: Batch; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        // idle workers must not keep the process alive; busy ones must (their replies are awaited)
        if (this.pending.size === 0) for (const x of this.pool ?? []) x.unref();
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.batch!);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      w.unref();
      return w;
    });
    return this.pool;
  }

  private request(epoch: number, b: number): Promise<Batch> {
    const idx = this.indices(epoch, b);
    const workers = this.opts.workers ?? 0;
    if (workers === 0) {
      this.source ??= isSpec(this.input) ? loadSource(this.input) : Promise.resolve(this.input);
      return this.source.then((s) => buildBatch(s, idx, epoch, this.seed, this.opts.collate, b));
    }
    const pool = this.workerPool();
    const id = this.next++;
    return new Promise<Batch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const w = pool[b % pool.length];
      w.ref();
      w.postMessage({ id, epoch, batch: b, indices: idx }, [idx.buffer as ArrayBuffer]);
    });
  }

  /** Batches `fromBatch..length-1` of `epoch`, prefetching `prefetch` ahead. Does not move `state()`. */
  async *iterate(epoch: number, fromBatch = 0): AsyncGenerator<Batch> {
    const ahead = Math.max(1, this.opts.prefetch ?? 2 * Math.max(1, this.opts.workers ?? 0));
    const queue: Promise<Batch>[] = [];
    let b = fromBatch;
    while (b < this.length && queue.length < ahead) queue.push(this.request(epoch, b++));
    try {
      while (queue.length) {
        const batch = await queue.shift()!;
        if (b < this.length) queue.push(this.request(epoch, b++));
        yield batch;
      }
    } finally {
      // a consumer that stops early leaves prefetched requests behind: settle them quietly
      for (const q of queue) q.catch(() => undefined);
    }
  }

  /** The rest of the current epoch; `state()` advances as each batch is handed out, and to the next epoch at its end. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    yield* restOfEpoch(this.position, (e, b) => this.iterate(e, b), (p) => (this.position = p));
  }

  /** Stops the worker threads (a later batch starts new ones). */
  async close(): Promise<void> {
    await Promise.all((this.pool ?? []).map((w) => w.terminate()));
    this.pool = undefined;
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
