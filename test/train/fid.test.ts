// FID-FMNIST: the Fréchet distance matches its closed form for Gaussians with diagonal covariances and a 2×2
// non-diagonal case computed by hand; the Jacobi eigensolver reconstructs its matrix; with the bundled feature network,
// a set against itself scores ~0 (FID) and 1 (precision, recall), shifted images score higher, and the classifier
// agrees with real labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  featureStats,
  frechetDistance,
  symmetricEigen,
  precisionRecall,
  fmnistFeatures,
  scoreGenerated,
  classAgreement,
} from '../../src/train/fid.js';
import { fashionMnistSubset } from '../../src/data/fashion.js';
import { Rng, normal } from '../../src/util/random.js';
import type { NDArray } from '../../src/graph/ndarray.js';

function gaussianSet(n: number, mean: readonly number[], std: readonly number[], seed: number): Float32Array {
  const r = new Rng(seed);
  const d = mean.length;
  return Float32Array.from({ length: n * d }, (_, i) => mean[i % d] + std[i % d] * normal(r.stream));
}

test('frechetDistance: closed forms (diagonal Gaussians, a 2×2 case) and the eigensolver', () => {
  // exact moments: FID = ‖μ₁ − μ₂‖² + Σ (σ₁ − σ₂)² for diagonal covariances
  const a = { d: 3, n: 10, mean: Float64Array.of(0, 1, 2), cov: Float64Array.of(4, 0, 0, 0, 1, 0, 0, 0, 9) };
  const b = { d: 3, n: 10, mean: Float64Array.of(1, 1, 0), cov: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) };
  assert.ok(Math.abs(frechetDistance(a, b) - (1 + 4 + (1 + 0 + 4))) < 1e-9);
  assert.ok(Math.abs(frechetDistance(a, a)) < 1e-9);
  // Σ₁ = [[2, 1], [1, 2]], Σ₂ = I: tr (Σ₁)^½ = √3 + 1, so FID = 4 + 2 − 2(√3 + 1)
  const c = { d: 2, n: 10, mean: Float64Array.of(0, 0), cov: Float64Array.of(2, 1, 1, 2) };
  const e = { d: 2, n: 10, mean: Float64Array.of(0, 0), cov: Float64Array.of(1, 0, 0, 1) };
  assert.ok(Math.abs(frechetDistance(c, e) - (6 - 2 * (Math.sqrt(3) + 1))) < 1e-9);
  // V diag(λ) Vᵀ reconstructs a random symmetric matrix
  const d = 6;
  const r = new Rng(3);
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = i; j < d; j++) m[i * d + j] = m[j * d + i] = normal(r.stream);
  const { values, vectors } = symmetricEigen(m, d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += vectors[i * d + k] * values[k] * vectors[j * d + k];
      assert.ok(Math.abs(s - m[i * d + j]) < 1e-9, `reconstruction (${i}, ${j})`);
    }
  // sample statistics: a large sample of N(μ, σ²) scores near its exact moments
  const x = gaussianSet(20000, [1, -1], [2, 0.5], 1);
  const s = featureStats(x, 20000, 2);
  assert.ok(Math.abs(s.mean[0] - 1) < 0.05 && Math.abs(s.cov[0] - 4) < 0.15 && Math.abs(s.cov[1]) < 0.05);
  assert.throws(() => featureStats(x, 1, 2), /at least 2 samples/);
});

test('precisionRecall: a set against itself is (1, 1); disjoint sets score 0', () => {
  const x = gaussianSet(300, [0, 0, 0], [1, 1, 1], 2);
  assert.deepEqual(precisionRecall(x, 300, x, 300, 3), { precision: 1, recall: 1 });
  const far = gaussianSet(300, [50, 50, 50], [1, 1, 1], 3);
  assert.deepEqual(precisionRecall(x, 300, far, 300, 3), { precision: 0, recall: 0 });
  // a generated set that covers only half of the real modes: high precision, low recall
  const half = gaussianSet(300, [0, 0, 0], [0.3, 0.3, 0.3], 4);
  const pr = precisionRecall(x, 300, half, 300, 3);
  assert.ok(pr.precision > 0.9 && pr.recall < 0.6, JSON.stringify(pr));
});

const images = (
  split: 'train' | 'test',
  n: number,
  f: (v: number) => number = (v) => v,
): { x: NDArray; y: number[] } => {
  const { x, y } = fashionMnistSubset(split, 'unit').toArrays();
  return {
    x: { dtype: 'float32', shape: [n, 1, 28, 28], data: (x.data as Float32Array).slice(0, n * 784).map(f) },
    y: Array.from((y.data as BigInt64Array).slice(0, n), Number),
  };
};

test('FID-FMNIST with the bundled network: self ~0, other real images small, shifted images larger; labels agree', async () => {
  const test1 = images('test', 1000);
  const self = await scoreGenerated(test1.x, test1.x, { prSamples: 500 });
  assert.ok(self.fid < 1e-6, `self FID ${self.fid}`);
  assert.equal(self.precision, 1);
  assert.equal(self.recall, 1);
  const train = images('train', 1000);
  const real = await scoreGenerated(train.x, test1.x, { prSamples: 500 });
  const dim = await scoreGenerated(images('train', 1000, (v) => 0.6 * v + 0.2).x, test1.x, { prSamples: 500 });
  const noisy = await scoreGenerated(
    images('train', 1000, (v) => Math.min(1, v + 0.3 * Math.sin(v * 1e4))).x,
    test1.x,
    { prSamples: 500 },
  );
  assert.ok(real.fid < dim.fid && real.fid < noisy.fid, `FID real ${real.fid}, dimmed ${dim.fid}, noisy ${noisy.fid}`);
  assert.ok(real.precision > 0.5 && real.recall > 0.5, JSON.stringify(real));
  const f = await fmnistFeatures(test1.x);
  assert.equal(f.d, 64);
  assert.ok(classAgreement(f, test1.y) > 0.8, `classifier accuracy ${classAgreement(f, test1.y)}`);
  await assert.rejects(
    fmnistFeatures({ dtype: 'float32', shape: [1, 28, 28], data: new Float32Array(784) }),
    /must be \[N, 1, 28, 28\]/,
  );
});
