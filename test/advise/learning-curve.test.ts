// The learning curve design scales short plans along: a power law in epochs, fitted or defaulted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ALPHA, scaleToEpochs } from '../../src/advise/learning-curve.js';
import type { QualityRecord } from '../../src/advise/quality.js';

const rec = (epochs: number, accuracy: number): QualityRecord => ({
  model: 'cnn',
  options: {},
  dataset: 'd',
  epochs,
  accuracy,
  recipe: {},
  source: `${epochs} epochs`,
});

test('scaleToEpochs: records on an exact power law give back its exponent and its value at any shorter plan', () => {
  const err = (e: number) => 0.3 * e ** -0.25;
  const records = [rec(4, 1 - err(4)), rec(16, 1 - err(16)), rec(32, 1 - err(32))];
  const s = scaleToEpochs(records, 2);
  assert.ok(Math.abs(s.alpha - 0.25) < 1e-9, `alpha ${s.alpha}`);
  assert.ok(Math.abs(s.accuracy - (1 - err(2))) < 1e-9);
  assert.equal(s.from.epochs, 4, 'scaled from the shortest record that is still at least the plan');
  // between records: from the next longer one
  const mid = scaleToEpochs(records, 10);
  assert.equal(mid.from.epochs, 16);
  assert.ok(Math.abs(mid.accuracy - (1 - err(10))) < 1e-9);
  assert.match(s.how, /fitted on the 4\/16\/32-epoch records/);
});

test('scaleToEpochs: one record uses the default exponent; no extrapolation above the records; bad fits fall back', () => {
  const one = scaleToEpochs([rec(10, 0.9)], 5);
  assert.equal(one.alpha, DEFAULT_ALPHA);
  assert.ok(Math.abs(one.accuracy - (1 - 0.1 * 2 ** DEFAULT_ALPHA)) < 1e-12);
  assert.equal(scaleToEpochs([rec(10, 0.9), rec(20, 0.92)], 40).accuracy, 0.92, 'longer plans: the longest record');
  assert.equal(scaleToEpochs([rec(10, 0.9)], 10).accuracy, 0.9, 'the record itself at its own epochs');
  // more epochs made it worse: the fit is meaningless, the default is used
  assert.equal(scaleToEpochs([rec(5, 0.9), rec(10, 0.88)], 2).alpha, DEFAULT_ALPHA);
  assert.throws(() => scaleToEpochs([], 2), /no records/);
  assert.throws(() => scaleToEpochs([rec(10, 0.9)], 0), /at least 1/);
});
