// centerCrop, pad (every mode), randomVerticalFlip and randomResizedCrop against torchvision 0.14.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  centerCrop,
  crop,
  pad,
  randomResizedCrop,
  randomVerticalFlip,
  resizedCropBox,
  resize,
  roundHalfEven,
} from '../../src/data/transforms/geometry.js';
import { sampleRandom } from '../../src/data/random.js';
import { img, near, ref } from './image-reference.js';

const x = img([2, 7, 9], ref.resize_input);
const geo = ref.geometry as Record<string, number[]>;
const ctx = (r: () => number) => ({ epoch: 0, index: 0, random: r });

test("centerCrop equals torchvision's (odd and even margins, and padding when larger)", () => {
  near(centerCrop({ size: [4, 5] })(x, ctx(Math.random)).data as Float32Array, geo.center_crop_4x5, 1e-7, '4x5');
  near(centerCrop({ size: [4, 6] })(x, ctx(Math.random)).data as Float32Array, geo.center_crop_4x6, 1e-7, '4x6');
  near(centerCrop({ size: [9, 11] })(x, ctx(Math.random)).data as Float32Array, geo.center_crop_9x11, 1e-7, '9x11');
  assert.equal(roundHalfEven(2.5), 2);
  assert.equal(roundHalfEven(1.5), 2);
});

test("pad equals torchvision's in every mode (constant, edge, reflect, symmetric), padding [left, top, right, bottom]", () => {
  for (const mode of ['constant', 'edge', 'reflect', 'symmetric'] as const) {
    const y = pad({ padding: [1, 2, 3, 1], paddingMode: mode, fill: mode === 'constant' ? 0.5 : 0 })(
      x,
      ctx(Math.random),
    );
    assert.deepEqual(y.shape, [2, 10, 13]);
    near(y.data as Float32Array, geo[`pad_${mode}`], 1e-7, mode);
  }
  assert.throws(
    () => pad({ padding: 9, paddingMode: 'reflect' })(x, ctx(Math.random)),
    /reflect padding .* smaller than the image 7x9/,
  );
  assert.throws(() => pad({ padding: 1, paddingMode: 'wrap' as never }), /paddingMode must be/);
});

test("randomVerticalFlip: torchvision's vflip with probability p", () => {
  near(
    randomVerticalFlip({ p: 1 })(
      x,
      ctx(() => 0.2),
    ).data as Float32Array,
    geo.vflip,
    1e-7,
    'flipped',
  );
  near(
    randomVerticalFlip()(
      x,
      ctx(() => 0.7),
    ).data as Float32Array,
    ref.resize_input,
    1e-7,
    'kept',
  );
  let flips = 0;
  for (let i = 0; i < 2000; i++)
    if (randomVerticalFlip({ p: 0.3 })(x, { epoch: 0, index: i, random: sampleRandom(5, 0, i) }).data[0] !== x.data[0])
      flips++;
  assert.ok(Math.abs(flips / 2000 - 0.3) < 0.04, `flip rate ${flips / 2000}`);
});

test("randomResizedCrop: the crop of its box resized as torchvision's resized_crop; boxes within scale and ratio", () => {
  near(
    resize({ size: [8, 8] })(crop(x, 1, 2, 5, 6), ctx(Math.random)).data as Float32Array,
    geo.resized_crop_1_2_5x6_to_8x8,
    2e-6,
    'resized_crop',
  );
  const big = img(
    [1, 60, 80],
    new Array(4800).fill(0).map((_, i) => (i % 97) / 97),
  );
  let fallbacks = 0;
  for (let i = 0; i < 300; i++) {
    const r = sampleRandom(3, 0, i);
    const [top, left, h, w] = resizedCropBox(60, 80, [0.08, 1], [3 / 4, 4 / 3], r);
    assert.ok(top >= 0 && left >= 0 && top + h <= 60 && left + w <= 80, `box ${[top, left, h, w]}`);
    const area = (h * w) / 4800;
    if (h === 60 && w === 80) fallbacks++;
    else assert.ok(area >= 0.07 && area <= 1.01 && w / h >= 0.7 && w / h <= 1.4, `area ${area} ratio ${w / h}`);
    const t = randomResizedCrop({ size: 16 });
    const y = t(big, { epoch: 0, index: i, random: sampleRandom(3, 0, i) });
    assert.deepEqual(y.shape, [1, 16, 16]);
    const again = t(big, { epoch: 0, index: i, random: sampleRandom(3, 0, i) });
    assert.deepEqual(again.data, y.data, 'deterministic per ctx');
  }
  assert.ok(fallbacks < 30, `fallbacks ${fallbacks}`);
  // a square image with ratio range far from 1: no try fits, the centre crop with the ratio clamped
  assert.deepEqual(
    resizedCropBox(10, 10, [0.99, 1], [3, 4], () => 0.5),
    [3, 0, 3, 10],
  );
});
