// Issue 25: NUL characters, bad batches, key validation, filter escapes, temp-file and periodic sweeps, alias seq race.
// Each test runs on SQLite and on PostgreSQL (skipped with a message when PostgreSQL is not reachable).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  createTrackingServer,
  openStore,
  registerModel,
  startRun,
  startUi,
  sweepArtifactTemp,
  TrackingError,
  type RunBatch,
  type TrackingStore,
} from '../../src/track/index.js';
import { exposureWarning } from '../../src/cli/track.js';
import { tempFileName } from '../../src/track/artifacts.js';
import { pgAvailable, PG_BASE, tempPostgres, tempSqlite, type TempStore } from './helpers.js';

const opts = { systemMetricsMs: 0, handleExit: false, git: false } as const;
let pgUp: Promise<boolean> | undefined;

/** Runs `fn` on a fresh SQLite store and a fresh PostgreSQL schema. */
function bothStores(title: string, fn: (store: TrackingStore, tmp: TempStore) => Promise<void>): void {
  for (const [kind, make] of [
    ['sqlite', tempSqlite],
    ['postgres', tempPostgres],
  ] as const) {
    test(`${kind}: ${title}`, async (t) => {
      if (kind === 'postgres' && !(await (pgUp ??= pgAvailable())))
        return t.skip(`PostgreSQL not reachable at ${PG_BASE}`);
      const tmp = make();
      const store = await tmp.open();
      try {
        await fn(store, tmp);
      } finally {
        await store.close();
        await tmp.cleanup();
      }
    });
  }
}

const isInputError =
  (pattern: RegExp) =>
  (err: unknown): boolean =>
    err instanceof TrackingError && err.status === 400 && pattern.test(err.message);

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

bothStores('a NUL in a tag or param is refused where it is logged, and every point is stored', async (store) => {
  const run = await startRun(store, { ...opts, flushIntervalMs: 10 });
  for (let i = 0; i < 100; i++) run.logMetric('m', i, i);
  assert.throws(() => run.setTag('bad', 'a\u0000b'), isInputError(/tag 'bad' contains a NUL/));
  assert.throws(() => run.logParams({ p: 'x\u0000' }), isInputError(/param 'p' contains a NUL/));
  for (let i = 100; i < 1000; i++) {
    run.logMetric('m', i, i);
    if (i % 100 === 0) await run.flush();
  }
  await run.end();
  const got = await store.getRun(run.id);
  assert.equal(got.status, 'finished');
  assert.equal((await store.metricSeries(run.id, 'm')).length, 1000);
  await assert.rejects(startRun(store, { ...opts, tags: { t: '\u0000' } }), isInputError(/NUL/));
});

bothStores('the store itself refuses NUL text the same way (REST and library paths alike)', async (store) => {
  const run = await startRun(store, opts);
  const batch = (b: Partial<RunBatch>): RunBatch => ({ metrics: [], heartbeatAt: Date.now(), ...b });
  await assert.rejects(
    store.writeBatch(run.id, batch({ tags: { k: 'v\u0000' } })),
    isInputError(/tag 'k' contains a NUL/),
  );
  await assert.rejects(
    store.writeBatch(run.id, batch({ params: { k: '\u0000' } })),
    isInputError(/param 'k' contains a NUL/),
  );
  await assert.rejects(store.setNotes(run.id, 'n\u0000'), isInputError(/notes contains a NUL/));
  await assert.rejects(store.listRuns({ filter: 'name = "a\u0000"' }), isInputError(/filter contains a NUL/));
  await assert.rejects(store.listRuns({ experiment: 'e\u0000' }), isInputError(/experiment contains a NUL/));
  await assert.rejects(store.listColumns('e\u0000'), isInputError(/experiment contains a NUL/));
  // Nothing half-written, and the store still works.
  assert.deepEqual((await store.getRun(run.id)).tags, {});
  await store.writeBatch(run.id, batch({ tags: { k: 'fine' } }));
  assert.equal((await store.getRun(run.id)).tags.k, 'fine');
  await run.end();
});

