import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { manualSeed, exportModule } from '../../src/nn/index.js';
import { MultiHeadAttention } from '../../src/nn/layers/attention.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { compile } from '../../src/runtime/compile.js';
import { GPT, EncoderClassifier, lmLoss } from '../../src/models/transformer.js';
import { TextGenerator, exportDecoder, sampleLogits } from '../../src/models/generate.js';
import { Generator } from '../../src/nn/init.js';
import { getModel } from '../../src/models/index.js';
import { withFrozenParameters } from '../../src/nn/export.js';
import { charWindows } from './_text.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
const VOCAB = ' .abcdefghijklmnopqrstuvwxyz';

test('MultiHeadAttention: causal rows ignore the future; key padding ignores padded keys', async () => {
  manualSeed(1);
  const mha = new MultiHeadAttention(16, { heads: 4 });
  const run = compile((x: L.Tensor, m: L.Tensor) =>
    withFrozenParameters(mha, () => ({
      causal: mha.attend(x, x, { causal: true }).y,
      padded: mha.attend(x, x, { keyPadding: m }).y,
    })),
  );
  const g = new Generator(2);
  const x = Float32Array.from({ length: 2 * 5 * 16 }, () => g.normal());
  const x2 = x.slice();
  for (let i = 4 * 16; i < 5 * 16; i++) x2[i] += 5; // change the last token of sample 0
  const mask = L.int64([2, 5], [1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
  const a = await run(L.float32([2, 5, 16], x), mask);
  const b = await run(L.float32([2, 5, 16], x2), mask);
  const ca = a.causal.data as Float32Array;
  const cb = b.causal.data as Float32Array;
  for (let i = 0; i < 4 * 16; i++) assert.ok(Math.abs(ca[i] - cb[i]) < 1e-5, 'earlier positions unchanged');
  assert.ok(Math.abs(ca[4 * 16] - cb[4 * 16]) > 1e-4, 'the changed position changes');
  const pa = a.padded.data as Float32Array;
  const pb = b.padded.data as Float32Array;
  for (let i = 0; i < 4 * 16; i++) assert.ok(Math.abs(pa[i] - pb[i]) < 1e-5, 'padded key is ignored');
});

test('GPT (tiny, RoPE, GQA): trains — loss falls; decode with KV cache matches the full forward; exports', async () => {
  manualSeed(0);
  const model = new GPT({ vocab: VOCAB.length, context: 16, dim: 32, layers: 2, heads: 4, kvHeads: 2 });
  const data = charWindows(TEXT, VOCAB, 16, 64);
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 3e-3,
    epochs: 3,
    loss: (out, b) => lmLoss(out, b.y),
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  await trainer.fit(new ArrayLoader(data, { batchSize: 16, shuffle: true, seed: 1 }));
  assert.ok(losses.at(-1)! < losses[0] * 0.8, `loss ${losses[0]} → ${losses.at(-1)}`);
  await trainer.release();

  // full forward vs incremental decode: same logits at every position
  const ids = [...'the quick'].map((c) => VOCAB.indexOf(c));
  const full = compile((x: L.Tensor) => withFrozenParameters(model, () => model.forward(x)));
  const fl = (await full(L.int64([1, ids.length], ids))).data as Float32Array;
  const v = VOCAB.length;
  const gen = new TextGenerator(model);
  const outCached = await gen.generate(ids, { maxNewTokens: 5, temperature: 0 });
  const outFull = await gen.generate(ids, { maxNewTokens: 5, temperature: 0, cache: false });
  assert.deepEqual(outCached, outFull);
  // greedy first token = argmax of the last full-forward row
  const last = fl.subarray((ids.length - 1) * v, ids.length * v);
  assert.equal(outCached[0], sampleLogits(last, { temperature: 0 }, new Generator(0)));

  // exported decoder with past/present key-values runs in plain ORT
  const bytes = exportDecoder(model);
  const s = await ort.InferenceSession.create(bytes);
  assert.deepEqual([...s.inputNames].slice(0, 3), ['input_ids', 'positions', 'past.0.k']);
  const empty = new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 8]);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    positions: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [ids.length]),
  };
  for (let l = 0; l < 2; l++) feeds[`past.${l}.k`] = feeds[`past.${l}.v`] = empty;
  const r = await s.run(feeds);
  const lo = r.logits.data as Float32Array;
  for (let j = 0; j < v; j++) assert.ok(Math.abs(lo[j] - last[j]) < 1e-3, `logit ${j}`);
  assert.deepEqual(r['present.1.k'].dims, [1, 2, ids.length, 8]);

  // export of the plain forward
  const m2 = exportModule(model, [{ dtype: 'int64', shape: ['batch', 16] }]);
  assert.ok(m2.length > 10_000);
});

