import { describe, test } from 'node:test';
import * as L from '../../src/graph/index.js';
import { checkGrad, randn } from '../util/gradcheck.js';

const f32 = (shape: number[], seed: number) => randn(shape, seed, 'float32');
const tol = { eps: 1e-3, atol: 2e-2, rtol: 2e-2 };

describe('normalisation gradients', () => {
  test('softmax', () => checkGrad('softmax', (x) => L.softmax(x, 1), [randn([2, 4, 3], 1)]));
  test('logSoftmax', () => checkGrad('logSoftmax', (x) => L.logSoftmax(x, -1), [randn([2, 4, 3], 2)]));
  test('layerNorm (float32 kernel) with weight and bias', () =>
    checkGrad('ln', (x, w, b) => L.layerNorm(x, w, b), [f32([2, 3, 5], 3), f32([5], 4), f32([5], 5)], tol));
  test('layerNorm over two dims, no bias', () =>
    checkGrad('ln2', (x, w) => L.layerNorm(x, w), [f32([2, 3, 4], 6), f32([3, 4], 7)], tol));
  test('batchNorm training (4-D)', () =>
    checkGrad(
      'bn',
      (x, w, b) =>
        L.batchNorm(x, w, b, L.constant(L.float64([3])), L.constant(L.float64([3], [1, 1, 1])), { training: true }).y,
      [randn([4, 3, 2, 2], 8), randn([3], 9), randn([3], 10)],
    ));
  test('batchNorm training without weight or bias (2-D)', () =>
    checkGrad(
      'bn2',
      (x) =>
        L.batchNorm(x, undefined, undefined, L.constant(L.float64([3])), L.constant(L.float64([3], [1, 1, 1])), {
          training: true,
        }).y,
      [randn([5, 3], 20)],
    ));
  test('batchNorm eval (2-D)', () =>
    checkGrad('bne', (x, w, b, m, v) => L.batchNorm(x, w, b, m, v, { training: false }).y, [
      randn([4, 3], 11),
      randn([3], 12),
      randn([3], 13),
      randn([3], 14),
      L.float64([3], [0.5, 1, 2]),
    ]));
  test('batchNorm eval (4-D): one BatchNormalization node, gradients for x, weight, bias and both statistics', () =>
    checkGrad('bne4', (x, w, b, m, v) => L.batchNorm(x, w, b, m, v, { training: false }).y, [
      randn([2, 3, 2, 3], 15),
      randn([3], 16),
      randn([3], 17),
      randn([3], 18),
      L.float64([3], [0.7, 1.5, 2]),
    ]));
  test('batchNorm eval without weight or bias', () =>
    checkGrad('bne0', (x, m, v) => L.batchNorm(x, undefined, undefined, m, v, { training: false }).y, [
      randn([3, 2, 2, 2], 19),
      randn([2], 20),
      L.float64([2], [0.6, 1.3]),
    ]));
  test('groupNorm', () =>
    checkGrad('gn', (x, w, b) => L.groupNorm(x, 2, w, b), [randn([2, 4, 3], 15), randn([4], 16), randn([4], 17)]));
  test('rmsNorm', () => checkGrad('rms', (x, w) => L.rmsNorm(x, w), [randn([2, 5], 18), randn([5], 19)]));
});
