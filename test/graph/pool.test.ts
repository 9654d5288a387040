import { describe, test } from 'node:test';
import * as L from '../../src/graph/index.js';
import { checkGrad, randn } from '../util/gradcheck.js';

const f32 = (shape: number[], seed: number) => randn(shape, seed, 'float32');
const tol = { eps: 1e-3, atol: 2e-2, rtol: 2e-2 };

describe('pooling gradients', () => {
  test('maxPool 2x2', () => checkGrad('mp', (x) => L.maxPool2d(x, 2), [f32([2, 2, 4, 4], 1)], tol));
  test('maxPool k3 s2 p1', () => checkGrad('mp3', (x) => L.maxPool2d(x, 3, { stride: 2, padding: 1 }), [f32([1, 2, 5, 5], 2)], tol));
  test('avgPool include pad', () => checkGrad('ap', (x) => L.avgPool2d(x, 3, { stride: 2, padding: 1 }), [f32([1, 2, 5, 5], 3)], tol));
  test('avgPool exclude pad', () => checkGrad('ap0', (x) => L.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), [f32([1, 2, 6, 6], 4)], tol));
  test('adaptive 2x2 from 5x5', () => checkGrad('aap', (x) => L.adaptiveAvgPool2d(x, 2), [f32([1, 2, 5, 5], 5)], tol));
  test('adaptive 2x2 from 4x4', () => checkGrad('aap4', (x) => L.adaptiveAvgPool2d(x, 2), [f32([1, 2, 4, 4], 6)], tol));
  test('global average', () => checkGrad('gap', (x) => L.globalAvgPool(x), [f32([2, 3, 3, 3], 7)], tol));
});
