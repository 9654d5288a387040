// The Transform contract, run against every array transform: pure given (value, ctx), deterministic per
// (seed, epoch, index), never mutates its input, names itself, and rejects input it cannot handle by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleRandom } from '../../src/data/random.js';
import type { NDArray } from '../../src/graph/ndarray.js';
import type { ArrayTransform } from '../../src/data/transforms/transform.js';
import * as image from '../../src/data/transforms/image.js';
import * as color from '../../src/data/transforms/color.js';
import * as geometry from '../../src/data/transforms/geometry.js';
import * as autoaugment from '../../src/data/transforms/autoaugment.js';
import * as audio from '../../src/data/audio/augment.js';

/** Every array transform, with an input it accepts and one it must reject. */
export const CASES: readonly { readonly t: ArrayTransform; readonly input: NDArray; readonly bad?: NDArray }[] =
  (() => {
    const img = {
      dtype: 'float32' as const,
      shape: [3, 8, 6],
      data: Float32Array.from({ length: 144 }, (_, i) => ((i * 37) % 101) / 100),
    };
    const bytes = { dtype: 'uint8' as const, shape: [8, 6], data: Uint8Array.from({ length: 48 }, (_, i) => i * 5) };
    const spec = {
      dtype: 'float32' as const,
      shape: [16, 20],
      data: Float32Array.from({ length: 320 }, (_, i) => Math.sin(i)),
    };
    const wave = {
      dtype: 'float32' as const,
      shape: [400],
      data: Float32Array.from({ length: 400 }, (_, i) => Math.sin(i / 5)),
    };
    return [
      { t: image.toFloat(), input: bytes },
      { t: image.normalize({ mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] }), input: img, bad: bytes },
      { t: image.randomCrop({ size: [6, 4], padding: 2 }), input: img, bad: bytes },
      { t: image.randomHorizontalFlip(), input: img, bad: bytes },
      { t: image.randomRotation({ degrees: 30 }), input: img, bad: bytes },
      { t: color.colorJitter({ brightness: 0.3, contrast: 0.3, saturation: 0.3 }), input: img, bad: bytes },
      { t: color.colorJitter({ hue: 0.3 }), input: img, bad: bytes },
      { t: image.cutout({ size: 3 }), input: img, bad: bytes },
      { t: geometry.resize({ size: [5, 7] }), input: img, bad: bytes },
      { t: geometry.centerCrop({ size: 5 }), input: img, bad: bytes },
      { t: geometry.pad({ padding: 2, paddingMode: 'reflect' }), input: img, bad: bytes },
      { t: geometry.randomVerticalFlip(), input: img, bad: bytes },
      { t: geometry.randomResizedCrop({ size: 5 }), input: img, bad: bytes },
      { t: autoaugment.randAugment(), input: img, bad: bytes },
      { t: autoaugment.trivialAugmentWide(), input: img, bad: bytes },
      { t: audio.specAugment({ freqMasks: 2, freqWidth: 3, timeMasks: 2, timeWidth: 4 }), input: spec, bad: bytes },
      { t: audio.addNoise({ std: 0.1 }), input: wave, bad: bytes },
      { t: audio.timeShift({ max: 50 }), input: wave, bad: bytes },
    ];
  })();

const ctx = (seed: number, index: number) => ({ epoch: 0, index, random: sampleRandom(seed, 0, index) });
const snapshot = (a: NDArray) => ({
  dtype: a.dtype,
  shape: [...a.shape],
  data: Array.from(a.data as ArrayLike<number>),
});

for (const { t, input, bad } of CASES) {
  test(`transform contract: ${t.name}`, () => {
    assert.notEqual(t.name, '', 'a transform is a named function');
    const before = snapshot(input);
    const a = t(input, ctx(1, 3));
    assert.deepEqual(snapshot(input), before, 'input not mutated');
    assert.notEqual(a.data, input.data, 'returns a new array');
    assert.deepEqual(snapshot(t(input, ctx(1, 3))), snapshot(a), 'same (seed, epoch, index) → same output');
    assert.equal(
      a.data.length,
      a.shape.reduce((p, q) => p * q, 1),
      'data fills the shape',
    );
    const outs = new Set(Array.from({ length: 8 }, (_, i) => JSON.stringify(snapshot(t(input, ctx(2, i))).data)));
    const deterministic = ['toFloat', 'normalize', 'resize', 'centerCrop', 'pad'];
    if (!deterministic.includes(t.name)) assert.ok(outs.size > 1, 'randomness comes from ctx');
    if (bad) assert.throws(() => t(bad, ctx(1, 0)), new RegExp(t.name));
  });
}
