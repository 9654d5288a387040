// The TrackingStore conformance suite: every store implementation runs it (SQLite and PostgreSQL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { TrackingError, type NewRun, type TrackingStore } from '../../src/track/index.js';
import type { TempStore } from './helpers.js';

let counter = 0;
function newRun(over: Partial<NewRun> = {}): NewRun {
  counter++;
  return {
    id: `run${String(counter).padStart(4, '0')}${Math.random().toString(16).slice(2, 8)}`,
    experiment: 'exp',
    name: `r${counter}`,
    startTime: 1_000_000 + counter,
    host: hostname(),
    pid: process.pid,
    params: {},
    tags: {},
    notes: '',
    lineage: { versions: { node: process.versions.node } },
    ...over,
  };
}

const rejects = async (p: Promise<unknown>, status: number, pattern: RegExp): Promise<void> => {
  await assert.rejects(
    p,
    (err: unknown) => err instanceof TrackingError && err.status === status && pattern.test(err.message),
  );
};

export function storeConformance(name: string, make: () => TempStore, skip?: () => Promise<string | false>): void {
  const withStore = (title: string, fn: (s: TrackingStore) => Promise<void>): void => {
    test(`${name}: ${title}`, async (t) => {
      const why = skip ? await skip() : false;
      if (why) return t.skip(why);
      const tmp = make();
      const store = await tmp.open();
      try {
        await fn(store);
      } finally {
        await store.close();
        await tmp.cleanup();
      }
    });
  };

  withStore('creates a run and reads it back with params, tags, lineage', async (s) => {
    const r = newRun({
      params: { lr: 0.01, opt: 'adam', bn: true },
      tags: { model: 'mlp' },
      lineage: { versions: { node: '20' }, seed: 7, configHash: 'sha256:ab' },
    });
    await s.createRun(r);
    const got = await s.getRun(r.id);
    assert.equal(got.status, 'running');
    assert.deepEqual(got.params, { lr: 0.01, opt: 'adam', bn: true });
    assert.deepEqual(got.tags, { model: 'mlp' });
    assert.equal(got.lineage.seed, 7);
    assert.equal(got.startTime, r.startTime);
    await rejects(s.getRun('nope'), 404, /run 'nope' not found/);
  });

  withStore('appends metric batches, keeps the latest value per key and NaN', async (s) => {
    const r = newRun();
    await s.createRun(r);
    await s.writeBatch(r.id, {
      metrics: [
        { key: 'loss', step: 0, time: 1, value: 2 },
        { key: 'loss', step: 1, time: 2, value: 1.5 },
      ],
      heartbeatAt: 5,
    });
    await s.writeBatch(r.id, {
      metrics: [
        { key: 'loss', step: 2, time: 3, value: NaN },
        { key: 'acc', step: 2, time: 3, value: 0.5 },
      ],
      heartbeatAt: 6,
    });
    const series = await s.metricSeries(r.id, 'loss');
    assert.deepEqual(
      series.map((p) => p.step),
      [0, 1, 2],
    );
    assert.ok(Number.isNaN(series[2].value));
    assert.deepEqual(await s.metricKeys(r.id), ['acc', 'loss']);
    const got = await s.getRun(r.id);
    assert.equal(got.heartbeatAt, 6);
    assert.equal(got.latest.acc, 0.5);
    await rejects(s.writeBatch('missing', { metrics: [], heartbeatAt: 1 }), 404, /missing/);
  });

  withStore('thins long series to maxPoints keeping both ends', async (s) => {
    const r = newRun();
    await s.createRun(r);
    await s.writeBatch(r.id, {
      metrics: Array.from({ length: 1000 }, (_, i) => ({ key: 'x', step: i, time: i, value: i })),
      heartbeatAt: 1,
    });
    const pts = await s.metricSeries(r.id, 'x', 11);
    assert.equal(pts.length, 11);
    assert.equal(pts[0].step, 0);
    assert.equal(pts[10].step, 999);
  });

  withStore('rejects a param that changes, accepts the same value again', async (s) => {
    const r = newRun({ params: { lr: 0.1 } });
    await s.createRun(r);
    await s.writeBatch(r.id, { metrics: [], params: { lr: 0.1, wd: 0 }, heartbeatAt: 1 });
    await rejects(
      s.writeBatch(r.id, { metrics: [{ key: 'a', step: 0, time: 0, value: 1 }], params: { lr: 0.2 }, heartbeatAt: 2 }),
      409,
      /param 'lr'/,
    );
    // The rejected batch is atomic: its metric point was not written either.
    assert.equal((await s.metricSeries(r.id, 'a')).length, 0);
    assert.deepEqual((await s.getRun(r.id)).params, { lr: 0.1, wd: 0 });
  });

  withStore('lists runs with server-side filter, sort and paging', async (s) => {
    for (let i = 0; i < 25; i++) {
      const r = newRun({
        experiment: i % 2 ? 'odd' : 'even',
        params: { lr: i / 100, opt: i % 3 ? 'sgd' : 'adam' },
        tags: { group: `g${i % 4}` },
      });
      await s.createRun(r);
      await s.writeBatch(r.id, { metrics: [{ key: 'loss', step: 0, time: 0, value: 100 - i }], heartbeatAt: 1 });
      if (i < 5) await s.setStatus(r.id, 'finished', 2);
    }
    const all = await s.listRuns({ limit: 10 });
    assert.equal(all.total, 25);
    assert.equal(all.runs.length, 10);
    const p2 = await s.listRuns({ limit: 10, offset: 20 });
    assert.equal(p2.runs.length, 5);
    const byLoss = await s.listRuns({ sort: 'metrics.loss', order: 'asc', limit: 3 });
    assert.deepEqual(
      byLoss.runs.map((r) => r.latest.loss),
      [76, 77, 78],
    );
    const byParam = await s.listRuns({ sort: 'params.lr', order: 'desc', limit: 2 });
    assert.deepEqual(
      byParam.runs.map((r) => r.params.lr),
      [0.24, 0.23],
    );
    assert.equal((await s.listRuns({ experiment: 'odd' })).total, 12);
    assert.equal((await s.listRuns({ filter: 'params.lr >= 0.2' })).total, 5);
    assert.equal((await s.listRuns({ filter: 'params.opt = adam and metrics.loss < 90' })).total, 5); // i in {12,15,18,21,24}
    assert.equal((await s.listRuns({ filter: 'status = finished' })).total, 5);
    assert.equal((await s.listRuns({ filter: "tags.group = 'g1' and experiment = odd" })).total, 6);
    assert.equal(
      (await s.listRuns({ filter: 'name ~ R1' })).total,
      (await s.listRuns({ limit: 100 })).runs.filter((r) => r.name.toLowerCase().includes('r1')).length,
    );
    await rejects(s.listRuns({ filter: 'params.lr <' }), 400, /expected a value/);
    await rejects(s.listRuns({ filter: 'bogus = 1' }), 400, /unknown field 'bogus'/);
    await rejects(s.listRuns({ filter: 'metrics.loss < abc' }), 400, /number/);
    await rejects(s.listRuns({ limit: 0 }), 400, /limit/);
    const cols = await s.listColumns('odd');
    assert.deepEqual(cols.params, ['lr', 'opt']);
    assert.deepEqual(cols.metrics, ['loss']);
    const exps = await s.listExperiments();
    assert.deepEqual(exps.map((e) => e.name).sort(), ['even', 'odd']);
  });

  withStore('sets status, notes, and deletes tags', async (s) => {
    const r = newRun({ tags: { a: '1', b: '2' } });
    await s.createRun(r);
    await s.setStatus(r.id, 'failed', 99);
    await s.setNotes(r.id, 'diverged at step 40');
    await s.deleteTag(r.id, 'a');
    const got = await s.getRun(r.id);
    assert.equal(got.status, 'failed');
    assert.equal(got.endTime, 99);
    assert.equal(got.notes, 'diverged at step 40');
    assert.deepEqual(got.tags, { b: '2' });
    await rejects(s.setStatus('nope', 'finished', 1), 404, /nope/);
  });

  withStore('sweep marks runs of dead processes killed and stale ones failed', async (s) => {
    const dead = newRun({ pid: 2 ** 22 + 12345 }); // above pid_max: no such process
    const stale = newRun({ host: 'another-host', startTime: Date.now() - 600_000 });
    const alive = newRun({ startTime: Date.now() });
    for (const r of [dead, stale, alive]) await s.createRun(r);
    const swept = await s.sweep(60_000);
    assert.deepEqual([...swept].sort(), [dead.id, stale.id].sort());
    assert.equal((await s.getRun(dead.id)).status, 'killed');
    assert.equal((await s.getRun(stale.id)).status, 'failed');
    assert.equal((await s.getRun(alive.id)).status, 'running');
    assert.match((await s.getRun(dead.id)).tags['lathe.ended_by'], /gone/);
  });

  withStore('artifact references: unique path per run, 404 for unknown', async (s) => {
    const r = newRun();
    await s.createRun(r);
    const a = {
      runId: r.id,
      path: 'model/model.onnx',
      digest: 'sha256:' + 'a'.repeat(64),
      size: 10,
      kind: 'onnx',
      createdAt: 1,
    };
    await s.addArtifact(a);
    await rejects(s.addArtifact({ ...a, digest: 'sha256:' + 'b'.repeat(64) }), 409, /already exists/);
    assert.deepEqual(await s.listArtifacts(r.id), [a]);
    assert.deepEqual(await s.getArtifact(r.id, 'model/model.onnx'), a);
    await rejects(s.getArtifact(r.id, 'other'), 404, /other/);
  });

  withStore('model versions, aliases with history, tags', async (s) => {
    const r = newRun();
    await s.createRun(r);
    const base = {
      name: 'fraud',
      runId: r.id,
      onnxDigest: 'sha256:' + 'c'.repeat(64),
      weightsDigest: null,
      signature: {
        inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
      },
      metrics: { acc: 0.9 },
      lineage: null,
      description: '',
      tags: { stage: 'dev' },
    };
    const v1 = await s.createModelVersion(base);
    const v2 = await s.createModelVersion({ ...base, metrics: { acc: 0.95 } });
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    assert.deepEqual(v2.signature, base.signature);
    assert.deepEqual(v1.tags, { stage: 'dev' });
    await s.setAlias('fraud', 'champion', 1);
    await s.setAlias('fraud', 'challenger', 2);
    await s.setAlias('fraud', 'champion', 2);
    await s.setAlias('fraud', 'challenger', null);
    const m = await s.getModel('fraud');
    assert.deepEqual(m.aliases, { champion: 2 });
    assert.equal(m.latestVersion, 2);
    assert.deepEqual(
      (await s.aliasHistory('fraud')).map((e) => [e.alias, e.version]),
      [
        ['champion', 1],
        ['challenger', 2],
        ['champion', 2],
        ['challenger', null],
      ],
    );
    await s.setModelVersionTag('fraud', 1, 'stage', 'archived');
    assert.equal((await s.getModelVersion('fraud', 1)).tags.stage, 'archived');
    assert.equal((await s.listModelVersions('fraud')).length, 2);
    await rejects(s.setAlias('fraud', 'champion', 7), 404, /no version 7/);
    await rejects(s.setAlias('ghost', 'champion', 1), 404, /ghost/);
    await rejects(s.setAlias('fraud', '3', 1), 400, /alias/);
    await rejects(s.getModelVersion('fraud', 9), 404, /no version 9/);
    await rejects(s.createModelVersion({ ...base, runId: 'nope' }), 404, /nope/);
  });

  withStore('concurrent registrations get distinct version numbers', async (s) => {
    const base = {
      name: 'race',
      runId: null,
      onnxDigest: 'sha256:' + 'd'.repeat(64),
      weightsDigest: null,
      signature: null,
      metrics: {},
      lineage: null,
      description: '',
      tags: {},
    };
    const vs = await Promise.all(Array.from({ length: 6 }, () => s.createModelVersion(base)));
    assert.deepEqual(
      vs.map((v) => v.version).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6],
    );
  });
}
