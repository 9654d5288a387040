import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

/** h_t = exp(la_t)·h_{t∓1} + b_t over axis 1 of [B, T, R] arrays, one step at a time. */
function reference(la: ArrayLike<number>, b: ArrayLike<number>, [bn, t, r]: number[], reverse: boolean): number[] {
  const h = new Array<number>(bn * t * r).fill(0);
  for (let i = 0; i < bn; i++)
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let q = 0; q < t; q++) {
        const k = (i * t + (reverse ? t - 1 - q : q)) * r + j;
        s = Math.exp(Number(la[k])) * s + Number(b[k]);
        h[k] = s;
      }
    }
  return h;
}

const methods = ['doubling', 'chunked', 'sequential'] as const;

describe('linearScan forward against a sequential reference', () => {
  for (const method of methods)
    for (const reverse of [false, true])
      for (const t of [1, 7, 16, 37])
        test(`${method}${reverse ? ' reverse' : ''}, T = ${t}`, async () => {
          const shape = [2, t, 3];
          const la = randn(shape, 3 + t, 'float32', 0.5, -0.4);
          const b = randn(shape, 5 + t, 'float32');
          const f = compile((x: L.Tensor, y: L.Tensor) => L.linearScan(x, y, { method, reverse, chunk: 4 }));
          const h = await f(la, b);
          assert.deepEqual(h.shape, shape);
          assertClose(
            h.data as Float32Array,
            reference(la.data as Float32Array, b.data as Float32Array, shape, reverse),
            1e-5,
            1e-4,
          );
        });

  test('4-D state [B, T, D, N] and a symbolic T with maxLength', async () => {
    const shape = [2, 9, 3, 2];
    const la = randn(shape, 1, 'float32', 0.3, -0.5);
    const b = randn(shape, 2, 'float32');
    const f = compile((x: L.Tensor, y: L.Tensor) => L.linearScan(x, y, { method: 'doubling', maxLength: 64 }), {
      inputs: [
        { dtype: 'float32', shape: [2, 'seq', 3, 2] },
        { dtype: 'float32', shape: [2, 'seq', 3, 2] },
      ],
    });
    const want = reference(la.data as Float32Array, b.data as Float32Array, [2, 9, 6], false);
    assertClose((await f(la, b)).data as Float32Array, want, 1e-5, 1e-4);
    const c = compile((x: L.Tensor, y: L.Tensor) => L.linearScan(x, y, { method: 'chunked', chunk: 4 }));
    assertClose((await c(la, b)).data as Float32Array, want, 1e-5, 1e-4);
  });

  test('bad inputs are named', async () => {
    const x = L.float32([2, 3], [0, 0, 0, 0, 0, 0]);
    await assert.rejects(compile((a: L.Tensor) => L.linearScan(a, L.reshape(a, [3, 2])))(x), /one shape/);
  });
});

describe('linearScan gradients against finite differences', () => {
  for (const method of methods)
    for (const reverse of [false, true])
      test(`${method}${reverse ? ' reverse' : ''}`, () =>
        checkGrad(`linearScan ${method}`, (la, b) => L.linearScan(la, b, { method, reverse, chunk: 3 }), [
          randn([2, 7, 2], 11, 'float64', 0.5, -0.3),
          randn([2, 7, 2], 12),
        ]));
  test('second order: the gradient of a scan of a scan, through a product', () =>
    checkGrad(
      'linearScan²',
      (la, b) => {
        const h = L.linearScan(la, b, { chunk: 2 });
        return L.mul(L.linearScan(L.mul(la, 0.5), L.mul(h, h), { reverse: true, method: 'doubling' }), b);
      },
      [randn([1, 5, 2], 21, 'float64', 0.4, -0.2), randn([1, 5, 2], 22)],
    ));
});