bothStores('a batch the store refuses is isolated and reported; later flushes and end() go on', async (store) => {
  // A store that refuses one tag for its content, as PostgreSQL refused a NUL: the rest of the batch must survive.
  const picky: TrackingStore = Object.create(store) as TrackingStore;
  picky.writeBatch = async (runId, b) => {
    if (b.tags && 'poison' in b.tags) throw new TrackingError("tag 'poison' refused by the store");
    return store.writeBatch(runId, b);
  };
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
  const run = await startRun(picky, { ...opts, flushIntervalMs: 60_000 });
  try {
    for (let i = 0; i < 100; i++) run.logMetric('m', i, i);
    run.setTag('poison', 'x');
    run.setTag('good', 'y');
    run.logParams({ lr: 0.1 });
    await assert.rejects(run.flush(), /tag 'poison' was not stored/);
    for (let i = 100; i < 1000; i++) run.logMetric('m', i, i);
    await run.flush();
    run.setTag('poison', 'again');
    await run.end();
  } finally {
    process.stderr.write = write;
  }
  const got = await store.getRun(run.id);
  assert.equal(got.status, 'finished');
  assert.equal((await store.metricSeries(run.id, 'm')).length, 1000);
  assert.deepEqual(got.tags, { good: 'y' });
  assert.deepEqual(got.params, { lr: 0.1 });
  assert.deepEqual(
    run.rejected.map((r) => r.what),
    ["tag 'poison'", "tag 'poison'"],
  );
  assert.ok(
    errors.some((e) => /refused tag 'poison'/.test(e)),
    errors.join(''),
  );
});

bothStores('the REST API answers NUL in filter=, experiment=, notes and tags with 400 and a message', async (store) => {
  const run = await startRun(store, opts);
  const app = createTrackingServer({ store, writeToken: 't' });
  try {
    for (const url of [
      '/api/runs?filter=' + encodeURIComponent('name = "\u0000"'),
      '/api/runs?experiment=%00',
      '/api/columns?experiment=%00',
    ]) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 400, url);
      assert.match(r.json().error, /NUL/);
    }
    for (const payload of [{ notes: 'a\u0000' }, { tags: { k: 'a\u0000' } }]) {
      const r = await app.inject({
        method: 'PATCH',
        url: `/api/runs/${run.id}`,
        headers: { 'x-lathe-token': 't' },
        payload,
      });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.match(r.json().error, /NUL/);
    }
  } finally {
    await app.close();
    await run.end();
  }
});

bothStores('PATCH tags and the library share one key validation', async (store) => {
  const run = await startRun(store, opts);
  const app = createTrackingServer({ store, writeToken: 't' });
  try {
    for (const key of ['', 'k'.repeat(5000), 'a\nb']) {
      assert.throws(() => run.setTag(key, 'v'), isInputError(/tag name/));
      await assert.rejects(
        store.writeBatch(run.id, { metrics: [], tags: { [key]: 'v' }, heartbeatAt: Date.now() }),
        isInputError(/tag name/),
      );
      const r = await app.inject({
        method: 'PATCH',
        url: `/api/runs/${run.id}`,
        headers: { 'x-lathe-token': 't' },
        payload: { tags: { [key]: 'v' } },
      });
      assert.equal(r.statusCode, 400, JSON.stringify(key.slice(0, 10)));
      assert.match(r.json().error, /tag name .* must be 1-250 characters without control characters/);
    }
    assert.deepEqual((await store.getRun(run.id)).tags, {});
  } finally {
    await app.close();
    await run.end();
  }
});

bothStores('filter strings escape quotes with a backslash', async (store) => {
  const tricky = `he said "it's" \\ done`;
  const a = await startRun(store, { ...opts, name: 'a', tags: { q: tricky } });
  const b = await startRun(store, { ...opts, name: 'b', tags: { q: 'plain' } });
  const names = async (filter: string): Promise<string[]> => (await store.listRuns({ filter })).runs.map((r) => r.name);
  assert.deepEqual(await names(`tags.q = "he said \\"it's\\" \\\\ done"`), ['a']);
  assert.deepEqual(await names(`tags.q = 'he said "it\\'s" \\\\ done'`), ['a']);
  assert.deepEqual(await names(`tags.q ~ "\\"it's\\""`), ['a']);
  assert.deepEqual(await names(`tags.q = 'plain' and name = "b"`), ['b']);
  await assert.rejects(store.listRuns({ filter: 'tags.q = "open \\"' }), isInputError(/unterminated string/));
  await a.end();
  await b.end();
});

