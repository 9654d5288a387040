// Sample sources for DataLoader tests, importable by worker threads (not a test file itself).
import { ndarray } from '../../src/graph/ndarray.js';
import type { SampleSource } from '../../src/data/loader.js';

/** n samples; x = [index, random()] so tests see both order and per-sample randomness. */
export function counting(o: { n: number }): SampleSource {
  return {
    length: o.n,
    get: (i, ctx) => ({ x: ndarray('float32', [2], [i, ctx.random()]), y: i % 3 }),
  };
}

export function failing(): SampleSource {
  return {
    length: 4,
    get: (i) => {
      if (i === 2) throw new Error('sample 2 is unreadable');
      return { x: ndarray('float32', [1], [i]) };
    },
  };
}

/** n samples; sample `bad` throws at once, the others arrive after `delayMs`: a prefetched batch fails first. */
export function failingFast(o: { n: number; bad: number; delayMs: number }): SampleSource {
  return {
    length: o.n,
    describe: (i) => `/data/img-${i}.png`,
    async get(i) {
      if (i === o.bad) throw new Error('corrupt');
      await new Promise((r) => setTimeout(r, o.delayMs));
      return { x: ndarray('float32', [1], [i]) };
    },
  };
}
