// The REST API, in process (fastify inject).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { createTrackingServer, type TrackingStore } from '../../src/track/index.js';
import { tempSqlite } from './helpers.js';
import { seedStore, seedStudies } from './seed.js';

const tmp = tempSqlite();
let store: TrackingStore;
let app: FastifyInstance;
let runIds: string[];
const TOKEN = 'test-token-0123';
const auth = { 'x-lathe-token': TOKEN };

before(async () => {
  store = await tmp.open();
  runIds = (await seedStore(store, tmp.dir)).runIds;
  app = createTrackingServer({ store, studies: seedStudies(), writeToken: TOKEN });
});
after(async () => {
  await app.close();
  await store.close();
  await tmp.cleanup();
});

// biome-ignore lint/suspicious/noExplicitAny: the body is whatever JSON (or text) the endpoint under test returns; each test reads that endpoint's fields, and a wrong one fails its assertion
const get = async (url: string): Promise<{ status: number; body: any }> => {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.headers['content-type']?.toString().includes('json') ? r.json() : r.body };
};

test('serves the UI page and its scripts', async () => {
  assert.match((await get('/')).body, /<main id="view">/);
  assert.match((await get('/ui/app.js')).body, /runsPage/);
  assert.match((await get('/ui/charts.js')).body, /function plot\(/);
  // the charting library is served from the installed uplot package (no CDN), loaded by charts.js on the first chart
  const uplot = await app.inject({ method: 'GET', url: '/ui/uplot.js' });
  assert.equal(uplot.statusCode, 200);
  assert.match(uplot.headers['content-type'] as string, /javascript/);
  assert.match(uplot.body, /uPlot/);
  assert.match((await app.inject({ method: 'GET', url: '/ui/uplot.css' })).body, /\.uplot/);
  assert.doesNotMatch((await get('/')).body, /https?:\/\//, 'no CDN');
});

test('GET /api/runs pages, filters and sorts on the server', async () => {
  const all = await get('/api/runs?limit=5');
  assert.equal(all.status, 200);
  assert.equal(all.body.total, 12);
  assert.equal(all.body.runs.length, 5);
  const mlp = await get('/api/runs?experiment=fmnist-mlp&sort=params.lr&order=asc&limit=100');
  assert.equal(mlp.body.total, 8);
  assert.deepEqual(
    mlp.body.runs.map((r: { params: { lr: number } }) => r.params.lr),
    [0.001, 0.001, 0.003, 0.003, 0.01, 0.01, 0.03, 0.03],
  );
  const f = await get('/api/runs?filter=' + encodeURIComponent('status = failed'));
  assert.deepEqual(
    f.body.runs.map((r: { name: string }) => r.name),
    ['trial-5'],
  );
  const cols = await get('/api/columns?experiment=fmnist-cnn');
  assert.deepEqual(cols.body.params, ['batch', 'lr', 'optimizer']);
  assert.deepEqual((await get('/api/experiments')).body.experiments.map((e: { name: string }) => e.name).sort(), [
    'fmnist-cnn',
    'fmnist-mlp',
  ]);
});

test('bad requests get clear 4xx errors', async () => {
  const cases: [string, number, RegExp][] = [
    ['/api/runs/does-not-exist', 404, /run 'does-not-exist' not found/],
    ['/api/runs?filter=' + encodeURIComponent('params.lr <'), 400, /expected a value/],
    ['/api/runs?limit=5000', 400, /'limit' must be an integer in 1..1000/],
    ['/api/runs?order=sideways', 400, /'order'/],
    ['/api/runs/does-not-exist/series?key=x', 404, /not found/],
    ['/api/compare?key=x', 400, /'runs'/],
    ['/api/resolve?uri=' + encodeURIComponent('models:/fmnist-mlp@@x'), 400, /malformed model URI/],
    ['/api/resolve?uri=' + encodeURIComponent('models:/fmnist-mlp@staging'), 404, /no alias 'staging'/],
    ['/api/models/nope', 404, /'nope' not found/],
    ['/api/models/fmnist-mlp/versions/abc', 400, /positive integer/],
    ['/api/studies/nope', 404, /study 'nope' not found/],
    ['/api/nothing-here', 404, /no route/],
  ];
  for (const [url, status, pattern] of cases) {
    const r = await get(url);
    assert.equal(r.status, status, url);
    assert.match(r.body.error, pattern, url);
  }
});

test('artifacts download by run path; traversal is a 400, unknown paths a 404', async () => {
  const id = runIds[0];
  const list = await get(`/api/runs/${id}/artifacts`);
  assert.deepEqual(
    list.body.artifacts.map((a: { path: string }) => a.path),
    ['model.onnx', 'reports/summary.json'],
  );
  const file = await app.inject({ method: 'GET', url: `/api/runs/${id}/artifacts/reports/summary.json` });
  assert.equal(file.statusCode, 200);
  assert.equal(file.body, '{"ok":true}');
  assert.equal(file.headers['content-security-policy'], 'sandbox');
  for (const url of [
    `/api/runs/${id}/artifacts/..%2F..%2Ftracking.db`,
    `/api/runs/${id}/artifacts/reports/..%2F..%2F..%2Fetc%2Fpasswd`,
    `/api/runs/${id}/artifacts/%2Fetc%2Fpasswd`,
  ]) {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 400, url);
    assert.match(r.json().error, /rejected/);
  }
  assert.equal((await get(`/api/runs/${id}/artifacts/nope.bin`)).status, 404);
});

test('series, comparison and run updates', async () => {
  const s = await get(`/api/runs/${runIds[1]}/series?key=train%2Floss&max_points=10`);
  assert.equal(s.body.points.length, 10);
  assert.equal(s.body.points[0][0], 0);
  assert.equal(s.body.points[9][0], 59);
  const c = await get(`/api/compare?runs=${runIds[0]},${runIds[1]}&key=val%2Facc`);
  assert.deepEqual(
    c.body.series.map((x: { name: string }) => x.name),
    ['trial-0', 'trial-1'],
  );
  assert.equal(c.body.series[0].points.length, 60);
  const p = await app.inject({
    method: 'PATCH',
    headers: auth,
    url: `/api/runs/${runIds[2]}`,
    payload: { notes: 'looks good', tags: { reviewed: 'yes' } },
  });
  assert.equal(p.statusCode, 200);
  assert.equal(p.json().notes, 'looks good');
  assert.equal(p.json().tags.reviewed, 'yes');
  const bad = await app.inject({
    method: 'PATCH',
    headers: auth,
    url: `/api/runs/${runIds[2]}`,
    payload: { notes: 5 },
  });
  assert.equal(bad.statusCode, 400);
});

test('registry endpoints: models, versions, aliases with history, URI resolution', async () => {
  const m = await get('/api/models/fmnist-mlp');
  assert.deepEqual(m.body.model.aliases, { champion: 1, challenger: 2 });
  assert.equal(m.body.versions.length, 2);
  const moved = await app.inject({
    method: 'PUT',
    headers: auth,
    url: '/api/models/fmnist-mlp/aliases/champion',
    payload: { version: 2 },
  });
  assert.deepEqual(moved.json().aliases, { champion: 2, challenger: 2 });
  const del = await app.inject({ method: 'DELETE', headers: auth, url: '/api/models/fmnist-mlp/aliases/challenger' });
  assert.deepEqual(del.json().aliases, { champion: 2 });
  const h = await get('/api/models/fmnist-mlp');
  assert.deepEqual(
    h.body.history.map((e: { alias: string; version: number | null }) => [e.alias, e.version]),
    [
      ['champion', 1],
      ['challenger', 2],
      ['champion', 2],
      ['challenger', null],
    ],
  );
  const r = await get('/api/resolve?uri=' + encodeURIComponent('models:/fmnist-mlp@champion'));
  assert.equal(r.body.version, 2);
  assert.match(r.body.onnxPath, /sha256/);
  const noVersion = await app.inject({
    method: 'PUT',
    headers: auth,
    url: '/api/models/fmnist-mlp/aliases/champion',
    payload: { version: 99 },
  });
  assert.equal(noVersion.statusCode, 404);
});

test('study endpoints compute history, importance and Pareto front', async () => {
  const list = await get('/api/studies');
  assert.deepEqual(
    list.body.studies.map((s: { id: string }) => s.id),
    ['mlp-lr', 'size-vs-loss'],
  );
  const s = await get('/api/studies/mlp-lr');
  assert.equal(s.body.trials.length, 40);
  assert.equal(s.body.history.length, 36); // 4 pruned trials have no value
  assert.equal(s.body.importance[0].param, 'lr');
  const multi = await get('/api/studies/size-vs-loss');
  assert.ok(multi.body.pareto.length >= 1 && multi.body.pareto.length < 40);
});
