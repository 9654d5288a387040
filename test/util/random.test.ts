import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beta, mixSeed, normal, Rng } from '../../src/util/random.js';

test('Rng: the same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42),
    b = new Rng(42),
    c = new Rng(43);
  const xs = Array.from({ length: 8 }, () => a.nextU32());
  assert.deepEqual(
    xs,
    Array.from({ length: 8 }, () => b.nextU32()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 8 }, () => c.nextU32()),
  );
});

test('Rng: getState/setState resumes the stream exactly; bad states are refused', () => {
  const a = new Rng(7);
  for (let i = 0; i < 5; i++) a.random();
  const saved = a.getState();
  const ahead = Array.from({ length: 6 }, () => a.random());
  const b = new Rng(0);
  b.setState(saved);
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.random()),
    ahead,
  );
  assert.throws(() => b.setState([1, 2, 3]), /four uint32 words/);
  assert.throws(() => b.setState([1, 2, 3, -1]), /four uint32 words/);
});

test('Rng: uniform, int and normal have the right moments', () => {
  const r = new Rng(1);
  const n = 40000;
  let s = 0,
    s2 = 0,
    z = 0,
    z2 = 0;
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < n; i++) {
    const u = r.uniform(2, 4);
    assert.ok(u >= 2 && u < 4);
    s += u;
    s2 += u * u;
    counts[r.int(5)]++;
    const g = r.normal();
    z += g;
    z2 += g * g;
  }
  assert.ok(Math.abs(s / n - 3) < 0.02);
  assert.ok(Math.abs(s2 / n - (s / n) ** 2 - 1 / 3) < 0.02);
  for (const c of counts) assert.ok(Math.abs(c / n - 0.2) < 0.01, `int(5) frequencies ${counts}`);
  assert.ok(Math.abs(z / n) < 0.02 && Math.abs(z2 / n - 1) < 0.03);
  const u = new Rng(3).stream;
  let m = 0;
  for (let i = 0; i < 20000; i++) m += beta(u, 2, 6);
  assert.ok(Math.abs(m / 20000 - 0.25) < 0.01, `Beta(2,6) mean ${m / 20000}`);
  assert.ok(Number.isFinite(normal(() => 0)));
});

test('mixSeed: order and every word matter', () => {
  const seen = new Set<number>();
  for (let a = 0; a < 30; a++) for (let b = 0; b < 30; b++) seen.add(mixSeed(1, a, b));
  assert.equal(seen.size, 900);
  assert.notEqual(mixSeed(1, 2), mixSeed(2, 1));
});
