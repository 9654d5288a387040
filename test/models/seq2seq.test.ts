// Seq2Seq: a tiny encoder-decoder learns to reverse short digit strings with teacher forcing (loss falls), greedy
// decoding returns rows of the right lengths and ids, source padding is masked, and the model exports to ONNX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { manualSeed, exportModule } from '../../src/nn/index.js';
import { Generator } from '../../src/nn/init.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { Seq2Seq, greedyDecode, seq2seqLoss } from '../../src/models/seq2seq.js';
import { compile } from '../../src/runtime/compile.js';
import { withFrozenParameters } from '../../src/nn/export.js';

const PAD = 0;
const BOS = 1;
const EOS = 2;
const S = 6;
const T = S + 1;
const digit = (d: number): number => 3 + d; // ids 3..12

/** Random digit strings of length 2..S: source padded; decoder input BOS + reversed; target reversed + EOS. */
function reversal(n: number, seed: number): { tgtIn: number[]; tgt: number[]; src: number[][]; want: number[][] } {
  const g = new Generator(seed);
  const tgtIn: number[] = [];
  const tgt: number[] = [];
  const src: number[][] = [];
  const want: number[][] = [];
  for (let i = 0; i < n; i++) {
    const len = 2 + g.int(S - 1);
    const s = Array.from({ length: len }, () => digit(g.int(10)));
    const r = [...s].reverse();
    const srow = [...s, ...Array(S - len).fill(PAD)];
    const din = [BOS, ...r, ...Array(T - 1 - len).fill(PAD)];
    const dout = [...r, EOS, ...Array(T - 1 - len).fill(PAD)];
    tgtIn.push(...din);
    tgt.push(...dout);
    src.push(srow);
    want.push(r);
  }
  return { tgtIn, tgt, src, want };
}

test('Seq2Seq (tiny): teacher-forced reversal through a two-input Trainer — loss falls, evaluate agrees; greedy decode shapes; causal decoder; exports', async () => {
  manualSeed(0);
  const model = new Seq2Seq({ vocab: 13, srcLen: S, tgtLen: T, dim: 32, encoderLayers: 1, decoderLayers: 1, heads: 2 });
  const n = 256;
  const d = reversal(n, 1);
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 3e-3,
    epochs: 4,
    inputKeys: ['src', 'tgt_in'],
    loss: (o, b) => seq2seqLoss(o, b.y, PAD),
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  const data = { src: L.int64([n, S], d.src.flat()), tgt_in: L.int64([n, T], d.tgtIn), y: L.int64([n, T], d.tgt) };
  const logs = await trainer.fit(new ArrayLoader(data, { batchSize: 32, shuffle: true, seed: 2 }));
  // evaluate feeds the same two inputs and computes the custom loss in-graph (not the 0 it once reported)
  const ev = await trainer.evaluate(new ArrayLoader(data, { batchSize: 64 }));
  trainer.syncModel();
  await trainer.release();
  assert.ok(losses.at(-1)! < losses[0] * 0.75, `loss ${losses[0]} → ${losses.at(-1)}`);
  assert.equal(ev.samples, n);
  assert.ok(
    ev.loss > 0 && ev.loss < logs!.metrics.train_loss * 1.5,
    `eval loss ${ev.loss} vs train loss ${logs!.metrics.train_loss}`,
  );

  const test = reversal(8, 99);
  const out = await greedyDecode(model, L.int64([8, S], test.src.flat()));
  assert.equal(out.length, 8);
  for (const row of out) {
    assert.ok(row.length <= T, 'at most tgtLen tokens');
    for (const id of row) assert.ok(Number.isInteger(id) && id >= 0 && id < 13);
  }

  const f = compile((x: L.Tensor, y: L.Tensor) => withFrozenParameters(model, () => model.forward(x, y)));
  const src = [digit(1), digit(2), PAD, PAD, PAD, PAD];
  const dec = [BOS, digit(2), digit(1), PAD, PAD, PAD, PAD];
  const a = (await f(L.int64([1, S], src), L.int64([1, T], dec))).data as Float32Array;
  const b = (
    await f(L.int64([1, S], src), L.int64([1, T], [BOS, digit(2), digit(1), digit(5), digit(5), digit(5), digit(5)]))
  ).data as Float32Array;
  // causal decoder: positions 0..2 cannot see the later decoder tokens
  for (let i = 0; i < 3 * 13; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, 'causal self-attention');

  const bytes = exportModule(
    model,
    [
      { dtype: 'int64', shape: ['batch', S] },
      { dtype: 'int64', shape: ['batch', T] },
    ],
    { inputNames: ['source_ids', 'decoder_ids'] },
  );
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({
    source_ids: new ort.Tensor('int64', BigInt64Array.from(src.map(BigInt)), [1, S]),
    decoder_ids: new ort.Tensor('int64', BigInt64Array.from(dec.map(BigInt)), [1, T]),
  });
  const logits = r.output as ort.Tensor;
  assert.deepEqual(logits.dims, [1, T, 13]);
  const ld = logits.data as Float32Array;
  for (let i = 0; i < ld.length; i++) assert.ok(Math.abs(ld[i] - a[i]) < 1e-4, 'exported logits = traced logits');
});

test('Seq2Seq: key padding — trailing source padding does not change the output', async () => {
  manualSeed(3);
  const model = new Seq2Seq({ vocab: 13, srcLen: S, tgtLen: T, dim: 16, encoderLayers: 2, decoderLayers: 1, heads: 2 });
  const f = compile((x: L.Tensor, y: L.Tensor) => withFrozenParameters(model, () => model.forward(x, y)));
  const dec = L.int64([1, T], [BOS, 3, 4, 0, 0, 0, 0]);
  // the same two real tokens as a length-2 source and padded to length 6: masks make the outputs equal
  const bare = (await f(L.int64([1, 2], [5, 6]), dec)).data as Float32Array;
  const padded = (await f(L.int64([1, S], [5, 6, 0, 0, 0, 0]), dec)).data as Float32Array;
  for (let i = 0; i < bare.length; i++)
    assert.ok(Math.abs(bare[i] - padded[i]) < 1e-4, `padding leaked into output ${i}`);
  const other = (await f(L.int64([1, S], [5, 7, 0, 0, 0, 0]), dec)).data as Float32Array;
  assert.ok(
    padded.some((v, i) => Math.abs(v - other[i]) > 1e-4),
    'a real source token matters',
  );
  const variadic: { forward(...inputs: L.Tensor[]): L.Tensor } = model; // how a generic host (Module) calls it
  assert.throws(
    () => variadic.forward(L.placeholder('x', 'int64', [1, S])),
    /forward needs source ids \[B, S\] and decoder input ids \[B, T\]/,
  );
});
