// Deterministic randomness for data: every stream is a pure function of its key, never of timing or thread.
//   permutation(n, seed, epoch)        the order of an epoch
//   sampleRandom(seed, epoch, index)   a sample's augmentation (identical with 0, 1 or N workers)
//   batchRandom(seed, epoch, batch)    batch-level augmentation (mixup, cutmix)

/** mulberry32 over a 32-bit state: uniform [0, 1). */
function mulberry(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded Fisher–Yates permutation of 0..n-1 (mulberry32 keyed by seed and epoch). */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const rand = mulberry((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Uniform [0, 1) stream for (seed, epoch, index). */
export function sampleRandom(seed: number, epoch: number, index: number): () => number {
  return mulberry(Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(epoch + 0x6a09e667, 0x85ebca6b) ^ Math.imul(index + 0x3c6ef372, 0xc2b2ae35));
}

/** Uniform [0, 1) stream for batch-level transforms at (seed, epoch, batch). Disjoint from the sample streams' keys. */
export function batchRandom(seed: number, epoch: number, batch: number): () => number {
  return mulberry(Math.imul(seed ^ 0x7f4a7c15, 0x2c1b3c6d) ^ Math.imul(epoch + 0x510e527f, 0x297a2d39) ^ Math.imul(batch + 0x1f83d9ab, 0x9e3779b1));
}

/** Uniform stream from a plain seed (shuffle buffers, noise that is not per sample). */
export const seededRandom = (seed: number): (() => number) => mulberry(Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1));

/** Standard normal from a uniform stream (Box–Muller). */
export function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 boosted by U^(1/shape)). */
export function gamma(random: () => number, shape: number): number {
  if (shape < 1) return gamma(random, shape + 1) * Math.pow(Math.max(random(), 1e-12), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (Math.log(Math.max(u, 1e-300)) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) from two gammas. */
export function beta(random: () => number, a: number, b: number): number {
  const x = gamma(random, a);
  const y = gamma(random, b);
  return x / (x + y);
}
