// In-memory caching of decoded samples: decode once, then apply per-epoch augmentation to the cached copy.
import type { Dataset, SampleContext } from './dataset.js';
import type { Sample } from './tensor.js';

/**
 * Wraps a dataset so `get(i)` decodes each sample once (the first time it is asked for) and keeps it; an optional
 * `augment` runs on every access with the per-(seed, epoch, index) randomness, so caching never freezes the
 * augmentation. The wrapped dataset must be deterministic. In worker threads each worker keeps its own cache.
 */
export function memoryCache(
  source: Dataset,
  augment?: (s: Sample, ctx: SampleContext) => Sample,
): Dataset & { readonly cached: number } {
  const cache = new Map<number, Sample>();
  return {
    length: source.length,
    collate: source.collate,
    batchTransform: source.batchTransform,
    describe: source.describe,
    get cached() {
      return cache.size;
    },
    async get(i, ctx) {
      let s = cache.get(i);
      if (!s) {
        s = await source.get(i, ctx);
        cache.set(i, s);
      }
      return augment ? augment(s, ctx) : s;
    },
  };
}
