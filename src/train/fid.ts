// FID-FMNIST and precision/recall of generated images. There are no Inception weights offline, so the feature space
// is that of a small CNN trained by lathe on Fashion-MNIST and shipped with it (data/fid-fmnist/classifier.onnx, built
// by scripts/fid-classifier.ts from examples/fid-fmnist-classifier.yaml): images [N, 1, 28, 28] in [0, 1] → the
// 64 ReLU activations of its hidden dense layer (`features`) and its 10 class logits (`logits`). FID-FMNIST is the
// Fréchet distance between Gaussians fitted to the features of two sets (Heusel et al. 2017) — NOT comparable with
// Inception FID values; precision/recall are Kynkäänniemi et al.'s (2019) k-NN manifold estimates (k = 3).
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import { createSession } from '../runtime/session.js';
import { packageRoot } from '../util/package-root.js';

/** The bundled FID-FMNIST feature network. */
export const FID_FMNIST_CLASSIFIER = (): string => join(packageRoot(), 'data', 'fid-fmnist', 'classifier.onnx');

/** Mean (length `d`) and covariance of `n` feature vectors of width `d`, as FID compares them. */
export interface FeatureStats {
  readonly d: number;
  readonly n: number;
  readonly mean: Float64Array;
  /** Covariance [d, d], row-major, with the unbiased (n − 1) normalisation as numpy.cov. */
  readonly cov: Float64Array;
}

