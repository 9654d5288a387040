// DataLoader: batches from a map-style dataset, seeded shuffling, drop-last, custom collate, and prefetching in
// worker threads (ORT's run() blocks the main thread, so decoding and augmentation must not run there).
// Determinism: the order of an epoch is a pure function of (seed, epoch) and a sample's augmentation randomness
// of (seed, epoch, index), so batches are identical with 0, 1 or N workers and after a resume.
import { Worker } from 'node:worker_threads';
import { allocate, type DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { permutation, type Batch, type BatchLoader } from './array-loader.js';

/** A sample: named arrays (and plain numbers, e.g. a class label). */
export type Sample = Readonly<Record<string, NDArray | number>>;

/** Per-sample context: deterministic randomness for augmentation. */
export interface SampleContext {
  readonly epoch: number;
  readonly index: number;
  /** Uniform [0, 1) stream seeded by (seed, epoch, index). */
  readonly random: () => number;
}

/** Map-style source the loader reads (contract: `get` is pure given (index, ctx)). */
export interface SampleSource {
  readonly length: number;
  get(index: number, ctx: SampleContext): Sample | Promise<Sample>;
}

/**
 * How a worker rebuilds the source: a module (file URL or path) exporting a factory `(options) => SampleSource`.
 * Only serializable options cross the thread boundary.
 */
export interface SourceSpec {
  readonly module: string;
  readonly export: string;
  readonly options?: unknown;
}

export type Collate = (samples: readonly Sample[]) => Batch;

export interface DataLoaderOptions {
  readonly batchSize: number;
  readonly shuffle?: boolean;
  readonly seed?: number;
  readonly dropLast?: boolean;
  /** Worker threads (0: load on the calling thread; needs a SourceSpec when > 0). */
  readonly workers?: number;
  /** Batches kept in flight ahead of the consumer (default 2 per worker). */
  readonly prefetch?: number;
  readonly collate?: Collate;
}

/** Deterministic uniform stream for (seed, epoch, index) — mulberry32 over a mixed key. */
export function sampleRandom(seed: number, epoch: number, index: number): () => number {
  let s = (Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(epoch + 0x6a09e667, 0x85ebca6b) ^ Math.imul(index + 0x3c6ef372, 0xc2b2ae35)) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stacks each key along a new first axis; integer numbers become int64, other numbers float32. */
export const defaultCollate: Collate = (samples) => {
  const out: Record<string, NDArray> = {};
  for (const key of Object.keys(samples[0])) {
    const first = samples[0][key];
    if (typeof first === 'number') {
      const ints = samples.every((s) => Number.isInteger(s[key] as number));
      const dtype: DType = ints ? 'int64' : 'float32';
      const data = allocate(dtype, samples.length);
      samples.forEach((s, i) => ((data as Float32Array)[i] = ints ? (BigInt(s[key] as number) as unknown as number) : (s[key] as number)));
      out[key] = { dtype, shape: [samples.length], data };
      continue;
    }
    const per = first.shape.reduce((a, b) => a * b, 1);
    const data = allocate(first.dtype, per * samples.length);
    samples.forEach((s, i) => {
      const a = s[key] as NDArray;
      if (a.shape.join(',') !== first.shape.join(',') || a.dtype !== first.dtype) {
        throw new Error(`collate: sample ${i} "${key}" is ${a.dtype}[${a.shape}], sample 0 is ${first.dtype}[${first.shape}] (give a custom collate)`);
      }
      (data as Float32Array).set(a.data as Float32Array, i * per);
    });
    out[key] = { dtype: first.dtype, shape: [samples.length, ...first.shape], data };
  }
  return out;
};

/** Loads the source a spec names (used on the calling thread and in workers). */
export async function loadSource(spec: SourceSpec): Promise<SampleSource> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const factory = mod[spec.export];
  if (typeof factory !== 'function') throw new Error(`DataLoader: ${spec.module} has no factory export "${spec.export}"`);
  return (await (factory as (o: unknown) => SampleSource | Promise<SampleSource>)(spec.options)) as SampleSource;
}

export async function buildBatch(source: SampleSource, indices: ArrayLike<number>, epoch: number, seed: number, collate: Collate): Promise<Batch> {
  const samples: Sample[] = [];
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    samples.push(await source.get(i, { epoch, index: i, random: sampleRandom(seed, epoch, i) }));
  }
  return collate(samples);
}

interface Pending {
  readonly resolve: (b: Batch) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Batches over a SampleSource (on this thread) or a SourceSpec (rebuilt in each of `workers` threads).
 * Implements the Trainer's BatchLoader contract, including starting an epoch at any batch (exact resume).
 */
export class DataLoader implements BatchLoader {
  readonly length: number;
  readonly size: number;
  private source?: Promise<SampleSource>;
  private pool?: Worker[];
  private next = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(readonly input: SampleSource | SourceSpec, size: number, readonly opts: DataLoaderOptions) {
    if (!(opts.batchSize >= 1)) throw new Error(`DataLoader: batchSize must be ≥ 1, got ${opts.batchSize}`);
    if ((opts.workers ?? 0) > 0 && !('module' in input)) throw new Error('DataLoader: workers need a SourceSpec ({ module, export, options }) the workers can rebuild');
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

  private indices(epoch: number, b: number): Uint32Array {
    const order = this.opts.shuffle ? permutation(this.size, this.opts.seed ?? 0, epoch) : undefined;
    const start = b * this.opts.batchSize;
    const end = Math.min(this.size, start + this.opts.batchSize);
    const out = new Uint32Array(end - start);
    for (let i = start; i < end; i++) out[i - start] = order ? order[i] : i;
    return out;
  }

  private workerPool(): Worker[] {
    if (this.pool) return this.pool;
    const spec = this.input as SourceSpec;
    this.pool = Array.from({ length: this.opts.workers ?? 0 }, () => {
      const w = new Worker(new URL('./worker-loader.js', import.meta.url), { workerData: { spec, seed: this.opts.seed ?? 0 } });
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
      this.source ??= 'module' in this.input ? loadSource(this.input) : Promise.resolve(this.input);
      return this.source.then((s) => buildBatch(s, idx, epoch, this.opts.seed ?? 0, this.opts.collate ?? defaultCollate));
    }
    if (this.opts.collate) throw new Error('DataLoader: a custom collate runs in the workers; export it from the source module instead');
    const pool = this.workerPool();
    const id = this.next++;
    return new Promise<Batch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const w = pool[b % pool.length];
      w.ref();
      w.postMessage({ id, epoch, indices: idx }, [idx.buffer as ArrayBuffer]);
    });
  }

  async *iterate(epoch: number, fromBatch = 0): AsyncIterable<Batch> {
    const ahead = Math.max(1, this.opts.prefetch ?? 2 * Math.max(1, this.opts.workers ?? 0));
    const queue: Promise<Batch>[] = [];
    let b = fromBatch;
    while (b < this.length && queue.length < ahead) queue.push(this.request(epoch, b++));
    while (queue.length) {
      const batch = await queue.shift()!;
      if (b < this.length) queue.push(this.request(epoch, b++));
      yield batch;
    }
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all((this.pool ?? []).map((w) => w.terminate()));
    this.pool = undefined;
  }
}
