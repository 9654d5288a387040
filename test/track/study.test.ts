// Study analyses behind the HPO views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InMemoryStudySource,
  optimizationHistory,
  paramImportance,
  paretoFront,
  type TrialRecord,
} from '../../src/track/index.js';

const trial = (
  number: number,
  params: Record<string, number | string>,
  values: number[] | null,
  state: TrialRecord['state'] = 'COMPLETE',
): TrialRecord => ({ number, state, params, values });

test('optimization history tracks the best value so far and skips unfinished trials', () => {
  const t = [trial(0, {}, [5]), trial(1, {}, [3]), trial(2, {}, null, 'PRUNED'), trial(3, {}, [4]), trial(4, {}, [1])];
  assert.deepEqual(
    optimizationHistory(t, 'minimize').map((h) => [h.number, h.best]),
    [
      [0, 5],
      [1, 3],
      [3, 3],
      [4, 1],
    ],
  );
  assert.deepEqual(
    optimizationHistory(t, 'maximize').map((h) => h.best),
    [5, 5, 5, 5],
  );
});

test('parameter importance ranks the parameter that drives the objective first', () => {
  const trials: TrialRecord[] = [];
  let seed = 1;
  const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 60; i++) {
    const lr = rand(),
      noise = rand(),
      opt = i % 2 ? 'adam' : 'sgd';
    trials.push(trial(i, { lr, noise, opt }, [10 * lr + 0.1 * noise + (opt === 'adam' ? 0.05 : 0)]));
  }
  const imp = paramImportance(trials);
  assert.equal(imp[0].param, 'lr');
  assert.ok(imp[0].importance > 0.8, `lr importance ${imp[0].importance}`);
  assert.ok(Math.abs(imp.reduce((a, b) => a + b.importance, 0) - 1) < 1e-9);
  assert.deepEqual(paramImportance([trial(0, { a: 1 }, [1])]), []);
});

test('pareto front keeps non-dominated trials for mixed directions', () => {
  const t = [
    trial(0, {}, [1, 1]),
    trial(1, {}, [2, 3]),
    trial(2, {}, [3, 2]),
    trial(3, {}, [0.5, 0.5]),
    trial(4, {}, [2, 3]),
  ];
  // minimize objective 0, maximize objective 1: 3/2 is dominated by 2/3; 2/3 twice (equal points do not dominate each other).
  assert.deepEqual(paretoFront(t, ['minimize', 'maximize']), [0, 1, 3, 4]);
  assert.deepEqual(paretoFront(t, ['minimize', 'minimize']), [3]);
});

test('InMemoryStudySource lists studies and names a missing one', async () => {
  const src = new InMemoryStudySource().add({ id: 's1', directions: ['minimize'] }, [
    trial(1, {}, [2]),
    trial(0, {}, [1]),
  ]);
  assert.deepEqual(
    (await src.listStudies()).map((s) => [s.id, s.trials]),
    [['s1', 2]],
  );
  assert.deepEqual(
    (await src.trials('s1')).map((t) => t.number),
    [0, 1],
  );
  await assert.rejects(src.trials('nope'), /study 'nope' not found/);
});
