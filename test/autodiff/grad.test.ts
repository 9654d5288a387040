import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { grad, gradients, valueAndGrad, vjp, stopGradient } from '../../src/autodiff/index.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

test('grad of x² is 2x; valueAndGrad returns both', async () => {
  const f = compile((x: L.Tensor) => {
    const [v, [g]] = valueAndGrad((t) => L.sum(L.square(t)))(x);
    return [v, g];
  });
  const [v, g] = await f(L.float64([3], [1, 2, 3]));
  assertClose(v.data as Float64Array, [14]);
  assertClose(g.data as Float64Array, [2, 4, 6]);
});

test('unused inputs get zeros; integer inputs are rejected by grad and skipped by vjp', async () => {
  const f = compile((x: L.Tensor, unused: L.Tensor) => grad((a, _b) => L.sum(a), [0, 1])(x, unused));
  const [gx, gu] = await f(L.float64([2], [1, 1]), L.float64([3], [5, 5, 5]));
  assertClose(gx.data as Float64Array, [1, 1]);
  assertClose(gu.data as Float64Array, [0, 0, 0]);
  assert.throws(
    () =>
      compile((x: L.Tensor, i: L.Tensor) => grad((a, b) => L.sum(L.mul(a, L.cast(b, 'float64'))))(x, i)).model(
        L.float64([2]),
        L.int64([2]),
      ),
    /argument 1 has dtype int64, which has no gradient/,
  );
  const g = compile((x: L.Tensor, i: L.Tensor) => {
    const [, back] = vjp((a, b) => L.mul(a, L.cast(b, 'float64')), x, i);
    const [gx2, gi] = back(L.onesLike(x));
    assert.equal(gi, null);
    return gx2!;
  });
  assertClose((await g(L.float64([2], [1, 1]), L.int64([2], [3, 4]))).data as Float64Array, [3, 4]);
});

test('grad requires a scalar float output', () => {
  assert.throws(
    () => compile((x: L.Tensor) => grad((t) => L.mul(t, 2))(x)).model(L.float64([2])),
    /must return a scalar/,
  );
});

test('stopGradient blocks the flow', async () => {
  const f = compile((x: L.Tensor) => gradients(L.sum(L.mul(x, stopGradient(x))), [x])[0]);
  assertClose((await f(L.float64([2], [3, 4]))).data as Float64Array, [3, 4]);
});

test('grad of grad: d²/dx² sin = -sin', async () => {
  const f = compile((x: L.Tensor) => {
    const d1 = (t: L.Tensor) => L.sum(grad((u) => L.sum(L.sin(u)))(t)[0]);
    return grad(d1)(x)[0];
  });
  const xs = [0.3, -1.2, 2];
  assertClose(
    (await f(L.float64([3], xs))).data as Float64Array,
    xs.map((v) => -Math.sin(v)),
    1e-9,
  );
});

test('gradient penalty (WGAN-GP style) on an MLP checks against finite differences', () =>
  checkGrad(
    'gp',
    (x, w1, w2) => {
      const critic = (t: L.Tensor) => L.sum(L.matmul(L.tanh(L.matmul(t, w1)), w2));
      const [gx] = gradients(critic(x), [x]);
      const norm = L.sqrt(L.sum(L.square(gx), 1));
      return L.mean(L.square(L.sub(norm, 1)));
    },
    [randn([3, 4], 1), randn([4, 5], 2), randn([5, 1], 3)],
  ));
