// Generic dataset interfaces for values of any type (rows of a JSONL file, token sequences, decoded samples), beside
// the loader's sample-valued `Dataset` (dataset.ts). A `MapDataset<Sample>` is a `Dataset` as it is: `Dataset.get`
// passes a context a MapDataset may ignore.
import { defaultCollate } from './collate.js';
import type { Dataset } from './dataset.js';
import { sampleRandom } from './random.js';
import { jsonlLines } from './readers/jsonl.js';
import type { Batch, Sample } from './tensor.js';

/**
 * A map-style dataset: `length` items addressable by index.
 *
 * Contract:
 * - `length` is a non-negative integer and never changes.
 * - `get(i)` accepts every integer 0 ≤ i < length and is deterministic: the same i gives an equal value on every
 *   call, on any thread, in any order (randomness belongs to transforms, which get a seeded generator).
 * - Anything else (i < 0, i ≥ length, a non-integer) throws, or rejects with, an Error naming the dataset,
 *   the index and the range; an item that cannot be read is an Error naming the item (and file, where there is one).
 * - Returned values may be shared (a cache): callers must not mutate them.
 */
export interface MapDataset<T> {
  readonly length: number;
  get(index: number): T | Promise<T>;
}

/**
 * A streaming dataset: items arrive in order and are not addressable (a file larger than memory, a generator).
 *
 * Contract: every `[Symbol.asyncIterator]()` call starts a new pass from the first item; each pass yields the same
 * items in the same order and ends. A pass that cannot read an item throws an Error naming it (file and line).
 */
export interface IterableDataset<T> {
  [Symbol.asyncIterator](): AsyncIterator<T>;
}

function checkIndex(index: number, length: number, what: string): void {
  if (!(Number.isInteger(index) && index >= 0 && index < length)) throw new RangeError(`${what}: index ${index} is out of range [0, ${length})`);
}

/** An array as a MapDataset (the array is not copied; do not mutate it). */
export function fromArray<T>(items: readonly T[], name = 'fromArray'): MapDataset<T> {
  return {
    length: items.length,
    get(i) {
      checkIndex(i, items.length, name);
      return items[i];
    },
  };
}

/** A view whose items are `f(item, index)` (f must be deterministic). */
export function mapItems<T, U>(dataset: MapDataset<T>, f: (item: T, index: number) => U | Promise<U>, name = 'mapItems'): MapDataset<U> {
  return {
    length: dataset.length,
    async get(i) {
      checkIndex(i, dataset.length, name);
      return f(await dataset.get(i), i);
    },
  };
}

/** The items of a MapDataset in index order, as a stream. */
export function iterateMap<T>(dataset: MapDataset<T>): IterableDataset<T> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < dataset.length; i++) yield await dataset.get(i);
    },
  };
}

/** A stream from a factory called once per pass (it must give the same items each time). */
export function fromGenerator<T>(make: () => AsyncIterable<T> | Iterable<T>): IterableDataset<T> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* make();
    },
  };
}

/** A JSON Lines file as a stream of parsed values, one line in memory at a time (errors name file and line). */
export function jsonlStream(path: string): IterableDataset<unknown> {
  return fromGenerator(async function* jsonl() {
    for await (const { value } of jsonlLines(path)) yield value;
  });
}

/** Reads every item of a stream (or its first `limit`). */
export async function collect<T>(dataset: IterableDataset<T>, limit = Infinity): Promise<T[]> {
  const out: T[] = [];
  if (limit <= 0) return out;
  for await (const item of dataset) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Loads every sample (epoch 0 of `seed`) and stacks them with the dataset's collate or the default one: an image
 * folder becomes `{ x: float32 [N, C, H, W], y: int64 [N] }`, ready for an ArrayLoader. Takes a loader `Dataset`
 * or a `MapDataset<Sample>` (which is one).
 */
export async function loadAll(dataset: Dataset, seed = 0): Promise<Batch> {
  const samples: Sample[] = [];
  for (let i = 0; i < dataset.length; i++) samples.push(await dataset.get(i, { epoch: 0, index: i, random: sampleRandom(seed, 0, i) }));
  return (dataset.collate ?? defaultCollate)(samples);
}
