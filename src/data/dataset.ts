// The two dataset kinds (map-style and streaming) and the per-sample context that carries their randomness.
import { defaultCollate } from './collate.js';
import { sampleRandom } from './random.js';
import type { Batch, Sample } from './tensor.js';

/** Per-sample context: where the sample is used and its deterministic randomness. */
export interface SampleContext {
  readonly epoch: number;
  /** The sample's index in the dataset (not its position in the epoch). */
  readonly index: number;
  /** Uniform [0, 1) stream seeded by (seed, epoch, index): the only randomness a transform may use. */
  readonly random: () => number;
}

/** Turns samples into a batch (the default stacks each key along a new first axis). */
export type Collate = (samples: readonly Sample[]) => Batch;

/** Batch-level context (mixup, cutmix): randomness seeded by (seed, epoch, batch). */
export interface BatchContext {
  readonly epoch: number;
  readonly batch: number;
  /** Uniform [0, 1) numbers seeded by (seed, epoch, batch): the only randomness a batch transform may use. */
  readonly random: () => number;
}

/**
 * A map-style dataset.
 *
 * Contract:
 * - `length` is fixed; `get(i, ctx)` accepts every integer 0 <= i < length and throws an Error naming the sample
 *   (and file, where there is one) for anything it cannot read.
 * - `get` is a pure function of (i, ctx): the same arguments give equal samples on any thread, any number of times,
 *   in any order. All randomness comes from `ctx.random()`.
 * - Samples have the same keys, and arrays under a key the same dtype and shape (or the loader needs a `collate`).
 * - `collate` and `batchTransform`, when present, run where the batch is built (a worker thread, if any).
 */
export interface Dataset {
  readonly length: number;
  /**
   * Sample `index` (an integer in [0, length)); a pure function of (index, ctx); throws an Error naming the sample (and
   * file) when it cannot be read.
   */
  get(index: number, ctx: SampleContext): Sample | Promise<Sample>;
  readonly collate?: Collate;
  /** Applied to each collated batch where the batch is built (mixup, cutmix); must take its randomness from `ctx`. */
  readonly batchTransform?: (batch: Batch, ctx: BatchContext) => Batch;
  /** Where sample `index` comes from (a file path), for error messages; wrappers pass it through. */
  readonly describe?: (index: number) => string | undefined;
}

/** The name the first DataLoader used; the same interface. */
export type SampleSource = Dataset;

/** Where a streaming dataset is in its epoch. */
export interface StreamContext {
  readonly seed: number;
  readonly epoch: number;
}

/**
 * A streaming (iterable) dataset: samples arrive in order and are not addressable by index.
 *
 * Contract: `stream(ctx)` yields the same samples in the same order for the same (seed, epoch) every time it is
 * called (so a resume can replay and skip), and ends. Randomness comes from `ctx`.
 */
export interface StreamDataset {
  /** The samples of one epoch in order; the same samples in the same order for the same (seed, epoch) on every call. */
  stream(ctx: StreamContext): AsyncIterable<Sample>;
}

/** Throws an Error naming the index unless it is an integer in [0, length). */
export function assertIndex(index: number, length: number, what: string): void {
  if (!(Number.isInteger(index) && index >= 0 && index < length))
    throw new Error(`${what}: index ${index} out of range [0, ${length})`);
}

/** A plain array of samples as a Dataset. */
export function fromSamples(samples: readonly Sample[]): Dataset {
  return {
    length: samples.length,
    get(i) {
      assertIndex(i, samples.length, 'fromSamples');
      return samples[i];
    },
  };
}

/**
 * Loads every sample (epoch 0 of `seed`) and stacks them with the dataset's collate or the default one: an image
 * folder becomes `{ x: float32 [N, C, H, W], y: int64 [N] }`, ready for an ArrayLoader.
 */
export async function loadAll(dataset: Dataset, seed = 0): Promise<Batch> {
  const samples: Sample[] = [];
  for (let i = 0; i < dataset.length; i++)
    samples.push(await dataset.get(i, { epoch: 0, index: i, random: sampleRandom(seed, 0, i) }));
  return (dataset.collate ?? defaultCollate)(samples);
}
