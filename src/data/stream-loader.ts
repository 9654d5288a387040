// Batches from a streaming dataset: samples arrive in order (a file read line by line, a generator), optionally
// mixed through a seeded shuffle buffer. Resume replays the stream of the epoch and skips the batches already
// seen, so it is exact but costs re-reading them (a stream cannot seek).
import { defaultCollate } from './collate.js';
import type { Collate, StreamDataset } from './dataset.js';
import { restOfEpoch, type DataLoaderState } from './loader.js';
import { batchRandom } from './random.js';
import type { Batch, Sample } from './tensor.js';
import { jsonlLines } from './readers/jsonl.js';

/**
 * Options of {@link StreamLoader}: samples per batch (an integer ≥ 1), the seed (default 0), whether to drop the last
 * incomplete batch, a shuffle buffer size and a custom collate.
 */
export interface StreamLoaderOptions {
  readonly batchSize: number;
  readonly seed?: number;
  readonly dropLast?: boolean;
  /** Shuffle within a buffer of this many samples (default 0: stream order). */
  readonly shuffleBuffer?: number;
  readonly collate?: Collate;
}

/**
 * Batches from a {@link StreamDataset}, read in order or through a seeded shuffle buffer; iterating with `for await`
 * continues from the saved position, and `state()`/`resume()` make a resume exact (by replaying and skipping the
 * epoch's earlier batches).
 */
export class StreamLoader implements AsyncIterable<Batch> {
  private position = { epoch: 0, batch: 0 };
  constructor(
    readonly dataset: StreamDataset,
    readonly opts: StreamLoaderOptions,
  ) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
      throw new Error(`StreamLoader: batchSize must be an integer ≥ 1, got ${opts.batchSize}`);
  }

  get seed(): number {
    return this.opts.seed ?? 0;
  }

  private async *samples(epoch: number): AsyncGenerator<Sample> {
    const k = this.opts.shuffleBuffer ?? 0;
    const stream = this.dataset.stream({ seed: this.seed, epoch });
    if (k <= 1) return yield* stream;
    const random = batchRandom(this.seed, epoch, -1);
    const buf: Sample[] = [];
    for await (const s of stream) {
      if (buf.length < k) {
        buf.push(s);
        continue;
      }
      const j = Math.floor(random() * k);
      yield buf[j];
      buf[j] = s;
    }
    while (buf.length) yield buf.splice(Math.floor(random() * buf.length), 1)[0];
  }

  /** Batches of `epoch` from batch `fromBatch` on (earlier ones are read and dropped). */
  async *iterate(epoch: number, fromBatch = 0): AsyncGenerator<Batch> {
    const collate = this.opts.collate ?? defaultCollate;
    let pending: Sample[] = [];
    let b = 0;
    for await (const s of this.samples(epoch)) {
      pending.push(s);
      if (pending.length === this.opts.batchSize) {
        if (b++ >= fromBatch) yield collate(pending);
        pending = [];
      }
    }
    if (pending.length && !this.opts.dropLast && b >= fromBatch) yield collate(pending);
  }

  /** The position of the next batch (epoch, batch) and the seed, for a checkpoint. */
  state(): DataLoaderState {
    return { ...this.position, seed: this.seed };
  }

  /** Continues from a saved position; throws if the state was saved with a different seed. */
  resume(s: DataLoaderState): void {
    if (s.seed !== this.seed)
      throw new Error(`StreamLoader.resume: state has seed ${s.seed}, this loader ${this.seed}`);
    this.position = { epoch: s.epoch, batch: s.batch };
  }

  /** Yields the rest of the current epoch from the saved position, advancing the position as batches are consumed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    yield* restOfEpoch(
      this.position,
      (e, b) => this.iterate(e, b),
      (p) => (this.position = p),
    );
  }
}

/** A JSONL file as a StreamDataset: each line's value mapped to a sample (read lazily, line by line). */
export function jsonlDataset(path: string, toSample: (value: unknown, line: number) => Sample): StreamDataset {
  return {
    async *stream() {
      for await (const { value, line } of jsonlLines(path)) {
        try {
          yield toSample(value, line);
        } catch (e) {
          throw new Error(`${path}:${line}: ${(e as Error).message}`);
        }
      }
    },
  };
}
