import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gradients } from '../../src/autodiff/index.js';
import * as L from '../../src/graph/index.js';
import { checkGrad, randn } from '../util/gradcheck.js';

describe('matmul / gemm / linear / einsum gradients', () => {
  test('2-D', () => checkGrad('mm', L.matmul, [randn([3, 4], 1), randn([4, 2], 2)]));
  test('batched 3-D', () => checkGrad('bmm', L.matmul, [randn([2, 3, 4], 3), randn([2, 4, 2], 4)]));
  test('broadcast batch [2,1,3,4]x[5,4,2]', () =>
    checkGrad('bcast', L.matmul, [randn([2, 1, 3, 4], 5), randn([5, 4, 2], 6)]));
  test('vector x matrix', () => checkGrad('vm', L.matmul, [randn([4], 7), randn([4, 3], 8)]));
  test('matrix x vector', () => checkGrad('mv', L.matmul, [randn([3, 4], 9), randn([4], 10)]));
  test('matmul of transposed operands (the VJP computes (dx)ᵀ directly)', async () => {
    const sw = (t: L.Tensor) => L.swapAxes(t, -1, -2);
    await checkGrad('a·kᵀ', (a, k) => L.matmul(a, sw(k)), [randn([2, 3, 3, 4], 31), randn([2, 3, 5, 4], 32)]);
    await checkGrad('pᵀ·b', (p, b) => L.matmul(sw(p), b), [randn([2, 5, 3], 33), randn([2, 5, 4], 34)]);
    await checkGrad('aᵀ·bᵀ', (a, b) => L.matmul(sw(a), sw(b)), [randn([4, 3], 35), randn([2, 4], 36)]);
    await checkGrad('broadcast aᵀ·b', (a, b) => L.matmul(sw(a), b), [randn([4, 3], 37), randn([2, 4, 2], 38)]);
  });
  test('the gradient of kᵀ in q·kᵀ is one MatMul, with no Transpose after it', () => {
    const q = L.placeholder('q', 'float32', [2, 3, 4]);
    const k = L.placeholder('k', 'float32', [2, 5, 4]);
    const [, dk] = gradients(L.sum(L.matmul(q, L.swapAxes(k, -1, -2))), [q, k]);
    assert.equal(dk.node.prim.name, 'matmul');
  });
  test('gemm transposes', async () => {
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const a = transA ? randn([4, 3], 11) : randn([3, 4], 11);
        const b = transB ? randn([2, 4], 12) : randn([4, 2], 12);
        await checkGrad(`gemm ${transA} ${transB}`, (p, q, c) => L.gemm(p, q, { transA, transB, c }), [
          a,
          b,
          randn([2], 13),
        ]);
      }
  });
  test('linear 2-D and 3-D', async () => {
    await checkGrad('linear2', (x, w, b) => L.linear(x, w, b), [randn([3, 4], 14), randn([5, 4], 15), randn([5], 16)]);
    await checkGrad('linear3', (x, w, b) => L.linear(x, w, b), [
      randn([2, 3, 4], 17),
      randn([5, 4], 18),
      randn([5], 19),
    ]);
  });
  const eqs: [string, number[][]][] = [
    [
      'ij,jk->ik',
      [
        [3, 4],
        [4, 2],
      ],
    ],
    [
      'bij,bjk->bik',
      [
        [2, 3, 4],
        [2, 4, 2],
      ],
    ],
    [
      'bhqd,bhkd->bhqk',
      [
        [1, 2, 3, 4],
        [1, 2, 5, 4],
      ],
    ],
    ['i,i->', [[5], [5]]],
    ['ij->ji', [[3, 4]]],
    [
      'bi,bj->bij',
      [
        [2, 3],
        [2, 4],
      ],
    ],
    ['ij->i', [[3, 4]]],
  ];
  for (const [eq, shapes] of eqs)
    test(`einsum ${eq}`, () =>
      checkGrad(
        eq,
        (...xs) => L.einsum(eq, ...xs),
        shapes.map((s, i) => randn(s, 20 + i)),
      ));
});
