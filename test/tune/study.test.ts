import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Study, ObjectiveError } from '../../src/tune/study.js';
import { SearchSpaceError } from '../../src/tune/errors.js';
import { floatDistribution } from '../../src/tune/distributions.js';
import { randomSampler } from '../../src/tune/samplers/random.js';
import { nsga2Sampler } from '../../src/tune/samplers/nsga2.js';
import { evolutionSampler } from '../../src/tune/samplers/evolution.js';
import { suggestArchitecture, latencyAwareObjective } from '../../src/tune/nas.js';
import { exportTrialConfig, optimizationHistory, paramImportance } from '../../src/tune/analysis.js';
import { spaceFromConfig } from '../../src/tune/runner.js';
import { tempSqlite } from './helpers.js';

test('ask/tell: fixed distributions, values, explicit states', async () => {
  const study = await Study.create({ direction: 'maximize', sampler: randomSampler({ seed: 1 }) });
  const t = await study.ask({ x: floatDistribution('x', 0, 1) });
  assert.equal(typeof t.params.x, 'number');
  await study.tell(t, 0.5);
  const p = await study.ask();
  await study.tell(p, { state: 'PRUNED' });
  const bad = await study.ask();
  const frozen = await study.tell(bad, NaN);
  assert.equal(frozen.state, 'FAILED');
  assert.match(String(frozen.systemAttrs.fail_reason), /NaN/);
  assert.equal(await study.bestValue(), 0.5);
  assert.deepEqual(
    (await study.trials()).map((x) => x.state),
    ['COMPLETE', 'PRUNED', 'FAILED'],
  );
});

test('invalid search spaces give errors naming the parameter; the trial is FAILED, the study stays usable', async () => {
  const study = await Study.create({ sampler: randomSampler({ seed: 1 }) });
  await assert.rejects(
    study.optimize((t) => t.suggestFloat('lr', 0, 1, { log: true }), { nTrials: 1 }),
    (e: Error) => e instanceof ObjectiveError && /parameter 'lr': log scale needs low > 0/.test(e.message),
  );
  await assert.rejects(
    study.optimize((t) => t.suggestInt('n', 5, 1), { nTrials: 1 }),
    /parameter 'n': low \(5\) must be <= high \(1\)/,
  );
  await assert.rejects(
    study.optimize((t) => (t.suggestCategorical('c', []), 0), { nTrials: 1 }),
    /parameter 'c': choices must be a non-empty list/,
  );
  await assert.rejects(
    study.optimize((t) => t.suggestFloat('x', 0, 1) + t.suggestFloat('x', 0, 2), { nTrials: 1 }),
    /parameter 'x': trial 3 already suggested it from a different distribution/,
  );
  assert.throws(
    () => spaceFromConfig({ lr: { type: 'float', low: -1, high: 1, log: true } }),
    (e: Error) => e instanceof SearchSpaceError && /space\.lr: log scale needs low > 0/.test(e.message),
  );
  assert.throws(
    () => spaceFromConfig({ m: { type: 'float', low: 0, high: 1, when: { opt: 'sgd' } } }),
    /space\.m\.when: 'opt' must be a parameter declared before 'm'/,
  );
  await study.optimize((t) => t.suggestFloat('x', 0, 1), { nTrials: 2 });
  const states = (await study.trials()).map((t) => t.state);
  assert.deepEqual(states, ['FAILED', 'FAILED', 'FAILED', 'FAILED', 'COMPLETE', 'COMPLETE']);
  assert.equal((await study.storage.counts(study.id)).RUNNING, 0);
});

test('an objective that throws: FAILED with the message, rethrown naming the trial (or caught)', async () => {
  const t = tempSqlite();
  const study = await Study.create({ name: 's', storage: t.url, sampler: randomSampler({ seed: 2 }) });
  try {
    let n = 0;
    const objective = (tr: { suggestFloat(n: string, a: number, b: number): number }) => {
      if (n++ === 1) throw new Error('out of memory in layer 3');
      return tr.suggestFloat('x', 0, 1);
    };
    await assert.rejects(study.optimize(objective, { nTrials: 5 }), /trial 1 failed: out of memory in layer 3/);
    await study.optimize(objective, { nTrials: 3, catch: true });
    const ts = await study.trials();
    assert.equal(ts[1].state, 'FAILED');
    assert.match(String(ts[1].systemAttrs.fail_reason), /out of memory in layer 3/);
    assert.equal(ts.filter((x) => x.state === 'RUNNING').length, 0);
    assert.equal(ts.length, 5);
  } finally {
    await study.close();
    await t.cleanup();
  }
});