bothStores('opening a store removes artifact temp files of dead writers, not of live ones', async (store, tmp) => {
  const dir = join(store.artifactRoot, 'tmp');
  mkdirSync(dir, { recursive: true });
  const dead = join(dir, `${deadPid()}-0123456789ab`); // an older writer's name (no host tag)
  const deadTagged = join(dir, tempFileName(deadPid()));
  const mine = join(dir, tempFileName());
  const foreign = join(
    dir,
    `${deadPid()}-0123456789ab-${tempFileName().endsWith('-ffffffff') ? 'fffffffe' : 'ffffffff'}`,
  ); // another host: kept until stale
  for (const f of [dead, deadTagged, mine, foreign]) writeFileSync(f, 'partial upload');
  const again = await openStore(tmp.url);
  await again.close();
  assert.equal(existsSync(dead), false, 'dead writer temp file removed');
  assert.equal(existsSync(mine), true, 'own temp file kept');
  assert.equal(existsSync(foreign), true, "another host's fresh temp file kept");
  assert.equal(existsSync(deadTagged), false);
  assert.deepEqual(sweepArtifactTemp(store.artifactRoot, { foreignStaleMs: -1 }), [foreign]);
});

bothStores(
  'a running lathe ui re-sweeps: a SIGKILLed writer shows killed without reopening the store',
  async (store) => {
    const id = 'deadwriter0000000000000000000001';
    await store.createRun({
      id,
      experiment: 'e',
      name: 'dead',
      startTime: Date.now(),
      host: hostname(),
      pid: deadPid(),
      params: {},
      tags: {},
      notes: '',
      lineage: { versions: {} },
    });
    const ui = await startUi({ store, port: 0, sweepIntervalMs: 50 });
    try {
      const deadline = Date.now() + 5000;
      while ((await store.getRun(id)).status === 'running' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal((await store.getRun(id)).status, 'killed');
    } finally {
      await ui.app.close();
    }
  },
);

test('postgres: concurrent moves of two aliases of one model never repeat an alias-history seq', async (t) => {
  if (!(await (pgUp ??= pgAvailable()))) return t.skip(`PostgreSQL not reachable at ${PG_BASE}`);
  const tmp = tempPostgres();
  const [a, b] = [await tmp.open(), await tmp.open()];
  try {
    const onnx = join(tmp.dir, 'm.onnx');
    writeFileSync(onnx, 'onnx');
    await registerModel(a, { name: 'm', onnx });
    await registerModel(a, { name: 'm', onnx });
    const moves = (s: TrackingStore, alias: string): Promise<void>[] =>
      Array.from({ length: 60 }, (_, i) => s.setAlias('m', alias, 1 + (i % 2)));
    await Promise.all([
      ...moves(a, 'champion'),
      ...moves(b, 'challenger'),
      ...moves(a, 'shadow'),
      ...moves(b, 'canary'),
    ]);
    const schema = new URL(tmp.url).searchParams.get('schema')!;
    const c = new pg.Client({ connectionString: PG_BASE });
    await c.connect();
    try {
      const rows = (await c.query(`SELECT seq FROM ${schema}.alias_history WHERE name = 'm' ORDER BY seq`)).rows.map(
        (r: { seq: string }) => Number(r.seq),
      );
      assert.equal(rows.length, 240);
      assert.deepEqual(
        rows,
        Array.from({ length: 240 }, (_, i) => i + 1),
        'seq is 1..240 without repeats',
      );
    } finally {
      await c.end();
    }
  } finally {
    await a.close();
    await b.close();
    await tmp.cleanup();
  }
});

test('the API answers only allowed Host names (DNS rebinding) and writes need the token', async () => {
  const tmp = tempSqlite();
  const store = await tmp.open();
  const run = await startRun(store, opts);
  const app = createTrackingServer({ store, writeToken: 'sekret', allowedHosts: ['lathe.lan'] });
  const noToken = createTrackingServer({ store });
  try {
    const get = async (host: string): Promise<number> =>
      (await app.inject({ method: 'GET', url: '/api/runs', headers: { host } })).statusCode;
    for (const host of ['127.0.0.1:5005', 'localhost:5005', 'LOCALHOST', '[::1]:5005', 'lathe.lan:80'])
      assert.equal(await get(host), 200, host);
    for (const host of ['evil.example:5005', 'attacker.test', '127.0.0.1.evil.example', 'localhost.evil.example:5005'])
      assert.equal(await get(host), 403, host);
    const denied = await app.inject({ method: 'GET', url: '/', headers: { host: 'rebind.evil.example:5005' } });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().error, /Host 'rebind\.evil\.example:5005' is not allowed/);
    const patch = (headers: Record<string, string>, server = app) =>
      server.inject({
        method: 'PATCH',
        url: `/api/runs/${run.id}`,
        headers: { host: 'localhost', ...headers },
        payload: { notes: 'n' },
      });
    assert.equal((await patch({})).statusCode, 401);
    assert.match((await patch({})).json().error, /needs the write token/);
    assert.equal((await patch({ 'x-lathe-token': 'wrong!' })).statusCode, 401);
    assert.equal((await patch({ 'x-lathe-token': 'sekret' })).statusCode, 200);
    assert.equal((await patch({ authorization: 'Bearer sekret' })).statusCode, 200);
    assert.equal(
      (
        await app.inject({
          method: 'PUT',
          url: '/api/models/m/aliases/a',
          headers: { host: 'localhost' },
          payload: { version: 1 },
        })
      ).statusCode,
      401,
    );
    assert.equal(
      (await app.inject({ method: 'DELETE', url: '/api/models/m/aliases/a', headers: { host: 'localhost' } }))
        .statusCode,
      401,
    );
    const off = await patch({ 'x-lathe-token': 'sekret' }, noToken);
    assert.equal(off.statusCode, 403);
    assert.match(off.json().error, /without a write token/);
    assert.equal((await store.getRun(run.id)).notes, 'n');
  } finally {
    await app.close();
    await noToken.close();
    await run.end();
    await store.close();
    await tmp.cleanup();
  }
});

