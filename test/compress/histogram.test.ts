// Calibration methods on distributions whose answer is known: minmax is the extremes; the percentile range of a
// Gaussian is its quantiles; the entropy threshold clips the rare outliers of a Gaussian (and keeps a uniform whole).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  entropyThreshold,
  Histogram,
  histogramQuantile,
  MinMax,
  percentileRange,
} from '../../src/compress/histogram.js';
import { Rng as Generator } from '../../src/util/random.js';

function gaussian(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: n }, () => g.normal());
}

test('minmax: the extremes over several batches', () => {
  const m = new MinMax();
  m.add([1, -2, 3]);
  m.add([0.5, 7]);
  assert.deepEqual([m.min, m.max], [-2, 7]);
});

test('percentile range of N(0, 1): the 0.5 % and 99.5 % quantiles are ∓2.576', () => {
  const x = gaussian(400_000, 1);
  const m = new MinMax();
  m.add(x);
  const h = new Histogram(m.min, m.max, 2048);
  h.add(x);
  const [lo, hi] = percentileRange(h, 99.5);
  assert.ok(Math.abs(lo + 2.576) < 0.03 && Math.abs(hi - 2.576) < 0.03, `${lo}, ${hi}`);
  assert.ok(Math.abs(histogramQuantile(h, 0.5)) < 0.02);
  assert.throws(() => percentileRange(h, 30), /percentile/);
});

test('entropy (KL) threshold: clips a Gaussian with outliers well inside its max, keeps a uniform whole', () => {
  const x = gaussian(200_000, 2);
  x[0] = 40; // one far outlier
  const abs = new Histogram(0, 40, 2048);
  abs.add(x, true);
  const t = entropyThreshold(abs, 128);
  assert.ok(t > 2.5 && t < 10, `Gaussian threshold ${t}`);
  const g = new Generator(3);
  const u = Float32Array.from({ length: 200_000 }, () => g.uniform());
  const hu = new Histogram(0, 1, 2048);
  hu.add(u, true);
  const tu = entropyThreshold(hu, 256);
  assert.ok(tu > 0.95, `uniform threshold ${tu}`);
});
