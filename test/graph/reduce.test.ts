import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

const x = randn([2, 3, 4], 11);

describe('reductions: gradients over several axes, keepdim and not', () => {
  const axesCases: [string, number | number[] | undefined, boolean][] = [
    ['all', undefined, false],
    ['axis1', 1, false],
    ['axes0,2 keep', [0, 2], true],
    ['neg axis', -1, true],
  ];
  for (const [label, axes, keep] of axesCases) {
    test(`sum ${label}`, () => checkGrad('sum', (t) => L.sum(t, axes, keep), [x]));
    test(`mean ${label}`, () => checkGrad('mean', (t) => L.mean(t, axes, keep), [x]));
    test(`max ${label}`, () => checkGrad('max', (t) => L.max(t, axes, keep), [x]));
    test(`min ${label}`, () => checkGrad('min', (t) => L.min(t, axes, keep), [x]));
    test(`prod ${label}`, () => checkGrad('prod', (t) => L.prod(t, axes, keep), [x]));
    test(`logsumexp ${label}`, () => checkGrad('logsumexp', (t) => L.logsumexp(t, axes, keep), [x]));
  }
  test('var unbiased and biased', async () => {
    await checkGrad('var1', (t) => L.variance(t, [1, 2]), [x]);
    await checkGrad('var0', (t) => L.variance(t, 0, { correction: 0, keepdim: true }), [x]);
  });
});

test('argmax / argmin pick the right indices', async () => {
  const f = compile((t: L.Tensor) => [L.argmax(t, 1), L.argmin(t, -1, true)]);
  const [am, an] = await f(L.float64([2, 3], [1, 5, 2, 9, 0, 3]));
  assert.deepEqual(L.toNumbers(am), [1, 0]);
  assert.deepEqual(an.shape, [2, 1]);
  assert.deepEqual(L.toNumbers(an), [0, 1]);
});

test('mean over a symbolic batch divides by the runtime count', async () => {
  const f = compile((t: L.Tensor) => L.mean(t, 0), { inputs: [{ dtype: 'float32', shape: ['batch', 2] }] });
  assertClose((await f(L.float32([3, 2], [1, 2, 3, 4, 5, 6]))).data, [3, 4]);
  assertClose((await f(L.float32([1, 2], [7, 8]))).data, [7, 8]);
  assert.equal(f.cacheSize, 1);
});