test('startUi prints a token URL, takes LATHE_UI_TOKEN, and allows its --host name over real HTTP', async () => {
  const tmp = tempSqlite();
  const store = await tmp.open();
  const before = process.env.LATHE_UI_TOKEN;
  process.env.LATHE_UI_TOKEN = 'from-env-token';
  const ui = await startUi({ store, port: 0, host: '127.0.0.1', allowedHosts: ['lathe.lan'], sweepIntervalMs: 0 });
  if (before === undefined) delete process.env.LATHE_UI_TOKEN;
  else process.env.LATHE_UI_TOKEN = before;
  try {
    assert.equal(ui.token, 'from-env-token');
    assert.equal(ui.openUrl, `${ui.url}/?token=from-env-token`);
    const port = Number(new URL(ui.url).port);
    const status = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/api/health', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status(`127.0.0.1:${port}`), 200);
    assert.equal(await status(`lathe.lan:${port}`), 200);
    assert.equal(await status(`evil.example:${port}`), 403);
    const other = await startUi({ store, port: 0, sweepIntervalMs: 0 });
    assert.match(other.token, /^[0-9a-f]{32}$/);
    assert.notEqual(other.token, ui.token);
    await other.app.close();
  } finally {
    await ui.app.close();
    await store.close();
    await tmp.cleanup();
  }
});

test('lathe ui warns loudly when it listens beyond loopback', () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.5'])
    assert.match(exposureWarning(host) ?? '', /WARNING: lathe ui listens on .* not on loopback/, host);
  for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2'])
    assert.equal(exposureWarning(host), undefined, host);
});
