// Affine quantization parameters: ranges that start at 0 put the zero point at the type's minimum (so the quantizer
// is a ReLU), symmetric per-channel weights, int32 biases at x_scale·w_scale, ONNX's round-half-even.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activationParams,
  quantizeBias,
  quantizeValue,
  quantizeWeight,
  quantRange,
  roundHalfEven,
} from '../../src/compress/quant-params.js';

test('round half to even, as QuantizeLinear rounds', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, 2, 3]);
});

test('activation ranges: widened to contain 0; [0, m] puts the zero point at the minimum of the type', () => {
  for (const type of ['uint8', 'int8'] as const) {
    const [qmin, qmax] = quantRange(type);
    const p = activationParams(0, 6, type);
    assert.equal(p.zeroPoint, qmin);
    assert.ok(Math.abs(p.scale - 6 / 255) < 1e-7);
    assert.equal(quantizeValue(-3, p), qmin, 'a negative value saturates to exactly 0 after dequantization');
    assert.equal(quantizeValue(6, p), qmax);
    const q = activationParams(1, 2, type); // all positive: 0 still exact
    assert.equal(q.zeroPoint, qmin);
    const s = activationParams(-1, 3, type);
    assert.equal((quantizeValue(0, s) - s.zeroPoint) * s.scale, 0, '0 is exact');
    assert.ok(Math.abs((quantizeValue(-1, s) - s.zeroPoint) * s.scale + 1) <= s.scale / 2);
  }
  assert.throws(() => activationParams(NaN, 1, 'uint8'), /not a finite interval/);
});

test('weights: symmetric int8, one scale per output channel (axis 0) or per tensor; 7 bits with reduceRange', () => {
  const w = Float32Array.of(1, -2, 0.5, 0.25, 0.1, -0.1); // [2, 3]
  const pc = quantizeWeight(w, [2, 3], 0);
  assert.deepEqual(Array.from(pc.scales), [Math.fround(2 / 127), Math.fround(0.25 / 127)]);
  assert.deepEqual(Array.from(pc.data), [64, -127, 32, 127, 51, -51]);
  const pt = quantizeWeight(w, [2, 3], undefined);
  assert.equal(pt.scales.length, 1);
  assert.equal(pt.data[1], -127);
  const ax1 = quantizeWeight(w, [2, 3], 1); // columns
  assert.equal(ax1.scales.length, 3);
  assert.equal(ax1.data[1], -127);
  assert.equal(ax1.data[4], -127 * 0 + Math.round(0.1 / (2 / 127)));
  const rr = quantizeWeight(w, [2, 3], 0, true);
  assert.equal(Math.min(...rr.data), -63);
  assert.equal(Math.max(...rr.data), 63);
});

test('bias: int32 at x_scale · w_scale[c], zero point 0', () => {
  const b = quantizeBias(Float32Array.of(0.5, -1), 0.1, Float32Array.of(0.01, 0.02));
  assert.deepEqual(Array.from(b.data), [500, -500]);
  assert.ok(Math.abs(b.scales[1] - 0.002) < 1e-9);
});