test('gpt and transformer-classifier are registered; sampling honours top-k and top-p', () => {
  const e = getModel('gpt');
  const m = e.create(e.options.parse({ vocab: 10, context: 8, dim: 16, layers: 1, heads: 2 }));
  assert.ok(m.parameterCount() > 0);
  assert.ok(getModel('transformer-classifier'));
  const g = new Generator(0);
  const logits = [0, 5, 4, -1];
  for (let i = 0; i < 50; i++) assert.equal(sampleLogits(logits, { topK: 1 }, g), 1);
  for (let i = 0; i < 50; i++) assert.ok([1, 2].includes(sampleLogits(logits, { topP: 0.9 }, g)));
});

test('EncoderClassifier (tiny): learns which of two token sets a padded sequence uses', async () => {
  manualSeed(4);
  const n = 96;
  const t = 12;
  const g = new Generator(9);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const len = 4 + g.int(8);
    for (let j = 0; j < t; j++) xs.push(j < len ? 1 + c * 5 + g.int(5) : 0);
    ys.push(c);
  }
  const model = new EncoderClassifier({ vocab: 11, context: t, dim: 16, layers: 1, heads: 2, classes: 2, dropout: 0 });
  const trainer = new Trainer({ model, optimizer: adam(), lr: 3e-3, epochs: 6 });
  const data = { x: L.int64([n, t], xs), y: L.int64([n], ys) };
  const logs = await trainer.fit(
    new ArrayLoader(data, { batchSize: 16, shuffle: true, seed: 2 }),
    new ArrayLoader(data, { batchSize: 32 }),
  );
  assert.ok(logs!.metrics.val_accuracy > 0.9, `accuracy ${logs!.metrics.val_accuracy}`);
  await trainer.release();
});

test('EncoderClassifier.encode: hidden states [B, T, dim] whose masked mean, through the head, is forward', async () => {
  manualSeed(5);
  const model = new EncoderClassifier({
    vocab: 9,
    context: 6,
    dim: 8,
    layers: 1,
    heads: 2,
    classes: 3,
    padId: 0,
    dropout: 0,
  });
  model.train(false);
  const run = compile((ids: L.Tensor) =>
    withFrozenParameters(model, () => ({ h: model.encode(ids), logits: model.forward(ids) })),
  );
  const ids = L.int64([2, 6], [3, 1, 4, 1, 5, 0, 2, 6, 0, 0, 0, 0]);
  const out = await run(ids);
  assert.deepEqual(out.h.shape, [2, 6, 8]);
  const h = out.h.data as Float32Array;
  const w = model.head.weight.data.data as Float32Array;
  const b = model.head.bias!.data.data as Float32Array;
  [5, 2].forEach((len, r) => {
    const mean = Array.from(
      { length: 8 },
      (_, d) => Array.from({ length: len }, (_, t) => h[(r * 6 + t) * 8 + d]).reduce((a, x) => a + x, 0) / len,
    );
    for (let c = 0; c < 3; c++) {
      const want = mean.reduce((a, x, d) => a + x * w[c * 8 + d], b[c]);
      assert.ok(Math.abs((out.logits.data as Float32Array)[r * 3 + c] - want) < 1e-5, `row ${r} class ${c}`);
    }
  });
});
