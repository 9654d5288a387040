import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleRandom, batchRandom } from '../../src/data/random.js';
import * as image from '../../src/data/transforms/image.js';
import * as color from '../../src/data/transforms/color.js';
import { cutmix, mixup } from '../../src/data/transforms/mix.js';
import { compose, onKey } from '../../src/data/transforms/transform.js';

const ctx = (i: number) => ({ epoch: 0, index: i, random: sampleRandom(0, 0, i) });
const fixed = (...values: number[]) => ({ epoch: 0, index: 0, random: () => values.shift() ?? 0 });
const vals = (a: { data: unknown }) => Array.from(a.data as Float32Array);
const ramp = (c: number, h: number, w: number) => ({
  dtype: 'float32' as const,
  shape: [c, h, w],
  data: Float32Array.from({ length: c * h * w }, (_, i) => i),
});

test('randomCrop with padding: offsets cover -p..+p and the border is filled', () => {
  const t = image.randomCrop({ size: 4, padding: 1, fill: -1 });
  const x = ramp(1, 4, 4);
  const topLeft = t(x, fixed(0, 0)).data as Float32Array; // shifted by (-1, -1): first row and column are padding
  assert.deepEqual(Array.from(topLeft.subarray(0, 4)), [-1, -1, -1, -1]);
  assert.deepEqual(Array.from(topLeft.subarray(4, 8)), [-1, 0, 1, 2]);
  const centre = t(x, fixed(0.5, 0.5));
  assert.deepEqual(vals(centre), vals(x));
  assert.throws(() => image.randomCrop({ size: 4, pad: 1 } as never), /unknown option "pad"/);
});

test('flip mirrors columns; rotation by 90° moves pixels exactly; normalize per channel', () => {
  const x = ramp(1, 2, 3);
  assert.deepEqual(vals(image.randomHorizontalFlip({ p: 1 })(x, ctx(0))), [2, 1, 0, 5, 4, 3]);
  const sq = ramp(1, 3, 3);
  const r = image.rotate(sq.data, 1, 3, 3, Math.PI / 2, 0);
  assert.deepEqual(
    Array.from(r, (v) => Math.round(v * 1e6) / 1e6),
    [2, 5, 8, 1, 4, 7, 0, 3, 6],
  );
  const n = image.normalize({ mean: [1, 2], std: [2, 4] })(ramp(2, 1, 2), ctx(0));
  assert.deepEqual(vals(n), [-0.5, 0, 0, 0.25]);
  assert.throws(
    () => image.normalize({ mean: [1, 2, 3], std: 1 })(ramp(2, 1, 2), ctx(0)),
    /mean has 3 values, image has 2 channels/,
  );
});

test('colorJitter keeps [0, 1]; cutout zeroes a size×size square; compose/onKey apply in order on one key', () => {
  const x = {
    dtype: 'float32' as const,
    shape: [3, 4, 4],
    data: Float32Array.from({ length: 48 }, (_, i) => (i % 7) / 7),
  };
  const j = color.colorJitter({ brightness: 0.9, contrast: 0.9, saturation: 0.9 })(x, ctx(4));
  assert.ok(j.data.every((v) => v >= 0 && v <= 1));
  const ones = { dtype: 'float32' as const, shape: [1, 8, 8], data: new Float32Array(64).fill(1) };
  const c = image.cutout({ size: 4 })(ones, fixed(0, 0.5, 0.5));
  assert.equal(c.data.filter((v) => v === 0).length, 16);
  const t = onKey('img', compose(image.toFloat({ scale: 2 }), image.normalize({ mean: 1, std: 1 })));
  const s = t({ img: { dtype: 'uint8', shape: [1, 2], data: Uint8Array.from([1, 2]) }, y: 3 }, ctx(0));
  assert.deepEqual(Array.from((s.img as { data: Float32Array }).data), [1, 3]);
  assert.equal(s.y, 3);
  assert.throws(() => t({ y: 1 }, ctx(0)), /onKey\("img"\): sample has no array "img"/);
});

test('mixup and cutmix: soft labels that sum to 1 and match the mixed pixels', () => {
  const b = 6;
  const x = { dtype: 'float32' as const, shape: [b, 1, 4, 4], data: new Float32Array(b * 16) };
  for (let i = 0; i < b; i++) x.data.fill(i, i * 16, (i + 1) * 16); // image i is all i
  const y = { dtype: 'int64' as const, shape: [b], data: BigInt64Array.from({ length: b }, (_, i) => BigInt(i)) };
  for (const t of [mixup({ numClasses: 6, alpha: 1 }), cutmix({ numClasses: 6 })]) {
    const out = t({ x, y }, { epoch: 0, batch: 2, random: batchRandom(0, 0, 2) });
    assert.deepEqual(out.y.shape, [b, 6]);
    const soft = out.y.data as Float32Array;
    const px = out.x.data as Float32Array;
    for (let i = 0; i < b; i++) {
      const row = soft.subarray(i * 6, i * 6 + 6);
      assert.ok(Math.abs(row.reduce((p, q) => p + q, 0) - 1) < 1e-6, `${t.name}: row ${i} sums to 1`);
      // the expected pixel mean is Σ_c soft[c]·c, since image c is all c
      const mean = px.subarray(i * 16, i * 16 + 16).reduce((p, q) => p + q, 0) / 16;
      assert.ok(
        Math.abs(mean - row.reduce((p, q, c) => p + q * c, 0)) < 1e-5,
        `${t.name}: row ${i} labels match pixels`,
      );
    }
    assert.deepEqual(Array.from(x.data.subarray(16, 32)), new Array(16).fill(1), 'input untouched');
  }
  assert.throws(
    () => mixup({ numClasses: 3 })({ x, y }, { epoch: 0, batch: 0, random: batchRandom(0, 0, 0) }),
    /label 3 at row 3 is not in \[0, 3\)/,
  );
});
