// The UI's study views over a real `lathe tune` storage (SQLite file): trials written by a study appear with their
// states, parameters and values, and the CLI serves them with `lathe ui --studies <url>`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrackingServer } from '../../src/track/index.js';
import { TuneStudySource } from '../../src/cli/tune-study-source.js';
import { Study, TrialPruned, paramImportance, randomSampler } from '../../src/tune/index.js';
import { runCli, startCli } from '../util/cli.js';
import { tempSqlite } from '../track/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lathe-tune-ui-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const storageUrl = `sqlite:${join(dir, 'tune.db')}`;

async function writeStudy(): Promise<void> {
  const study = await Study.create({
    name: 'quad',
    storage: storageUrl,
    sampler: randomSampler({ seed: 1 }),
    direction: 'minimize',
  });
  await study.optimize(
    async (trial) => {
      const x = trial.suggestFloat('x', -3, 3);
      const kind = trial.suggestCategorical('kind', ['a', 'b']);
      if (trial.number === 3) throw new TrialPruned();
      if (trial.number === 5) throw new Error('diverged');
      return x * x + (kind === 'b' ? 1 : 0);
    },
    { nTrials: 8, catch: true },
  );
  await study.close();
}

test('TuneStudySource: studies, trial states, params and values from a SQLite tune storage; the REST API computes history', async () => {
  await writeStudy();
  const source = await TuneStudySource.open(storageUrl);
  try {
    const list = await source.listStudies();
    assert.deepEqual(
      list.map((s) => [s.id, s.trials, s.directions]),
      [['quad', 8, ['minimize']]],
    );
    const trials = await source.trials('quad');
    assert.deepEqual(
      trials.map((t) => t.number),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(trials[3].state, 'PRUNED');
    assert.equal(trials[5].state, 'FAILED');
    assert.equal(trials[5].values, null);
    for (const t of trials.filter((t) => t.state === 'COMPLETE')) {
      const x = t.params.x as number;
      assert.ok(Math.abs(t.values![0] - (x * x + (t.params.kind === 'b' ? 1 : 0))) < 1e-12, `trial ${t.number} value`);
    }
    await assert.rejects(source.getStudy('nope'), /study 'nope' not found/);

    const tmp = tempSqlite();
    const store = await tmp.open();
    const app = createTrackingServer({ store, studies: source });
    try {
      const r = await app.inject({ method: 'GET', url: '/api/studies/quad' });
      assert.equal(r.statusCode, 200);
      const body = r.json() as { trials: unknown[]; history: { value: number; best: number }[] };
      assert.equal(body.trials.length, 8);
      assert.equal(body.history.length, 6, 'complete trials only');
      assert.equal((await app.inject({ method: 'GET', url: '/api/studies/nope' })).statusCode, 404);
    } finally {
      await app.close();
      await store.close();
      await tmp.cleanup();
    }
  } finally {
    await source.close();
  }
  await assert.rejects(TuneStudySource.open(`sqlite:${join(dir, 'missing.db')}`), /no such file/);
});

test('lathe ui --studies serves a tune storage; a missing storage is a clear error (exit 2)', async () => {
  const tmp = tempSqlite();
  const ui = await startCli(['ui', '--port', '0', '--tracking-url', tmp.url, '--studies', storageUrl]);
  try {
    const r = await fetch(ui.url + '/api/studies');
    assert.equal(r.status, 200);
    assert.deepEqual(
      ((await r.json()) as { studies: { id: string }[] }).studies.map((s) => s.id),
      ['quad'],
    );
  } finally {
    await ui.stop();
    await tmp.cleanup();
  }
  const bad = runCli(['ui', '--port', '0', '--studies', `sqlite:${join(dir, 'missing.db')}`]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--studies: cannot open tune storage .*missing\.db/);
});

test('the study page reports the importance lathe tune prints (one function), log scales and intermediate values', async () => {
  const url = `sqlite:${join(dir, 'imp.db')}`;
  const study = await Study.create({
    name: 'imp',
    storage: url,
    sampler: randomSampler({ seed: 3 }),
    direction: 'minimize',
  });
  await study.optimize(
    async (trial) => {
      const lr = trial.suggestFloat('lr', 1e-5, 1e-1, { log: true });
      const width = trial.suggestInt('width', 16, 256);
      const opt = trial.suggestCategorical('opt', ['sgd', 'adam', 'lion']);
      for (let step = 0; step < 3; step++) await trial.report(Math.abs(Math.log10(lr) + 3) / (step + 1), step);
      return Math.abs(Math.log10(lr) + 3) + width / 1000 + (opt === 'adam' ? 0 : 0.2);
    },
    { nTrials: 16 },
  );
  const expected = paramImportance(await study.trials());
  await study.close();
  const source = await TuneStudySource.open(url);
  const tmp = tempSqlite();
  const store = await tmp.open();
  const app = createTrackingServer({ store, studies: source });
  try {
    const body = (await app.inject({ method: 'GET', url: '/api/studies/imp' })).json() as {
      importance: { param: string; importance: number }[];
      trials: { logParams: string[]; intermediate: [number, number][] }[];
    };
    assert.equal(expected.length, 3);
    assert.deepEqual(body.importance, expected);
    assert.deepEqual(body.trials[0].logParams, ['lr']);
    assert.deepEqual(
      body.trials[0].intermediate.map((p) => p[0]),
      [0, 1, 2],
    );
  } finally {
    await app.close();
    await store.close();
    await tmp.cleanup();
    await source.close();
  }
});
