// Deterministic randomness for data: every stream is a pure function of its key, never of timing or thread.
//   permutation(n, seed, epoch)        the order of an epoch
//   sampleRandom(seed, epoch, index)   a sample's augmentation (identical with 0, 1 or N workers)
//   batchRandom(seed, epoch, batch)    batch-level augmentation (mixup, cutmix)
// Each is util/random.ts's generator seeded by a mix of the key; the stream kinds get distinct tags, so their keys
// never collide.
import { mixSeed, Rng, type Uniform } from '../util/random.js';

export { normal, gamma, beta, type Uniform } from '../util/random.js';

const PERMUTATION = 0x70e1,
  SAMPLE = 0x5a31,
  BATCH = 0xba7c,
  PLAIN = 0x91a1;

/** Seeded Fisher–Yates permutation of 0..n-1, keyed by seed and epoch. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const rng = new Rng(mixSeed(PERMUTATION, seed, epoch));
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Uniform [0, 1) stream for (seed, epoch, index). */
export const sampleRandom = (seed: number, epoch: number, index: number): Uniform =>
  new Rng(mixSeed(SAMPLE, seed, epoch, index)).stream;

/** Uniform [0, 1) stream for batch-level transforms at (seed, epoch, batch). */
export const batchRandom = (seed: number, epoch: number, batch: number): Uniform =>
  new Rng(mixSeed(BATCH, seed, epoch, batch)).stream;

/** Uniform stream from a plain seed (shuffle buffers, noise that is not per sample). */
export const seededRandom = (seed: number): Uniform => new Rng(mixSeed(PLAIN, seed)).stream;
