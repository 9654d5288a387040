// Reliability: concurrent writer processes lose nothing; crashed and killed writers leave failed/killed runs with their data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/track/index.js';
import { pgAvailable, PG_BASE, tempPostgres, tempSqlite, type TempStore } from './helpers.js';

const writer = fileURLToPath(new URL('./fixtures/writer.js', import.meta.url));

function runWriter(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

async function fourWriters(tmp: TempStore): Promise<void> {
  // Create the schema once so the writers only race on data.
  await (await tmp.open()).close();
  const results = await Promise.all(Array.from({ length: 4 }, () => runWriter(['log', tmp.url, '10000'])));
  for (const r of results) assert.equal(r.code, 0, r.err);
  const store = await tmp.open();
  try {
    const page = await store.listRuns({ experiment: 'writer-log' });
    assert.equal(page.total, 4);
    for (const run of page.runs) {
      assert.equal(run.status, 'finished');
      const pts = await store.metricSeries(run.id, 'm');
      assert.equal(pts.length, 10_000, `run ${run.id} kept ${pts.length} of 10000 points`);
      assert.deepEqual(
        pts.map((p) => p.value),
        Array.from({ length: 10_000 }, (_, i) => i),
      );
      assert.equal(run.latest.m, 9999);
    }
  } finally {
    await store.close();
  }
}

test('4 processes logging 10,000 metrics each to SQLite lose none', async () => {
  const tmp = tempSqlite();
  try {
    await fourWriters(tmp);
  } finally {
    await tmp.cleanup();
  }
});

test('4 processes logging 10,000 metrics each to PostgreSQL lose none', async (t) => {
  if (!(await pgAvailable())) return t.skip(`PostgreSQL not reachable at ${PG_BASE}`);
  const tmp = tempPostgres();
  try {
    await fourWriters(tmp);
  } finally {
    await tmp.cleanup();
  }
});

test('a crash (uncaught exception) marks the run failed and keeps every point, flushed or buffered (SQLite)', async () => {
  const tmp = tempSqlite();
  try {
    const r = await runWriter(['crash', tmp.url, '300']);
    assert.equal(r.code, 1);
    assert.match(r.err, /simulated crash/);
    const id = /run (\w+)/.exec(r.out)![1];
    const store = await tmp.open();
    const run = await store.getRun(id);
    assert.equal(run.status, 'failed');
    assert.equal((await store.metricSeries(id, 'm')).length, 600);
    await store.close();
  } finally {
    await tmp.cleanup();
  }
});

async function killMidRun(tmp: TempStore): Promise<void> {
  await (await tmp.open()).close();
  const p = spawn(process.execPath, [writer, 'hang', tmp.url, '250'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('flushed')) resolve();
    });
    p.on('close', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  const id = /run (\w+)/.exec(out)![1];
  const closed = new Promise((r) => p.on('close', r));
  p.kill('SIGKILL');
  await closed;
  const store = await tmp.open(); // opening sweeps: the writer's pid is gone
  try {
    const run = await store.getRun(id);
    assert.equal(run.status, 'killed');
    const pts = await store.metricSeries(id, 'm');
    assert.ok(pts.length >= 250, `kept ${pts.length} points, flushed 250`);
    assert.deepEqual(
      pts.map((x) => x.value),
      Array.from({ length: pts.length }, (_, i) => i),
    );
  } finally {
    await store.close();
  }
}

test('a writer killed with SIGKILL leaves its run killed with the flushed metrics intact (SQLite)', async () => {
  const tmp = tempSqlite();
  try {
    await killMidRun(tmp);
  } finally {
    await tmp.cleanup();
  }
});

test('a writer killed with SIGKILL leaves its run killed with the flushed metrics intact (PostgreSQL)', async (t) => {
  if (!(await pgAvailable())) return t.skip(`PostgreSQL not reachable at ${PG_BASE}`);
  const tmp = tempPostgres();
  try {
    await killMidRun(tmp);
  } finally {
    await tmp.cleanup();
  }
});

test('SIGTERM marks the run killed and flushes what was buffered (SQLite)', async () => {
  const tmp = tempSqlite();
  try {
    await (await tmp.open()).close();
    const p = spawn(process.execPath, [writer, 'hang', tmp.url, '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve) =>
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('flushed')) resolve();
      }),
    );
    const closed = new Promise((r) => p.on('close', r));
    p.kill('SIGTERM');
    await closed;
    const id = /run (\w+)/.exec(out)![1];
    const store = await openStore(tmp.url, { sweep: false });
    assert.equal((await store.getRun(id)).status, 'killed');
    assert.ok((await store.metricSeries(id, 'm')).length >= 100);
    await store.close();
  } finally {
    await tmp.cleanup();
  }
});

test('a writer killed with SIGKILL mid-upload leaves a temp file that the next open removes (SQLite)', async () => {
  const tmp = tempSqlite();
  try {
    const store0 = await tmp.open();
    const tmpDir = join(store0.artifactRoot, 'tmp');
    await store0.close();
    const source = join(tmp.dir, 'big.bin');
    writeFileSync(source, '');
    truncateSync(source, 1024 ** 3); // 1 GiB, sparse: copying it takes long enough to be caught
    const p = spawn(process.execPath, [writer, 'upload', tmp.url, source], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise((r) => p.on('close', r));
    let partial: string | undefined;
    for (let i = 0; i < 3000 && !partial; i++) {
      await new Promise((r) => setTimeout(r, 2));
      partial = (existsSync(tmpDir) ? readdirSync(tmpDir) : [])
        .map((n) => join(tmpDir, n))
        .find((f) => {
          try {
            return statSync(f).size > 0;
          } catch {
            return false;
          }
        });
    }
    p.kill('SIGKILL');
    await closed;
    assert.ok(partial, 'the upload was caught while copying');
    assert.ok(existsSync(partial), 'SIGKILL leaves the partial temp file behind');
    const store = await tmp.open(); // opening sweeps dead writers, their runs and their temp files
    try {
      assert.deepEqual(readdirSync(tmpDir), []);
      assert.equal((await store.listRuns({ experiment: 'writer-upload' })).runs[0].status, 'killed');
    } finally {
      await store.close();
    }
  } finally {
    await tmp.cleanup();
  }
});

test('the writer fixture exists beside this test', () => {
  assert.equal(spawnSync(process.execPath, ['--check', writer]).status, 0);
});