test('optimize: workers overlap async objectives, maxTrials is study-wide, timeout stops new trials', async () => {
  const study = await Study.create({ sampler: randomSampler({ seed: 3 }) });
  let live = 0;
  let peak = 0;
  await study.optimize(
    async (t) => {
      live++;
      peak = Math.max(peak, live);
      await new Promise((r) => setTimeout(r, 5));
      live--;
      return t.suggestFloat('x', 0, 1);
    },
    { maxTrials: 12, workers: 4 },
  );
  assert.equal((await study.trials()).length, 12);
  assert.equal(peak, 4);
  await study.optimize(async (t) => t.suggestFloat('x', 0, 1), { maxTrials: 12 });
  assert.equal((await study.trials()).length, 12, 'budget already used');
  const t0 = Date.now();
  await study.optimize(async (t) => (await new Promise((r) => setTimeout(r, 20)), t.suggestFloat('x', 0, 1)), {
    timeout: 0.1,
  });
  assert.ok(Date.now() - t0 < 2000);
});

test('enqueueTrial: the next trial runs the given parameters first', async () => {
  const study = await Study.create({ sampler: randomSampler({ seed: 4 }) });
  await study.enqueueTrial({ x: 0.125, opt: 'adam' });
  await study.optimize(
    (t) => t.suggestFloat('x', 0, 1) + (t.suggestCategorical('opt', ['sgd', 'adam']) === 'adam' ? 0 : 1),
    { nTrials: 2 },
  );
  const [first] = await study.trials();
  assert.deepEqual(first.params, { x: 0.125, opt: 'adam' });
  assert.deepEqual(first.distributions.opt, { type: 'categorical', choices: ['sgd', 'adam'] });
});

test('NAS: latency-aware two-objective search with a fake latency, Pareto front reported', async () => {
  const space = {
    depth: { low: 1, high: 4 },
    widths: [16, 32, 64, 128],
    kernelSizes: [3, 5],
    blockTypes: ['conv', 'residual'],
  };
  const measured: number[] = [];
  const study = await Study.create({
    directions: ['maximize', 'minimize'],
    sampler: nsga2Sampler({ seed: 5, populationSize: 8 }),
  });
  await study.optimize(
    latencyAwareObjective({
      config: (t) => suggestArchitecture(t, space),
      evaluate: (c) => c.layers.reduce((a, l) => a + Math.log2(l.width) * (l.block === 'residual' ? 1.1 : 1), 0) / 30,
      measureLatency: async (c) => {
        const ms = c.layers.reduce((a, l) => a + (l.width * l.kernelSize! ** 2) / 100, 0);
        measured.push(ms);
        return ms;
      },
    }),
    { nTrials: 40 },
  );
  assert.equal(measured.length, 40);
  const front = await study.bestTrials();
  assert.ok(front.length >= 2);
  for (const t of front) {
    assert.equal(t.userAttrs.latency_ms, t.values![1]);
    assert.equal((t.userAttrs.config as { depth: number }).depth, t.params.depth);
    for (let i = 0; i < (t.params.depth as number); i++) assert.ok(`layer${i}.width` in t.params);
  }
  // No front member is dominated by any complete trial.
  for (const f of front)
    for (const t of await study.trials(['COMPLETE']))
      assert.ok(
        !(
          t.values![0] >= f.values![0] &&
          t.values![1] <= f.values![1] &&
          (t.values![0] > f.values![0] || t.values![1] < f.values![1])
        ),
      );
});

test('regularized evolution improves on its random start', async () => {
  const study = await Study.create({ sampler: evolutionSampler({ seed: 6, populationSize: 10, sampleSize: 4 }) });
  await study.optimize(
    (t) =>
      suggestArchitecture(t, { depth: { low: 1, high: 6 }, widths: [8, 16, 32, 64], perLayer: false }).layers.reduce(
        (a, l) => a + Math.abs(l.width - 32),
        0,
      ) + Math.abs((t.params.depth as number) - 4),
    { nTrials: 60 },
  );
  const h = optimizationHistory(await study.trials(), 'minimize');
  assert.ok(h[h.length - 1].best < h[9].best || h[9].best === 0);
  assert.equal(h[h.length - 1].best, 0);
});

test('analysis: importance finds the parameter that matters; best trial exports as a training config', async () => {
  const study = await Study.create({ sampler: randomSampler({ seed: 7 }) });
  await study.optimize(
    (t) =>
      10 * t.suggestFloat('optimizer.lr', 0, 1) ** 2 +
      0.1 * t.suggestFloat('model.options.dropout', 0, 1) +
      0 * t.suggestInt('noise', 0, 9),
    { nTrials: 60 },
  );
  const imp = paramImportance(await study.trials());
  assert.equal(imp[0].param, 'optimizer.lr');
  assert.ok(imp[0].importance > 0.8);
  assert.ok(Math.abs(imp.reduce((a, b) => a + b.importance, 0) - 1) < 1e-9);
  const best = await study.bestTrial();
  const cfg = exportTrialConfig(
    best,
    { model: { name: 'mlp', options: { hidden: 64 } }, optimizer: { name: 'adam' } },
    { noise: 'data.noise' },
  );
  assert.deepEqual(cfg, {
    model: { name: 'mlp', options: { hidden: 64, dropout: best.params['model.options.dropout'] } },
    optimizer: { name: 'adam', lr: best.params['optimizer.lr'] },
    data: { noise: best.params.noise },
  });
});
