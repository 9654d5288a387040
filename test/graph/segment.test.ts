import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

// 6 entries into 5 segments: segment 1 repeats three times, segments 3 and 4 are empty, ids are unsorted
const seg = L.int64([6], [2, 1, 0, 1, 2, 1]);
const nodes = L.float64([5, 1], [0, 0, 0, 0, 0]);

/** Plain-JS segment reductions over rows of a [E, R] array. */
function reference(x: number[], r: number, ids: number[], n: number, op: 'sum' | 'max' | 'mean'): number[] {
  const out = new Array<number>(n * r).fill(op === 'max' ? -Infinity : 0);
  const cnt = new Array<number>(n).fill(0);
  ids.forEach((s, e) => {
    cnt[s]++;
    for (let j = 0; j < r; j++)
      out[s * r + j] = op === 'max' ? Math.max(out[s * r + j], x[e * r + j]) : out[s * r + j] + x[e * r + j];
  });
  return out.map((v, i) => (cnt[Math.floor(i / r)] === 0 ? 0 : op === 'mean' ? v / cnt[Math.floor(i / r)] : v));
}

for (const threads of [1, 2]) {
  describe(`segment ops at ${threads} ORT thread(s): gradients (repeated ids, empty segments)`, () => {
    const o = { threads };
    test('gatherRows', () => checkGrad('gatherRows', (x, i) => L.gatherRows(x, i), [randn([5, 3], 1), seg], o));
    test('segmentSum', () =>
      checkGrad('segmentSum', (x, i, n) => L.segmentSum(x, i, n), [randn([6, 3], 2), seg, nodes], { ...o, wrt: [0] }));
    test('segmentSum of a 1-D and a 3-D value', async () => {
      await checkGrad('segmentSum 1-D', (x, i, n) => L.segmentSum(x, i, n), [randn([6], 3), seg, nodes], {
        ...o,
        wrt: [0],
      });
      await checkGrad('segmentSum 3-D', (x, i, n) => L.segmentSum(x, i, n), [randn([6, 2, 3], 4), seg, nodes], {
        ...o,
        wrt: [0],
      });
    });
    test('segmentMax (no ties)', () =>
      checkGrad('segmentMax', (x, i, n) => L.segmentMax(x, i, n), [randn([6, 3], 5), seg, nodes], { ...o, wrt: [0] }));
    test('segmentMean', () =>
      checkGrad('segmentMean', (x, i, n) => L.segmentMean(x, i, n), [randn([6, 3], 6), seg, nodes], {
        ...o,
        wrt: [0],
      }));
    test('segmentSoftmax over [E, heads]', () =>
      checkGrad('segmentSoftmax', (x, i, n) => L.segmentSoftmax(x, i, n), [randn([6, 2], 7), seg, nodes], {
        ...o,
        wrt: [0],
      }));
    test('second order: gatherRows∘segmentSum through a product', () =>
      checkGrad(
        'gather-segment',
        (x, i, n) => L.mul(L.gatherRows(L.segmentSum(L.mul(x, x), i, n), i), x),
        [randn([6, 2], 8), seg, nodes],
        { ...o, wrt: [0] },
      ));
  });
}

test('segment reductions match a plain-JS reference; empty segments are 0', async () => {
  const x = randn([6, 3], 11, 'float32');
  const xs = Array.from(x.data as Float32Array);
  const ids = [2, 1, 0, 1, 2, 1];
  const n32 = L.float32([5, 1], [0, 0, 0, 0, 0]);
  const f = compile((v: L.Tensor, i: L.Tensor, n: L.Tensor) => [
    L.segmentSum(v, i, n),
    L.segmentMax(v, i, n),
    L.segmentMean(v, i, n),
  ]);
  const [s, m, mean] = await f(x, seg, n32);
  assert.deepEqual(s.shape, [5, 3]);
  assertClose(s.data as Float32Array, reference(xs, 3, ids, 5, 'sum'), 1e-6, 1e-5, 'sum');
  assertClose(m.data as Float32Array, reference(xs, 3, ids, 5, 'max'), 0, 0, 'max');
  assertClose(mean.data as Float32Array, reference(xs, 3, ids, 5, 'mean'), 1e-6, 1e-5, 'mean');
});

test('segmentSoftmax sums to 1 over each segment and is invariant to a per-segment shift', async () => {
  const ids = L.int64([5], [0, 0, 1, 0, 1]);
  const f = compile((v: L.Tensor, i: L.Tensor, n: L.Tensor) => L.segmentSoftmax(v, i, n));
  const p = (await f(L.float32([5], [1, 2, 100, 3, 101]), ids, L.float32([2, 1], [0, 0]))).data as Float32Array;
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
  const z = e[0] + e[1] + e[2];
  assertClose(p, [e[0] / z, e[1] / z, 1 / (1 + Math.E), e[2] / z, Math.E / (1 + Math.E)], 1e-6, 1e-5);
});

test('segmentMax shares the gradient equally among ties (as torch.scatter_reduce amax)', async () => {
  const ids = L.int64([4], [0, 0, 0, 1]);
  const f = compile(
    (v: L.Tensor, i: L.Tensor, n: L.Tensor) =>
      gradients(L.sum(L.mul(L.segmentMax(v, i, n), L.constant(L.float32([2], [1, 10])))), [v])[0],
  );
  const g = (await f(L.float32([4], [3, 1, 3, -2]), ids, L.float32([2, 1], [0, 0]))).data as Float32Array;
  assertClose(g, [0.5, 0, 0.5, 10], 0, 0);
});

test('segmentSum gives the same bits at 1 and 2 ORT threads on a Cora-sized graph', async () => {
  const E = 13264;
  const N = 2708;
  const ids = L.int64(
    [E],
    Array.from({ length: E }, (_, e) => (e * 7919) % N),
  );
  const x = randn([E, 16], 12, 'float32');
  const n = L.float32([N, 1], new Float32Array(N));
  const runs: Float32Array[] = [];
  for (const threads of [1, 2, 2]) {
    const f = compile(
      (v: L.Tensor, i: L.Tensor, nn: L.Tensor) =>
        gradients(L.sum(L.mul(L.gatherRows(L.segmentSum(v, i, nn), i), v)), [v])[0],
      { threads },
    );
    runs.push((await f(x, ids, n)).data as Float32Array);
  }
  assert.ok(
    runs[1].every((v, i) => Object.is(v, runs[0][i])) && runs[2].every((v, i) => Object.is(v, runs[0][i])),
    'bits differ between thread counts',
  );
});

test('segment ops name their bad inputs', () => {
  const x = L.placeholder('x', 'float32', [4, 2]);
  assert.throws(() => L.segmentSum(x, L.placeholder('s', 'float32', [4]), x), /segment ids must be int32 or int64/);
  assert.throws(() => L.segmentSum(x, L.placeholder('s', 'int64', [3]), x), /disagree on E/);
  assert.throws(() => L.segmentSum(x, L.placeholder('s', 'int64', [4, 1]), x), /must be 1-D/);
});
