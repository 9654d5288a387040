// Run: buffered logging, steps, params, lineage, artifacts (content-addressed, traversal, size, overwrite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  blobPath,
  configHash,
  fingerprintFiles,
  startRun,
  TrackingError,
  validateArtifactPath,
} from '../../src/track/index.js';
import { tempSqlite } from './helpers.js';

const opts = { systemMetricsMs: 0, handleExit: false, git: false } as const;

test('logging only buffers; flush writes one batch; steps default to previous + 1', async () => {
  const tmp = tempSqlite();
  const store = await tmp.open();
  try {
    const run = await startRun(store, { ...opts, flushIntervalMs: 60_000 });
    run.logMetric('loss', 1);
    run.logMetric('loss', 0.5);
    run.logMetrics({ acc: 0.1, loss: 0.25 }, 10);
    run.logMetric('loss', 0.2);
    assert.equal((await store.metricSeries(run.id, 'loss')).length, 0, 'nothing written before a flush');
    await run.flush();
    assert.deepEqual(
      (await store.metricSeries(run.id, 'loss')).map((p) => [p.step, p.value]),
      [
        [0, 1],
        [1, 0.5],
        [10, 0.25],
        [11, 0.2],
      ],
    );
    assert.equal(run.flushedPoints, 5);
    assert.throws(() => run.logMetric('loss', Number('x') as unknown as number, -1), TrackingError);
    assert.throws(() => run.logMetric('', 1), /metric name/);
    assert.throws(() => run.logMetric('x', '1' as unknown as number), /must be a number/);
    await run.end();
    assert.equal((await store.getRun(run.id)).status, 'finished');
    assert.throws(() => run.logMetric('loss', 1), /has ended/);
  } finally {
    await store.close();
    await tmp.cleanup();
  }
});

test('a full buffer flushes without an explicit call', async () => {
  const tmp = tempSqlite();
  const store = await tmp.open();
  try {
    const run = await startRun(store, { ...opts, flushIntervalMs: 60_000, maxBuffered: 100 });
    for (let i = 0; i < 100; i++) run.logMetric('x', i);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await store.metricSeries(run.id, 'x')).length, 100);
    await run.end('failed');
    assert.equal((await store.getRun(run.id)).status, 'failed');
  } finally {
    await store.close();
    await tmp.cleanup();
  }
});

test('params cannot change; tags and notes are stored; lineage records config hash, seed, dataset and versions', async () => {
  const tmp = tempSqlite();
  const store = await tmp.open();
  try {
    const config = { model: { depth: 2 }, lr: 0.1 };
    const run = await startRun(store, {
      ...opts,
      git: true,
      experiment: 'lin',
      params: { lr: 0.1 },
      config,
      seed: 42,
      dataset: { name: 'fmnist', fingerprint: 'sha256:00' },
    });
    run.logParams({ lr: 0.1, batch: 32 });
    assert.throws(() => run.logParams({ lr: 0.2 }), /cannot change/);
    run.setTag('team', 'a');
    await run.setNotes('first try');
    await run.end();
    const r = await store.getRun(run.id);
    assert.deepEqual(r.params, { lr: 0.1, batch: 32 });
    assert.equal(r.tags.team, 'a');
    assert.equal(r.notes, 'first try');
    assert.equal(r.lineage.configHash, configHash({ lr: 0.1, model: { depth: 2 } }), 'hash ignores key order');
    assert.equal(r.lineage.seed, 42);
    assert.equal(r.lineage.dataset?.fingerprint, 'sha256:00');
    assert.equal(r.lineage.versions.node, process.versions.node);
    assert.match(r.lineage.versions.onnxruntime ?? '', /^\d+\.\d+/);
    assert.match(r.lineage.versions.lathe ?? '', /^\d+\.\d+/);
    // The tests run inside the lathe checkout: a git commit is recorded.
    if (existsSync(join(process.cwd(), '.git'))) assert.match(r.lineage.git?.commit ?? '', /^[0-9a-f]{40}$/);
  } finally {
    await store.close();
    await tmp.cleanup();
  }
});

test('artifacts are content-addressed; traversal, oversize and overwrite are rejected', async () => {
  const tmp = tempSqlite();
  const store = await tmp.open();
  try {
    const run = await startRun(store, { ...opts, maxArtifactBytes: 1000 });
    const file = join(tmp.dir, 'model.onnx');
    writeFileSync(file, 'fake onnx bytes');
    const a = await run.logArtifact(file);
    assert.equal(a.kind, 'onnx');
    assert.equal(readFileSync(blobPath(store.artifactRoot, a.digest), 'utf8'), 'fake onnx bytes');
    const b = await run.logArtifact(file, { name: 'copies/again.onnx' });
    assert.equal(b.digest, a.digest, 'same content, same blob');
    await assert.rejects(run.logArtifact(file), (e: unknown) => e instanceof TrackingError && e.status === 409);
    for (const bad of ['../escape.txt', '/etc/passwd', 'a/../../b', 'a//b', 'a\\b', './x', '']) {
      await assert.rejects(
        run.logArtifact(file, { name: bad }),
        (e: unknown) => e instanceof TrackingError && e.status === 400,
        bad,
      );
    }
    const big = join(tmp.dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(1001));
    await assert.rejects(
      run.logArtifact(big),
      (e: unknown) => e instanceof TrackingError && e.status === 413 && /over the limit of 1000/.test(e.message),
    );
    await assert.rejects(run.logArtifact(join(tmp.dir, 'missing.bin')), /cannot be read/);
    const plot = await run.logArtifactBytes('plots/loss.svg', new TextEncoder().encode('<svg/>'));
    assert.equal(plot.kind, 'plot');
    assert.deepEqual(
      (await store.listArtifacts(run.id)).map((x) => x.path),
      ['copies/again.onnx', 'model.onnx', 'plots/loss.svg'],
    );
    await run.end();
  } finally {
    await store.close();
    await tmp.cleanup();
  }
});

test('validateArtifactPath accepts nested relative paths', () => {
  assert.equal(validateArtifactPath('ckpt/epoch-3/model.safetensors'), 'ckpt/epoch-3/model.safetensors');
});

test('fingerprintFiles changes with content and not with the path given', async () => {
  const tmp = tempSqlite();
  try {
    writeFileSync(join(tmp.dir, 'a.txt'), 'one');
    const f1 = fingerprintFiles([tmp.dir]);
    assert.equal(fingerprintFiles([tmp.dir + '/']), f1);
    writeFileSync(join(tmp.dir, 'a.txt'), 'two');
    assert.notEqual(fingerprintFiles([tmp.dir]), f1);
  } finally {
    await tmp.cleanup();
  }
});