/** Mean and covariance of `n` feature rows of width `d`. */
export function featureStats(features: Float32Array, n: number, d: number): FeatureStats {
  if (n < 2) throw new Error(`featureStats: need at least 2 samples, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov[b * d + a] = cov[a * d + b] /= n - 1;
  return { d, n, mean, cov };
}

/** Eigenvalues and eigenvectors (columns of V) of a symmetric d×d matrix by cyclic Jacobi rotations. */
export function symmetricEigen(m: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => a[i * d + i]), vectors: v };
}

/** The symmetric square root of a symmetric positive semi-definite matrix (negative round-off eigenvalues → 0). */
function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(m, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k] * s;
      for (let j = 0; j < d; j++) out[i * d + j] += vik * vectors[j * d + k];
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  return out;
}

/**
 * ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), with tr (Σ₁Σ₂)^½ computed as Σ √λ of the symmetric PSD matrix Σ₁^½ Σ₂ Σ₁^½
 * (same eigenvalues as Σ₁Σ₂), so no non-symmetric square root is needed.
 */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  if (a.d !== b.d) throw new Error(`frechetDistance: feature widths differ (${a.d} vs ${b.d})`);
  const d = a.d;
  let diff = 0;
  for (let j = 0; j < d; j++) diff += (a.mean[j] - b.mean[j]) ** 2;
  const s1h = sqrtPsd(a.cov, d);
  const m = matmul(matmul(s1h, b.cov, d), s1h, d);
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  const { values } = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  let tr = 0;
  for (let i = 0; i < d; i++) tr += a.cov[i * d + i] + b.cov[i * d + i];
  return Math.max(0, diff + tr - 2 * trSqrt);
}

/** Squared distances between every row of x [n, d] and every row of y [m, d]. */
function pairwise(x: Float32Array, n: number, y: Float32Array, m: number, d: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = x[i * d + k] - y[j * d + k];
        s += t * t;
      }
      out[i * m + j] = s;
    }
  }
  return out;
}

/** Squared distance of each row to its k-th nearest other row of the same set. */
function kthRadii(x: Float32Array, n: number, d: number, k: number): Float64Array {
  const dist = pairwise(x, n, x, n, d);
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from(dist.subarray(i * n, (i + 1) * n));
    row.sort((p, q) => p - q);
    r[i] = row[Math.min(k, n - 1)]; // row[0] is the point itself
  }
  return r;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019): precision is the share of generated samples inside the
 * real manifold (the union of balls around each real sample reaching its k-th nearest real neighbour), recall the
 * share of real samples inside the generated manifold. O(n²·d): pass a few thousand samples.
 */
export function precisionRecall(
  real: Float32Array,
  nReal: number,
  fake: Float32Array,
  nFake: number,
  d: number,
  k = 3,
): { precision: number; recall: number } {
  const rReal = kthRadii(real, nReal, d, k);
  const rFake = kthRadii(fake, nFake, d, k);
  const cross = pairwise(fake, nFake, real, nReal, d); // [nFake, nReal]
  let inReal = 0;
  for (let i = 0; i < nFake; i++) {
    for (let j = 0; j < nReal; j++)
      if (cross[i * nReal + j] <= rReal[j]) {
        inReal++;
        break;
      }
  }
  let inFake = 0;
  for (let j = 0; j < nReal; j++) {
    for (let i = 0; i < nFake; i++)
      if (cross[i * nReal + j] <= rFake[i]) {
        inFake++;
        break;
      }
  }
  return { precision: inReal / nFake, recall: inFake / nReal };
}

/** What the FID-FMNIST network computes for `n` images: `d`-wide penultimate features and the 10 class logits. */
export interface ImageFeatures {
  readonly n: number;
  readonly d: number;
  /** [n, d] */
  readonly features: Float32Array;
  /** [n, 10] class logits of the same network. */
  readonly logits: Float32Array;
}

/** Runs the FID-FMNIST feature network over images [N, 1, 28, 28] in [0, 1], 500 at a time. */
export async function fmnistFeatures(
  images: NDArray,
  opts: { classifier?: string; threads?: number } = {},
): Promise<ImageFeatures> {
  const [n, c, h, w] = images.shape;
  if (images.shape.length !== 4 || c !== 1 || h !== 28 || w !== 28)
    throw new Error(`FID-FMNIST: images must be [N, 1, 28, 28] in [0, 1], got [${images.shape.join(', ')}]`);
  const session = await createSession(opts.classifier ?? FID_FMNIST_CLASSIFIER(), { threads: opts.threads });
  try {
    const src = images.data as Float32Array;
    const feats: Float32Array[] = [];
    const logits: Float32Array[] = [];
    for (let s = 0; s < n; s += 500) {
      const b = Math.min(500, n - s);
      const r = await session.run({
        images: new ort.Tensor('float32', src.subarray(s * 784, (s + b) * 784), [b, 1, 28, 28]),
      });
      feats.push(r.features.data as Float32Array);
      logits.push(r.logits.data as Float32Array);
    }
    const cat = (xs: Float32Array[]) => {
      const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
      let o = 0;
      for (const x of xs) {
        out.set(x, o);
        o += x.length;
      }
      return out;
    };
    const features = cat(feats);
    return { n, d: features.length / Math.max(1, n), features, logits: cat(logits) };
  } finally {
    await session.release();
  }
}

/**
 * Quality of a generated image set against a reference set: FID-FMNIST (lower is better) and k-NN precision and recall
 * in [0, 1].
 */
export interface GenerativeScores {
  /** FID-FMNIST of the generated set against the reference set. */
  readonly fid: number;
  readonly precision: number;
  readonly recall: number;
  /** Samples in each set that the scores used (precision/recall on at most `prSamples` of each). */
  readonly n: number;
  readonly prSamples: number;
}

/** FID-FMNIST and precision/recall of `generated` against `reference` images (both [N, 1, 28, 28] in [0, 1]). */
export async function scoreGenerated(
  generated: NDArray,
  reference: NDArray,
  opts: { classifier?: string; threads?: number; prSamples?: number; k?: number } = {},
): Promise<GenerativeScores> {
  const g = await fmnistFeatures(generated, opts);
  const r = await fmnistFeatures(reference, opts);
  const fid = frechetDistance(featureStats(g.features, g.n, g.d), featureStats(r.features, r.n, r.d));
  const m = Math.min(opts.prSamples ?? 2000, g.n, r.n);
  const pr = precisionRecall(r.features.subarray(0, m * r.d), m, g.features.subarray(0, m * g.d), m, g.d, opts.k ?? 3);
  return { fid, ...pr, n: g.n, prSamples: m };
}

/** Share of images whose FID-FMNIST classifier prediction is the requested label (class agreement of a conditional model). */
export function classAgreement(f: ImageFeatures, labels: readonly number[]): number {
  let hit = 0;
  for (let i = 0; i < f.n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (f.logits[i * 10 + c] > f.logits[i * 10 + best]) best = c;
    if (best === labels[i]) hit++;
  }
  return hit / f.n;
}
