import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { checkGrad, randn } from '../util/gradcheck.js';
import { ndarray } from '../../src/graph/ndarray.js';

const x34 = randn([3, 4], 1);
const pos34 = ndarray(
  'float64',
  [3, 4],
  Array.from(randn([3, 4], 2).data as Float64Array, (v) => Math.abs(v) + 0.5),
);
const away = ndarray(
  'float64',
  [3, 4],
  Array.from(randn([3, 4], 3).data as Float64Array, (v) => (v >= 0 ? v + 0.1 : v - 0.1)),
);

describe('unary ops: analytic gradient = central differences', () => {
  const cases: [string, (x: L.Tensor) => L.Tensor, typeof x34][] = [
    ['neg', L.neg, x34],
    ['abs', L.abs, away],
    ['exp', L.exp, x34],
    ['log', L.log, pos34],
    ['sqrt', L.sqrt, pos34],
    ['rsqrt', L.rsqrt, pos34],
    ['reciprocal', L.reciprocal, pos34],
    ['sin', L.sin, x34],
    ['cos', L.cos, x34],
    ['tanh', L.tanh, x34],
    ['sigmoid', L.sigmoid, x34],
    ['relu', L.relu, away],
    ['softplus', L.softplus, x34],
    ['square', L.square, x34],
    ['clamp', (x) => L.clamp(x, -0.5, 0.5), away],
    ['hardtanh', (x) => L.hardtanh(x, -0.5, 0.5), away],
    ['relu6', (x) => L.relu6(L.mul(x, 8)), away],
  ];
  for (const [name, f, input] of cases) test(name, () => checkGrad(name, f, [input]));
  // ORT's CPU provider has only float32 kernels for LeakyRelu, Elu, Erf, and fuses x·σ(x) into a float32-only
  // QuickGelu: these are checked in float32 with float32 tolerances.
  const f32 = (a: typeof x34) => ndarray('float32', a.shape, a.data as Float64Array);
  const cases32: [string, (x: L.Tensor) => L.Tensor, typeof x34][] = [
    ['leakyRelu', (x) => L.leakyRelu(x, 0.2), away],
    ['elu', (x) => L.elu(x, 0.7), away],
    ['silu', L.silu, x34],
    ['erf', L.erf, x34],
  ];
  for (const [name, f, input] of cases32) test(`${name} (float32 kernel)`, () => checkGrad(name, f, [f32(input)]));
  test('gelu (erf, float32 kernel)', () =>
    checkGrad('gelu', (x) => L.gelu(x), [ndarray('float32', [3, 4], x34.data as Float64Array)]));
  test('gelu gradient is finite in the tails (0 and 1) and 0.5 at 0', async () => {
    const { compile } = await import('../../src/runtime/compile.js');
    const { grad } = await import('../../src/autodiff/index.js');
    const g = compile((t: L.Tensor) => grad((a: L.Tensor) => L.sum(L.gelu(a)))(t)[0]);
    const xs = [-40, -14, -6, 0, 6, 14, 40];
    const out = Array.from((await g(ndarray('float32', [xs.length], xs))).data as Float32Array);
    const want = xs.map((v) => (v === 0 ? 0.5 : v > 0 ? 1 : 0));
    out.forEach((v, i) =>
      assert.ok(Number.isFinite(v) && Math.abs(v - want[i]) < 1e-6, `gelu'(${xs[i]}) = ${v}, want ≈ ${want[i]}`),
    );
  });
  test('gelu (tanh, float32 kernel)', () =>
    checkGrad('gelu-tanh', (x) => L.gelu(x, 'tanh'), [ndarray('float32', [3, 4], x34.data as Float64Array)]));
});

describe('binary ops with broadcasting', () => {
  const a = randn([3, 1, 4], 4);
  const b = randn([2, 1], 5);
  const cases: [string, (a: L.Tensor, b: L.Tensor) => L.Tensor][] = [
    ['add', L.add],
    ['sub', L.sub],
    ['mul', L.mul],
    ['div', (p, q) => L.div(p, L.add(L.abs(q), 0.5))],
    ['maximum', L.maximum],
    ['minimum', L.minimum],
    ['pow', (p, q) => L.pow(L.add(L.abs(p), 0.5), q)],
  ];
  for (const [name, f] of cases) test(name, () => checkGrad(name, f, [a, b]));
  test('where', () => checkGrad('where', (p, q) => L.where(L.greater(p, 0), p, L.mul(q, 3)), [a, b]));
  test('fan-out: x used three times', () => checkGrad('fanout', (p) => L.mul(L.add(p, L.exp(p)), p), [x34]));
  test('scalar broadcast', () => checkGrad('scalar', (p, q) => L.mul(p, L.sum(q)), [a, b]));
});
