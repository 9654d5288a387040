import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { checkGrad, randn } from '../util/gradcheck.js';

const f32 = (shape: number[], seed: number) => randn(shape, seed, 'float32');
const tol = { eps: 1e-3, atol: 2e-2, rtol: 2e-2 };

describe('pooling gradients', () => {
  test('maxPool 2x2', () => checkGrad('mp', (x) => L.maxPool2d(x, 2), [f32([2, 2, 4, 4], 1)], tol));
  test('maxPool 2x2 over 5x5 (last row and column outside every window)', () =>
    checkGrad('mp5', (x) => L.maxPool2d(x, 2), [f32([2, 3, 5, 5], 8)], tol));
  test('maxPool 3x2 windows', () => checkGrad('mp32', (x) => L.maxPool2d(x, [3, 2]), [f32([1, 2, 6, 4], 9)], tol));
  test('maxPool ties: the whole gradient goes to the first maximum of each window, row-major (PyTorch)', async () => {
    const { compile } = await import('../../src/runtime/compile.js');
    const { grad } = await import('../../src/autodiff/index.js');
    const { ndarray } = await import('../../src/graph/ndarray.js');
    // window 0: all equal → (0,0); window 1: max 5 at (0,1) and (1,0) → (0,1); window 2: max at (1,0) and (1,1) → (1,0)
    const x = ndarray('float32', [1, 1, 2, 6], [1, 1, 0, 5, 2, 2, 1, 1, 5, 1, 3, 3]);
    for (const k of [2, [2, 2] as [number, number]]) {
      const f = compile(
        (t: L.Tensor) =>
          grad((a: L.Tensor) =>
            L.sum(L.mul(L.maxPool2d(a, k), L.constant(ndarray('float32', [1, 1, 1, 3], [1, 2, 3])))),
          )(t)[0],
      );
      const g = Array.from((await f(x)).data as Float32Array);
      assert.deepEqual(g, [1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0]);
    }
  });
  test('maxPool k3 s2 p1', () =>
    checkGrad('mp3', (x) => L.maxPool2d(x, 3, { stride: 2, padding: 1 }), [f32([1, 2, 5, 5], 2)], tol));
  test('avgPool include pad', () =>
    checkGrad('ap', (x) => L.avgPool2d(x, 3, { stride: 2, padding: 1 }), [f32([1, 2, 5, 5], 3)], tol));
  test('avgPool exclude pad', () =>
    checkGrad(
      'ap0',
      (x) => L.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }),
      [f32([1, 2, 6, 6], 4)],
      tol,
    ));
  test('adaptive 2x2 from 5x5', () => checkGrad('aap', (x) => L.adaptiveAvgPool2d(x, 2), [f32([1, 2, 5, 5], 5)], tol));
  test('adaptive 2x2 from 4x4', () => checkGrad('aap4', (x) => L.adaptiveAvgPool2d(x, 2), [f32([1, 2, 4, 4], 6)], tol));
  test('global average', () => checkGrad('gap', (x) => L.globalAvgPool(x), [f32([2, 3, 3, 3], 7)], tol));
});
