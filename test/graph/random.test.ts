import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { compile } from '../../src/runtime/compile.js';

const key = (k: number) => L.ndarray('int64', [], [k]);
const f = compile((k: L.Tensor, x: L.Tensor) => [
  L.randomUniform(k, [4000], { stream: 1 }),
  L.randomNormal(k, [4000], { stream: 2 }),
  L.dropout(x, 0.25, k, { stream: 3 }),
  L.randomUniform(k, x, { stream: 1 }),
]);
const ones = L.float32([1000], new Float32Array(1000).fill(1));

test('random ops are a pure function of (key, stream, position)', async () => {
  const [u1, n1, d1] = await f(key(7), ones);
  const [u2, n2, d2] = await f(key(7), ones);
  assert.deepEqual(Array.from(u1.data as Float32Array), Array.from(u2.data as Float32Array));
  assert.deepEqual(Array.from(n1.data as Float32Array), Array.from(n2.data as Float32Array));
  assert.deepEqual(Array.from(d1.data as Float32Array), Array.from(d2.data as Float32Array));
  const [u3] = await f(key(8), ones);
  assert.notDeepEqual(Array.from(u1.data as Float32Array), Array.from(u3.data as Float32Array));
});

test('uniform, normal and dropout have the right statistics', async () => {
  const [u, n, d, ul] = await f(key(123), ones);
  const uv = Array.from(u.data as Float32Array);
  const mean = uv.reduce((a, b) => a + b) / uv.length;
  assert.ok(uv.every((v) => v > 0 && v < 1));
  assert.ok(Math.abs(mean - 0.5) < 0.02, `uniform mean ${mean}`);
  const nv = Array.from(n.data as Float32Array);
  const nm = nv.reduce((a, b) => a + b) / nv.length;
  const ns = Math.sqrt(nv.reduce((a, b) => a + (b - nm) ** 2, 0) / nv.length);
  assert.ok(Math.abs(nm) < 0.05 && Math.abs(ns - 1) < 0.05, `normal mean ${nm} std ${ns}`);
  const dv = Array.from(d.data as Float32Array);
  const zeros = dv.filter((v) => v === 0).length / dv.length;
  assert.ok(Math.abs(zeros - 0.25) < 0.04, `dropout rate ${zeros}`);
  assert.ok(dv.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
  // the same stream over a like-shaped tensor gives the same bits as the static-shape form
  assert.deepEqual(Array.from(ul.data as Float32Array), uv.slice(0, 1000));
  // successive uniforms are not correlated
  let c = 0;
  for (let i = 1; i < uv.length; i++) c += (uv[i] - 0.5) * (uv[i - 1] - 0.5);
  assert.ok(Math.abs(c / uv.length / (1 / 12)) < 0.06, 'lag-1 autocorrelation');
});

test('bernoulli and the host twin of the hash', async () => {
  const g = compile((k: L.Tensor) => L.cast(L.randomBernoulli(k, 0.1, [5000]), 'float32'));
  const b = Array.from((await g(key(3))).data as Float32Array);
  const p = b.reduce((s, v) => s + v) / b.length;
  assert.ok(Math.abs(p - 0.1) < 0.015, `bernoulli mean ${p}`);
  assert.equal(L.hash32(0), L.hash32(0));
  assert.notEqual(L.hash32(1), L.hash32(2));
});
