import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { runCli } from '../util/cli.js';
import { openStore } from '../../src/track/open.js';
import { objectiveFixture, tempDir, writeConfig } from './helpers.js';

const cfg = (extra: Record<string, unknown> = {}) => ({
  study: 'cli',
  direction: 'minimize',
  n_trials: 12,
  objective: `${objectiveFixture}#objective`,
  sampler: { type: 'tpe', seed: 3 },
  space: { x: { type: 'float', low: -5, high: 5 }, y: { type: 'float', low: -5, high: 5 } },
  ...extra,
});

test('lathe tune runs a study with 2 worker processes on SQLite and exports the best trial', () => {
  const d = tempDir();
  try {
    const path = writeConfig(d.dir, cfg({ export: { paths: { x: 'optimizer.lr' } } }));
    const out = join(d.dir, 'best.yaml');
    const r = runCli([
      'tune',
      path,
      '--workers',
      '2',
      '--storage',
      `sqlite:///${join(d.dir, 's.db')}`,
      '--json',
      '--export-best',
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(s.trials.complete, 12);
    assert.equal(s.best.length, 1);
    const exported = YAML.parse(readFileSync(out, 'utf8'));
    assert.equal(exported.optimizer.lr, s.best[0].params.x);
  } finally {
    d.cleanup();
  }
});

test('lathe tune: bad input exits 2 with a message naming the field, storage or trial', () => {
  const d = tempDir();
  try {
    const cases: [Record<string, unknown>, string[], RegExp][] = [
      [cfg({ n_trials: -1 }), [], /n_trials: Too small/i],
      [cfg({ space: { x: { type: 'float', low: 0, high: 1, log: true } } }), [], /space\.x: log scale needs low > 0/],
      [cfg({ sampler: { type: 'tpe', n_startup: 3 } }), [], /sampler: Unrecognized key.*n_startup/],
      [cfg({ pruner: 'fancy' }), [], /pruner\.type: unknown pruner 'fancy'/],
      [
        cfg(),
        ['--storage', 'postgres://postgres@127.0.0.1:1/test'],
        /cannot reach PostgreSQL storage at 127\.0\.0\.1:1\/test/,
      ],
      [cfg(), ['--storage', 'memory:', '--workers', '2'], /'memory:' cannot be shared by 2 worker processes/],
      [cfg({ objective: './nope.js#f' }), [], /objective: module '.*nope\.js' does not exist/],
    ];
    for (const [c, args, re] of cases) {
      const path = writeConfig(d.dir, c);
      const r = runCli(['tune', path, '--storage', `sqlite:///${join(d.dir, 'bad.db')}`, ...args]);
      assert.equal(r.status, 2, `${re}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  } finally {
    d.cleanup();
  }
});

test('lathe tune: an objective that throws exits 2 naming the trial; the study keeps it FAILED', () => {
  const d = tempDir();
  try {
    const path = writeConfig(d.dir, cfg());
    const url = `sqlite:///${join(d.dir, 't.db')}`;
    const r = runCli(['tune', path, '--storage', url], { env: { LATHE_TUNE_THROW: '2' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /trial 2 failed: boom from the objective/);
    const again = runCli(['tune', path, '--storage', url, '--json']);
    assert.equal(again.status, 0, again.stderr);
    const s = JSON.parse(again.stdout.trim().split('\n').pop()!);
    assert.deepEqual([s.trials.complete, s.trials.failed, s.trials.running], [11, 1, 0]);
  } finally {
    d.cleanup();
  }
});

test('lathe tune with LATHE_TRACKING_URL: every trial is a tracking run (params, value, state), also from worker processes', async () => {
  const d = tempDir();
  try {
    const path = writeConfig(d.dir, cfg({ n_trials: 6 }));
    const tracking = join(d.dir, 'tracking');
    for (const workers of ['1', '2']) {
      const r = runCli(
        ['tune', path, '--workers', workers, '--storage', `sqlite:///${join(d.dir, `w${workers}.db`)}`, '--json'],
        { env: { LATHE_TRACKING_URL: tracking } },
      );
      assert.equal(r.status, 0, r.stderr);
    }
    const store = await openStore(tracking, { sweep: false });
    try {
      const page = await store.listRuns({ experiment: 'cli', limit: 100 });
      assert.equal(page.total, 12, 'one run per trial, 6 from one worker and 6 from two processes');
      for (const run of page.runs) {
        assert.equal(run.status, 'finished');
        assert.equal(run.tags['tune.state'], 'COMPLETE');
        assert.equal(typeof run.params.x, 'number');
        assert.equal((await store.metricSeries(run.id, 'tune/value')).length, 1);
      }
    } finally {
      await store.close();
    }
  } finally {
    d.cleanup();
  }
});
