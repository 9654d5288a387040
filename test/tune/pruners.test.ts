import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Study } from '../../src/tune/study.js';
import { randomSampler } from '../../src/tune/samplers/random.js';
import { medianPruner } from '../../src/tune/pruners/percentile.js';
import { successiveHalvingPruner } from '../../src/tune/pruners/successive-halving.js';
import { hyperbandPruner } from '../../src/tune/pruners/hyperband.js';
import type { Pruner } from '../../src/tune/pruners/pruner.js';
import { TrialPruned } from '../../src/tune/errors.js';
import { pruningReporter } from '../../src/tune/pruners/pruning-reporter.js';

/** Learning curves: trial quality q = x; loss at epoch e = q + 1/(e+1). Good trials have small x. */
async function curves(
  pruner: Pruner,
  n = 40,
  epochs = 27,
): Promise<{ pruned: number[]; complete: number[]; study: Study }> {
  const study = await Study.create({ sampler: randomSampler({ seed: 5 }), pruner });
  await study.optimize(
    async (trial) => {
      const x = trial.suggestFloat('x', 0, 1);
      const rep = pruningReporter(trial, { monitor: 'val_loss' });
      for (let e = 0; e < epochs; e++) await rep.onEpochEnd(null, { epoch: e, metrics: { val_loss: x + 1 / (e + 2) } });
      return x;
    },
    { nTrials: n },
  );
  const ts = await study.trials();
  return {
    pruned: ts.filter((t) => t.state === 'PRUNED').map((t) => t.params.x as number),
    complete: ts.filter((t) => t.state === 'COMPLETE').map((t) => t.params.x as number),
    study,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const [name, make] of [
  ['median', () => medianPruner({ nStartupTrials: 5 })],
  ['asha', () => successiveHalvingPruner({ minResource: 1, reductionFactor: 3 })],
  ['hyperband', () => hyperbandPruner({ minResource: 1, maxResource: 27, reductionFactor: 3 })],
] as const) {
  test(`${name} prunes the worse trials and keeps the good ones`, async () => {
    const { pruned, complete, study } = await curves(make());
    assert.ok(pruned.length >= 5, `${name}: ${pruned.length} pruned`);
    assert.ok(complete.length >= 3, `${name}: ${complete.length} complete`);
    assert.ok(mean(pruned) > mean(complete), `${name}: pruned mean x ${mean(pruned)} vs complete ${mean(complete)}`);
    const best = (await study.trials()).reduce((a, t) => ((t.params.x as number) < (a.params.x as number) ? t : a));
    assert.notEqual(best.state, 'PRUNED', 'the best configuration is never pruned');
  });
}

test('ASHA: trial promoted only when in the top 1/eta of its rung', async () => {
  // minResource 1, eta 2: rungs at 1, 2, 4. Three finished trials with values at step 1: 1, 2, 3.
  const study = await Study.create({ pruner: successiveHalvingPruner({ minResource: 1, reductionFactor: 2 }) });
  for (const v of [1, 2, 3]) {
    const t = await study.ask();
    t.suggestFloat('x', 0, 1);
    await t.report(v, 1);
    await study.tell(t, v);
  }
  const good = await study.ask();
  await good.report(0.5, 1);
  assert.equal(await good.shouldPrune(), false);
  const bad = await study.ask();
  await bad.report(2.5, 1);
  assert.equal(await bad.shouldPrune(), true);
});

test('pruningReporter throws TrialPruned and names the metric when missing', async () => {
  const study = await Study.create({ pruner: { name: 'always', prune: () => true } });
  const t = await study.ask();
  const rep = pruningReporter(t, { monitor: 'val_loss' });
  await assert.rejects(rep.report({ loss: 1 }, 0), /metric 'val_loss' is missing at step 0 \(have: loss\)/);
  // The Trainer numbers epochs from 0; the reporter's step is epochs completed (the resource rungs count).
  await assert.rejects(rep.onEpochEnd({}, { epoch: 0, metrics: { val_loss: 1 } }), TrialPruned);
  assert.equal(rep.lastStep, 1);
  assert.equal(rep.lastValue, 1);
  // At the run's final step the value is recorded but not judged: the work is done.
  const t2 = await study.ask();
  const last = pruningReporter(t2, { monitor: 'val_loss', finalStep: 2 });
  await assert.rejects(last.onEpochEnd({}, { epoch: 0, metrics: { val_loss: 1 } }), TrialPruned);
  await last.onEpochEnd({}, { epoch: 1, metrics: { val_loss: 1 } });
  assert.equal(last.lastStep, 2);
});
