import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { grad, gradients } from '../../src/autodiff/index.js';
import { customVjp } from '../../src/graph/ops/differentiation.js';
import { compile } from '../../src/runtime/compile.js';
import { trace } from '../../src/onnx/trace.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

// softplus(x) = log(1 + eˣ) with the rule g·σ(x); σ(x) is a residual the forward computes only for the rule
const softplus = customVjp(
  'softplus',
  (x) => ({ outputs: [L.log(L.add(L.exp(x), 1))], residuals: [L.sigmoid(x)] }),
  ([g], [s]) => [g && L.mul(g, s)],
);

test('customVjp: the rule replaces differentiation through the forward ops', async () => {
  // a deliberately different rule (3g instead of 2x·g) shows which one runs
  const sq = customVjp(
    'square',
    (x) => ({ outputs: [L.mul(x, x)] }),
    ([g]) => [g && L.mul(g, 3)],
  );
  const f = compile((x: L.Tensor) => [sq(x)[0], grad((t) => L.sum(sq(t)[0]))(x)[0]]);
  const [y, g] = await f(L.float64([3], [1, 2, 3]));
  assertClose(y.data as Float64Array, [1, 4, 9]);
  assertClose(g.data as Float64Array, [3, 3, 3]);
});

test('customVjp: a correct rule passes a finite-difference check, to second order', async () => {
  await checkGrad('softplus', (x) => softplus(x)[0], [randn([2, 3], 3)]);
  // second order: d/dx Σ σ(x) through the rule's own ops
  await checkGrad('softplus′', (x) => grad((t) => L.sum(softplus(t)[0]))(x)[0], [randn([4], 4)]);
});

test('customVjp: no node for the wrapper; residual-only ops are emitted only when a gradient needs them', () => {
  const types = (fn: (x: L.Tensor) => L.Tensor | L.Tensor[]) =>
    trace(fn, [{ dtype: 'float64', shape: [3] }]).model.graph.node.map((n) => n.opType);
  const plain = types((x) => L.log(L.add(L.exp(x), 1)));
  assert.deepEqual(
    types((x) => softplus(x)[0]),
    plain,
  );
  assert.ok(types((x) => gradients(L.sum(softplus(x)[0]), [x])[0]).includes('Sigmoid'));
});

test('customVjp: several outputs, unused ones get null cotangents; the rule must return one gradient per input', async () => {
  let seen: (L.Tensor | null)[] = [];
  const two = customVjp(
    'two',
    (x, y) => ({ outputs: [L.mul(x, y), L.add(x, y)] }),
    (cts, _r, [x, y]) => {
      seen = [...cts];
      const [gm] = cts;
      return [gm && L.mul(gm, y), gm && L.mul(gm, x)];
    },
  );
  const f = compile((x: L.Tensor, y: L.Tensor) => gradients(L.sum(two(x, y)[0]), [x, y]));
  const [gx, gy] = await f(L.float64([2], [1, 2]), L.float64([2], [3, 4]));
  assertClose(gx.data as Float64Array, [3, 4]);
  assertClose(gy.data as Float64Array, [1, 2]);
  assert.equal(seen.length, 2);
  assert.equal(seen[1], null);
  const bad = customVjp(
    'bad',
    (x) => ({ outputs: [L.neg(x)] }),
    ([g]) => [g, g],
  );
  assert.throws(
    () => trace((x: L.Tensor) => gradients(L.sum(bad(x)[0]), [x])[0], [{ dtype: 'float64', shape: [2] }]),
    /customVjp bad: the rule returned 2 gradients for 1 inputs/,
  );
});
