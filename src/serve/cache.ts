// Response cache: LRU with a time-to-live, keyed by model, version and a hash of the inputs.
import { createHash } from 'node:crypto';
import type { HostTensor } from './tensor.js';

/** Limits of a {@link ResponseCache}: how many entries it keeps and how long each lives. */
export interface CacheOptions {
  /** Most entries kept; the least recently used one is evicted first. */
  readonly maxEntries: number;
  /** Entry lifetime in milliseconds (0 = no expiry). */
  readonly ttlMs: number;
}

/** Key of one request: model, version, requested outputs, and every input's name, datatype, shape and bytes. */
export function cacheKey(
  model: string,
  version: string,
  inputs: readonly HostTensor[],
  outputs: readonly string[],
): string {
  const h = createHash('sha256');
  h.update(`${model}\0${version}\0${outputs.join(',')}\0`);
  for (const t of inputs) {
    h.update(`${t.name}\0${t.datatype}\0${t.shape.join('x')}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('base64');
}

/**
 * An LRU cache with a time-to-live for inference responses, keyed by {@link cacheKey}; counts its hits and misses.
 * `now` (default Date.now) is injectable for tests.
 */
export class ResponseCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  hits = 0;
  misses = 0;

  constructor(
    readonly options: CacheOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The value under `key`, marked most recently used, or undefined (a miss) when absent or expired (an expired entry is
   * removed).
   */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e || (this.options.ttlMs > 0 && e.expires <= this.now())) {
      if (e) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    // Map keeps insertion order: re-inserting moves the entry to the most-recent end.
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.value;
  }

  /**
   * Stores `value` under `key` as the most recently used entry, evicting the least recently used ones beyond
   * `maxEntries`.
   */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + this.options.ttlMs });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Removes every entry (the hit and miss counts are kept). */
  clear(): void {
    this.entries.clear();
  }
}
