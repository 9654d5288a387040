// The TCP collective in one process: W ranks on 127.0.0.1 (random port) reduce, broadcast and gather exactly; a
// dead or silent rank fails the others quickly with an error that names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpCollective } from '../../src/distributed/tcp-collective.js';
import { freePort } from '../../src/util/free-port.js';

async function group(W: number, opts: { timeoutSeconds?: number; bucketValues?: number } = {}) {
  const port = await freePort();
  return Promise.all(
    [...Array(W).keys()].map((rank) =>
      TcpCollective.connect({ rank, worldSize: W, masterAddr: '127.0.0.1', masterPort: port }, opts),
    ),
  );
}

const values = (rank: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(rank * 7.1 + i * 0.37) * 1e3);

test('ring all-reduce over 3 ranks: the float64 sum within float32 rounding, bit-identical on every rank and on a rerun', async () => {
  const W = 3;
  const n = 1001; // not a multiple of W; two buckets of 512 and one of 489... with bucketValues 512
  const cs = await group(W, { bucketValues: 512 });
  const run = async () => {
    const bufs = cs.map((c) => values(c.rank, n));
    await Promise.all(cs.map((c, r) => c.allReduce(bufs[r], 'test sum')));
    return bufs;
  };
  const a = await run();
  const b = await run();
  for (let i = 0; i < n; i++) {
    let exact = 0;
    for (let r = 0; r < W; r++) exact += values(r, n)[i];
    assert.ok(Math.abs(a[0][i] - exact) <= 3e3 * 2 ** -23 * 2, `value ${i}: ${a[0][i]} vs ${exact}`);
  }
  for (let r = 1; r < W; r++) assert.deepEqual(a[r], a[0]);
  assert.deepEqual(b[0], a[0]);
  await Promise.all(cs.map((c) => c.close()));
});

test('broadcast, all-gather and barrier over 3 ranks', async () => {
  const cs = await group(3);
  const bufs = cs.map((c) => values(c.rank, 50));
  await Promise.all(cs.map((c, r) => c.broadcast(bufs[r], 1, 'params')));
  for (const b of bufs) assert.deepEqual(b, values(1, 50));
  const gathered = await Promise.all(cs.map((c) => c.allGather(Float32Array.of(c.rank * 10, c.rank * 10 + 1))));
  for (const g of gathered) assert.deepEqual([...g], [0, 1, 10, 11, 20, 21]);
  await Promise.all(cs.map((c) => c.barrier()));
  await Promise.all(cs.map((c) => c.close()));
});

test('a rank that closes makes its neighbour fail at once, naming it and the operation', async () => {
  const [c0, c1] = await group(2, { timeoutSeconds: 30 });
  await c1.close();
  const t0 = Date.now();
  await assert.rejects(c0.allReduce(new Float32Array(10), 'gradients'), /rank 1 closed its connection|rank 1 failed/);
  assert.ok(Date.now() - t0 < 5000);
  await c0.close();
});

test('a rank that never answers fails the others after the timeout, naming it and the operation', async () => {
  const [c0, c1] = await group(2, { timeoutSeconds: 0.5 });
  await assert.rejects(c0.allReduce(new Float32Array(10), 'gradients of step 3'), (e: Error) => {
    assert.match(e.message, /^rank 0: gradients of step 3 \(allReduce #1\) timed out after 0\.5 s waiting for rank 1/);
    return true;
  });
  await Promise.all([c0.close(), c1.close()]);
});

test('ranks running different operations, or different lengths, are told so', async () => {
  const [c0, c1] = await group(2, { timeoutSeconds: 5 });
  const r = await Promise.allSettled([c0.allReduce(new Float32Array(8), 'a'), c1.allReduce(new Float32Array(6), 'a')]);
  assert.ok(r.some((x) => x.status === 'rejected' && /sent \d+ values, this rank expects \d+/.test(String(x.reason))));
  await Promise.all([c0.close(), c1.close()]);
});
