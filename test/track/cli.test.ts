// `lathe track`, `lathe registry` and `lathe ui` through the compiled CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli } from '../util/cli.js';
import { openStore, startRun } from '../../src/track/index.js';
import { tempSqlite } from './helpers.js';

test('track and registry commands over a store, with clear errors', async () => {
  const tmp = tempSqlite();
  try {
    const store = await openStore(tmp.url);
    const run = await startRun(store, {
      experiment: 'cli',
      params: { lr: 0.5 },
      git: false,
      systemMetricsMs: 0,
      handleExit: false,
    });
    run.logMetrics({ loss: 0.25 }, 3);
    await run.end();
    await store.close();
    const u = ['--tracking-url', tmp.url];
    const onnx = join(tmp.dir, 'm.onnx');
    writeFileSync(onnx, 'onnx');

    const runs = runCli(['track', 'runs', ...u, '--json', '--filter', 'params.lr > 0.1']);
    assert.equal(runs.status, 0, runs.stderr);
    assert.equal(JSON.parse(runs.stdout).runs[0].id, run.id);
    assert.match(runCli(['track', 'runs', ...u]).stdout, /1 runs[\s\S]*loss=0.25/);
    assert.deepEqual(
      JSON.parse(runCli(['track', 'metrics', run.id, 'loss', ...u, '--json']).stdout).map(
        (p: { step: number }) => p.step,
      ),
      [3],
    );
    const art = runCli(['track', 'log-artifact', run.id, onnx, '--name', 'model/m.onnx', ...u]);
    assert.equal(art.status, 0, art.stderr);
    assert.match(runCli(['track', 'artifacts', run.id, ...u]).stdout, /model\/m\.onnx\tonnx\t4\tsha256:/);

    const reg = runCli([
      'registry',
      'register',
      'demo',
      '--run',
      run.id,
      '--onnx',
      'model/m.onnx',
      '--alias',
      'champion',
      ...u,
    ]);
    assert.equal(reg.status, 0, reg.stderr);
    assert.match(reg.stdout, /models:\/demo\/1/);
    assert.equal(runCli(['registry', 'register', 'demo', '--onnx', onnx, ...u]).status, 0);
    assert.equal(runCli(['registry', 'alias', 'demo', 'challenger', '2', ...u]).status, 0);
    assert.match(runCli(['registry', 'list', ...u]).stdout, /demo\tv2\t@champion=v1 @challenger=v2/);
    const resolved = JSON.parse(runCli(['registry', 'resolve', 'models:/demo@challenger', ...u, '--json']).stdout);
    assert.equal(resolved.version, 2);
    assert.match(runCli(['registry', 'history', 'demo', ...u]).stdout, /@champion\tv1[\s\S]*@challenger\tv2/);

    const errors: [string[], RegExp][] = [
      [['track', 'show', 'nope', ...u], /run 'nope' not found/],
      [['track', 'runs', ...u, '--filter', 'params.lr ='], /expected a value/],
      [['track', 'runs', ...u, '--limit', 'x'], /--limit must be an integer/],
      [
        ['track', 'log-artifact', run.id, onnx, '--name', '../../etc/x', ...u],
        /artifact path '..\/..\/etc\/x' rejected/,
      ],
      [['track', 'log-artifact', run.id, onnx, '--name', 'model/m.onnx', ...u], /already exists/],
      [['registry', 'resolve', 'models:/demo@', ...u], /malformed model URI 'models:\/demo@'/],
      [['registry', 'resolve', 'models:/demo@staging', ...u], /no alias 'staging'/],
      [['registry', 'alias', 'demo', 'champion', '9', ...u], /no version 9/],
      [['track', 'runs', '--tracking-url', 'ftp://x/y'], /unsupported tracking URL/],
    ];
    for (const [args, pattern] of errors) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
    }
    const big = runCli(['track', 'log-artifact', run.id, onnx, '--name', 'big.onnx', ...u], {
      env: { LATHE_MAX_ARTIFACT_BYTES: '2' },
    });
    assert.equal(big.status, 2);
    assert.match(big.stderr, /over the limit of 2 bytes/);
  } finally {
    await tmp.cleanup();
  }
});

test('lathe ui listens on 127.0.0.1 and answers the REST API', async () => {
  const tmp = tempSqlite();
  const ui = await startCli(['ui', '--port', '0', '--tracking-url', tmp.url], {
    env: { LATHE_UI_TOKEN: 'cli-token-1' },
  });
  const url = ui.url;
  try {
    const r = await fetch(url + '/api/runs');
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { total: 0, offset: 0, runs: [] });
    assert.equal((await fetch(url + '/api/runs/zzz')).status, 404);
    // Writes need the token (here from LATHE_UI_TOKEN): without it 401 before the handler, with it the handler answers.
    const put = (headers: Record<string, string>) =>
      fetch(url + '/api/models/m/aliases/a', {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ version: 1 }),
      });
    assert.equal((await put({})).status, 401);
    assert.equal((await put({ 'x-lathe-token': 'cli-token-1' })).status, 404); // no model 'm': the write got through
  } finally {
    await ui.stop();
    await tmp.cleanup();
  }
});

test('a readable run name works wherever an id does; train_loss is logged as train/loss; register reads the signature', async () => {
  const tmp = tempSqlite();
  try {
    const store = await openStore(tmp.url);
    const run = await startRun(store, { experiment: 'names', git: false, systemMetricsMs: 0, handleExit: false });
    run.logMetrics({ train_loss: 0.5, 'val/acc': 0.9 }, 1);
    await run.end();
    const name = (await store.getRun(run.id)).name;
    assert.match(name, /^[a-z]+-[a-z]+-\d+$/);
    assert.deepEqual(await store.metricKeys(name), ['train/loss', 'val/acc']);
    await store.close();
    const u = ['--tracking-url', tmp.url];
    const shown = runCli(['track', 'show', name, ...u, '--json']);
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).id, run.id);
    const pts = runCli(['track', 'metrics', name, 'train_loss', ...u, '--json']);
    assert.equal(pts.status, 0, pts.stderr);
    assert.deepEqual(
      JSON.parse(pts.stdout).map((p: { value: number }) => p.value),
      [0.5],
    );
    assert.match(runCli(['track', 'show', 'no-such-run', ...u]).stderr, /run 'no-such-run' not found/);
    const onnx = new URL('../../../test/fixtures/serve/repo/mlp/1/model.onnx', import.meta.url).pathname;
    const reg = runCli(['registry', 'register', 'sig', '--run', name, '--onnx', onnx, ...u, '--json']);
    assert.equal(reg.status, 0, reg.stderr);
    const v = JSON.parse(reg.stdout) as { runId: string; signature: { inputs: { name: string; dtype: string }[] } };
    assert.equal(v.runId, run.id);
    assert.ok(v.signature.inputs.length > 0 && v.signature.inputs[0].dtype === 'float32', JSON.stringify(v.signature));
  } finally {
    await tmp.cleanup();
  }
});
