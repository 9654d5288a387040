import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { manualSeed, exportModule } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { Generator } from '../../src/nn/init.js';
import { CharRNN, RNNClassifier } from '../../src/models/rnn.js';
import { lmLoss } from '../../src/models/transformer.js';
import { getModel } from '../../src/models/index.js';
import { charWindows } from './_text.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
const VOCAB = ' .abcdefghijklmnopqrstuvwxyz';

for (const cell of ['lstm', 'gru'] as const) {
  test(`char-rnn (${cell}, tiny): loss falls; exports`, async () => {
    manualSeed(0);
    const model = new CharRNN({ cell, vocab: VOCAB.length, context: 12, embed: 8, hidden: 24 });
    const losses: number[] = [];
    const t = new Trainer({
      model,
      optimizer: adam(),
      lr: 1e-2,
      epochs: 6,
      loss: (o, b) => lmLoss(o, b.y),
      callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
    });
    await t.fit(new ArrayLoader(charWindows(TEXT, VOCAB, 12, 64), { batchSize: 16, shuffle: true, seed: 1 }));
    assert.ok(losses.at(-1)! < losses[0] * 0.85, `loss ${losses[0]} → ${losses.at(-1)}`);
    await t.release();
    assert.ok(exportModule(model, [{ dtype: 'int64', shape: ['batch', 12] }]).length > 1000);
  });
}

test('rnn-classifier (bi-LSTM, padded): learns which token set a sequence uses; registry entries', async () => {
  manualSeed(5);
  const n = 96;
  const t = 10;
  const g = new Generator(3);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const len = 3 + g.int(7);
    for (let j = 0; j < t; j++) xs.push(j < len ? 1 + c * 5 + g.int(5) : 0);
    ys.push(c);
  }
  const model = new RNNClassifier({ vocab: 11, context: t, embed: 8, hidden: 12, classes: 2 });
  const tr = new Trainer({ model, optimizer: adam(), lr: 1e-2, epochs: 5 });
  const data = { x: L.int64([n, t], xs), y: L.int64([n], ys) };
  const logs = await tr.fit(
    new ArrayLoader(data, { batchSize: 16, shuffle: true, seed: 2 }),
    new ArrayLoader(data, { batchSize: 32 }),
  );
  assert.ok(logs!.metrics.val_accuracy > 0.9, `accuracy ${logs!.metrics.val_accuracy}`);
  await tr.release();
  for (const name of ['char-rnn', 'rnn-classifier']) assert.ok(getModel(name));
});
