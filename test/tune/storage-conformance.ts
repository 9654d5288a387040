// The Storage contract, as one suite every implementation runs (memory, SQLite, PostgreSQL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatDistribution, categoricalDistribution } from '../../src/tune/distributions.js';
import { StorageError } from '../../src/tune/errors.js';
import type { Storage } from '../../src/tune/storage/storage.js';

const fd = floatDistribution('x', 0, 1);
const cd = categoricalDistribution('c', ['a', 'b']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function storageConformance(
  label: string,
  open: () => Promise<{ storage: Storage; cleanup(): Promise<void> }>,
  opts: { skip?: string | false } = {},
): void {
  const run = (name: string, fn: (s: Storage) => Promise<void>) =>
    test(`${label}: ${name}`, { skip: opts.skip }, async () => {
      const { storage, cleanup } = await open();
      try {
        await fn(storage);
      } finally {
        await storage.close();
        await cleanup();
      }
    });

  run('studies: create, load, direction mismatch, list, delete', async (s) => {
    const a = await s.createStudy('a', ['minimize']);
    await assert.rejects(s.createStudy('a', ['minimize']), StorageError);
    assert.equal((await s.createStudy('a', ['minimize'], { loadIfExists: true })).id, a.id);
    await assert.rejects(s.createStudy('a', ['maximize'], { loadIfExists: true }), /directions/);
    await s.createStudy('b', ['minimize', 'maximize']);
    assert.deepEqual(
      (await s.listStudies()).map((x) => x.name),
      ['a', 'b'],
    );
    await s.setStudyAttr(a.id, 'user', 'note', { k: [1, 2] });
    assert.deepEqual((await s.getStudy('a'))!.userAttrs, { note: { k: [1, 2] } });
    await s.deleteStudy('b');
    assert.equal(await s.getStudy('b'), undefined);
    await assert.rejects(s.deleteStudy('b'), StorageError);
  });

  run('trials: numbers, params, intermediate values, finish once', async (s) => {
    const st = await s.createStudy('t', ['minimize']);
    const t0 = (await s.createTrial(st.id, { state: 'RUNNING', worker: 'w' }))!;
    const t1 = (await s.createTrial(st.id, { state: 'RUNNING', worker: 'w' }))!;
    assert.deepEqual([t0.number, t1.number], [0, 1]);
    await s.setParam(t0.id, 'x', { distribution: fd, internal: 0.25 });
    await s.setParam(t0.id, 'c', { distribution: cd, internal: 1 });
    await s.reportIntermediate(t0.id, 0, 3.5);
    await s.reportIntermediate(t0.id, 1, NaN);
    await s.setTrialAttr(t0.id, 'user', 'u', 'v');
    assert.equal(await s.finishTrial(t0.id, 'COMPLETE', [Infinity]), true);
    assert.equal(await s.finishTrial(t0.id, 'FAILED', null), false, 'a final state is written once');
    await assert.rejects(s.setParam(t0.id, 'y', { distribution: fd, internal: 0.1 }), StorageError);
    const got = await s.getTrial(t0.id);
    assert.equal(got.state, 'COMPLETE');
    assert.deepEqual(got.params, { x: 0.25, c: 'b' });
    assert.deepEqual(got.values, [Infinity]);
    assert.equal(got.intermediate.get(0), 3.5);
    assert.ok(Number.isNaN(got.intermediate.get(1)));
    assert.deepEqual(got.userAttrs, { u: 'v' });
    assert.deepEqual(got.distributions.c, cd);
    const c = await s.counts(st.id);
    assert.deepEqual([c.COMPLETE, c.RUNNING, c.budget], [1, 1, 2]);
  });

  run('finishedSince pages in finish order and never repeats', async (s) => {
    const st = await s.createStudy('f', ['minimize']);
    const ts = [];
    for (let i = 0; i < 4; i++) ts.push((await s.createTrial(st.id, { state: 'RUNNING' }))!);
    await s.finishTrial(ts[2].id, 'COMPLETE', [2]);
    await s.finishTrial(ts[0].id, 'PRUNED', null);
    const p1 = await s.finishedSince(st.id, 0);
    assert.deepEqual(
      p1.trials.map((t) => t.number),
      [2, 0],
    );
    await s.finishTrial(ts[3].id, 'FAILED', null);
    const p2 = await s.finishedSince(st.id, p1.cursor);
    assert.deepEqual(
      p2.trials.map((t) => t.number),
      [3],
    );
    assert.deepEqual((await s.finishedSince(st.id, p2.cursor)).trials, []);
    assert.deepEqual(
      (await s.getTrials(st.id, ['RUNNING'])).map((t) => t.number),
      [1],
    );
  });

  run('budget: concurrent createTrial with maxTrials creates exactly N', async (s) => {
    const st = await s.createStudy('b', ['minimize']);
    const made = await Promise.all(Array.from({ length: 20 }, () => s.createTrial(st.id, { state: 'RUNNING' }, 7)));
    const nums = made
      .filter((t) => t !== null)
      .map((t) => t!.number)
      .sort((a, b) => a - b);
    assert.deepEqual(nums, [0, 1, 2, 3, 4, 5, 6]);
  });

  run('claimWaiting: fixed params, each WAITING trial claimed once', async (s) => {
    const st = await s.createStudy('w', ['minimize']);
    await s.createTrial(st.id, { state: 'WAITING', params: { x: { distribution: fd, internal: 0.5 } } });
    await s.createTrial(st.id, { state: 'WAITING' });
    const claims = await Promise.all(Array.from({ length: 5 }, (_, i) => s.claimWaiting(st.id, `w${i}`)));
    const got = claims.filter((c) => c !== null);
    assert.deepEqual(got.map((t) => t!.number).sort(), [0, 1]);
    const first = got.find((t) => t!.number === 0)!;
    assert.equal(first.state, 'RUNNING');
    assert.deepEqual(first.params, { x: 0.5 });
  });

  run('failStale: a parameter set is re-queued at most maxRetries times; 0 never re-queues', async (s) => {
    const st = await s.createStudy('retries', ['minimize']);
    const first = (await s.createTrial(st.id, { state: 'RUNNING', worker: 'w' }))!;
    await s.setParam(first.id, 'x', { distribution: fd, internal: 0.25 });
    const chain = [first.number];
    for (let round = 0; round < 3; round++) {
      await sleep(300);
      const failed = await s.failStale(st.id, 200, 2);
      assert.deepEqual(
        failed.map((t) => t.number),
        [chain[chain.length - 1]],
        `round ${round}`,
      );
      const claimed = await s.claimWaiting(st.id, 'w');
      if (round < 2) {
        assert.ok(claimed, `round ${round}: the params are re-queued`);
        assert.equal(claimed.retryOf, chain[chain.length - 1]);
        assert.deepEqual(claimed.params, { x: 0.25 });
        chain.push(claimed.number);
      } else assert.equal(claimed, null, 'a third death re-queues nothing');
    }
    const other = (await s.createTrial(st.id, { state: 'RUNNING', worker: 'w' }))!;
    await sleep(300);
    assert.deepEqual(
      (await s.failStale(st.id, 200, 0)).map((t) => t.number),
      [other.number],
    );
    assert.equal(await s.claimWaiting(st.id, 'w'), null, 'maxRetries 0: nothing re-queued');
  });

  run('failStale: fails silent trials once and re-queues their params', async (s) => {
    const st = await s.createStudy('h', ['minimize']);
    const dead = (await s.createTrial(st.id, { state: 'RUNNING', worker: 'dead' }))!;
    await s.setParam(dead.id, 'x', { distribution: fd, internal: 0.75 });
    // Dead for 2.5 s against a 2 s grace: the alive trial's fresh heartbeat stays inside the grace even when a loaded
    // machine stalls this process for over a second between the heartbeat and the two calls.
    await sleep(2500);
    const alive = (await s.createTrial(st.id, { state: 'RUNNING', worker: 'alive' }))!;
    await s.heartbeat(alive.id);
    const [a, b] = await Promise.all([s.failStale(st.id, 2000, 2), s.failStale(st.id, 2000, 2)]);
    assert.equal(a.length + b.length, 1, 'exactly one caller fails the stale trial');
    const failed = await s.getTrial(dead.id);
    assert.equal(failed.state, 'FAILED');
    assert.equal(failed.systemAttrs.fail_reason, 'heartbeat');
    assert.equal((await s.getTrial(alive.id)).state, 'RUNNING');
    const waiting = await s.getTrials(st.id, ['WAITING']);
    assert.equal(waiting.length, 1);
    assert.deepEqual(waiting[0].params, { x: 0.75 });
    assert.equal(waiting[0].retryOf, dead.number);
    assert.equal(failed.retriedBy, waiting[0].number);
    assert.equal(await s.finishTrial(dead.id, 'COMPLETE', [1]), false, 'a late result of a failed trial is refused');
    const c = await s.counts(st.id);
    assert.equal(c.budget, 2, 'the re-queued copy replaces the failed trial in the budget');
  });
}
