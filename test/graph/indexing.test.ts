import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

const idx = L.int64([5], [2, 0, 2, -1, 1]);

describe('indexing gradients (repeated and negative indices)', () => {
  test('gather axis 0 (embedding)', () =>
    checkGrad('gather0', (w, i) => L.embedding(i, w), [randn([4, 3], 1), L.int64([2, 3], [1, 3, 1, 0, 3, 3])]));
  test('gather axis 1', () => checkGrad('gather1', (x, i) => L.gather(x, i, 1), [randn([2, 4, 3], 2), idx]));
  test('gatherElements', () =>
    checkGrad('ge', (x, i) => L.gatherElements(x, i, 1), [randn([2, 4], 3), L.int64([2, 3], [0, 3, 3, 1, 1, 2])]));
  test('scatterAdd', () =>
    checkGrad('sa', (x, i, s) => L.scatterAdd(x, 1, i, s), [
      randn([2, 4], 4),
      L.int64([2, 3], [0, 3, 3, 1, 1, 2]),
      randn([2, 3], 5),
    ]));
  test('topk values', () => checkGrad('topk', (x) => L.topk(x, 2, 1)[0], [randn([3, 5], 6)]));
  test('cumsum plain / exclusive / reverse', async () => {
    for (const o of [{}, { exclusive: true }, { reverse: true }, { exclusive: true, reverse: true }]) {
      await checkGrad(`cumsum ${JSON.stringify(o)}`, (x) => L.cumsum(x, 1, o), [randn([2, 4], 7)]);
    }
  });
  test('triu / tril', async () => {
    await checkGrad('triu', (x) => L.triu(x, 1), [randn([3, 4], 8)]);
    await checkGrad('tril', (x) => L.tril(x, -1), [randn([2, 3, 3], 9)]);
  });
});

test('oneHot, topk indices and causal mask values', async () => {
  const f = compile((i: L.Tensor, x: L.Tensor) => [L.oneHot(i, 3), L.topk(x, 2, -1)[1], L.add(L.causalMask(3), x)]);
  const [oh, ti, cm] = await f(L.int64([2], [2, 0]), L.float32([3, 3], [1, 9, 3, 4, 2, 8, 0, 0, 1]));
  assert.deepEqual(L.toNumbers(oh), [0, 0, 1, 1, 0, 0]);
  assert.deepEqual(L.toNumbers(ti), [1, 2, 2, 0, 2, 0]);
  assertClose(cm.data as Float32Array, [1, -Infinity, -Infinity, 4, 2, -Infinity, 0, 0, 1]);
});

test('large-table gather gradient (ScatterElements add) sums repeated rows', () =>
  checkGrad(
    'gather-big',
    (w, i) => L.sum(L.embedding(i, w), -1),
    [randn([3000, 2], 10), L.int64([4], [7, 2999, 7, 0])],
    { wrt: [0] },
  ));
