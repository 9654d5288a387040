// `lathe train` with `loss: lm` and a text dataset: a char-level GPT and an LSTM LM train from a config on a tiny
// file, report held-out loss per token, and export an ONNX model with int64 token inputs. On the Debian licence
// texts: validation by position before the test split, the test split scored with the best-validation checkpoint,
// bits per token and perplexity in the summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runCli } from '../util/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-cli-lm-'));
const textPath = join(tmp, 'tiny.txt');
writeFileSync(textPath, 'the quick brown fox jumps over the lazy dog. a stitch in time saves nine. '.repeat(40));

const config = (name: string, model: unknown, over: Record<string, unknown> = {}): string => {
  const path = join(tmp, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      name,
      seed: 1,
      model,
      data: { name: 'text', batchSize: 16, text: { path: textPath, context: 16, stride: 8, tokenizer: 'char' } },
      loss: 'lm',
      optimizer: { name: 'adam', lr: 0.005 },
      trainer: { epochs: 2 },
      callbacks: { checkpoint: { monitor: 'val_loss', saveTopK: 1 } },
      output: join(tmp, name),
      ...over,
    }),
  );
  return path;
};

interface Done {
  event: string;
  testLoss: number;
  testAccuracy: number;
  onnxPath: string;
}
const done = (stdout: string): Done =>
  JSON.parse(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('"event":"done"'))
      .at(-1)!,
  ) as Done;
const epochs = (stdout: string): { metrics?: Record<string, number>; val_loss?: number }[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"event":"epoch"'))
    .map((l) => JSON.parse(l));

test('lathe train, loss lm: GPT on a text file — held-out loss falls below uniform, ONNX takes int64 ids', async () => {
  const r = runCli([
    'train',
    config('gpt', { name: 'gpt', options: { vocab: 32, context: 16, dim: 32, layers: 1, heads: 2 } }),
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const d = done(r.stdout);
  // the text has 28 distinct characters (a pangram, space, '.') + <unk>: uniform guessing is ln 29 ≈ 3.37 nats per token
  assert.ok(d.testLoss < Math.log(29) * 0.8, `test loss ${d.testLoss}`);
  assert.ok(d.testAccuracy > 0.2, `token accuracy ${d.testAccuracy}`);
  const ep = epochs(r.stdout);
  assert.equal(ep.length, 2);
  assert.ok(existsSync(d.onnxPath));
  const s = await ort.InferenceSession.create(d.onnxPath);
  const ids = new ort.Tensor('int64', new BigInt64Array(2 * 16).fill(3n), [2, 16]);
  const out = (await s.run({ [s.inputNames[0]]: ids }))[s.outputNames[0]] as ort.Tensor;
  assert.deepEqual(out.dims, [2, 16, 32]);
  // `lathe eval` scores the checkpoint per token; `lathe export` writes int64 inputs too
  // the run scored the test split with its best-validation checkpoint, which `lathe eval` reproduces
  const ev = runCli(['eval', join(tmp, 'gpt', 'best.json')]);
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(
    Math.abs((JSON.parse(ev.stdout) as { loss: number }).loss - d.testLoss) < 1e-3,
    "eval of best.json = the run's test loss",
  );
  const onnx = join(tmp, 'gpt-export.onnx');
  assert.equal(runCli(['export', join(tmp, 'gpt'), '--onnx', onnx]).status, 0);
  const s2 = await ort.InferenceSession.create(onnx);
  assert.deepEqual((await s2.run({ [s2.inputNames[0]]: ids }))[s2.outputNames[0]].dims, [2, 16, 32]);
});

test('lathe train, loss lm: char-rnn trains too; vocab smaller than the text is a config error naming the field', () => {
  const r = runCli([
    'train',
    config(
      'lstm',
      { name: 'char-rnn', options: { vocab: 29, context: 16, embed: 16, hidden: 32 } },
      { trainer: { epochs: 1 } },
    ),
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.ok(done(r.stdout).testLoss < Math.log(29), 'below uniform after one epoch');
  const bad = runCli([
    'train',
    config('small-vocab', { name: 'gpt', options: { vocab: 10, context: 16, dim: 16, layers: 1, heads: 2 } }),
  ]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /model\.options\.vocab: the text has 29 token ids/);
  const missing = runCli([
    'train',
    config(
      'no-text',
      { name: 'gpt', options: { vocab: 256 } },
      { data: { name: 'text', text: { path: join(tmp, 'absent.txt') } } },
    ),
  ]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /absent\.txt: text file not found/);
});

const GPL = '/usr/share/common-licenses/GPL-3';

test('lathe train, loss lm, on a licence text: best-validation checkpoint scores the test split; bits/char and perplexity in the summary', {
  skip: !existsSync(GPL) && `${GPL} is missing`,
}, () => {
  const out = join(tmp, 'gpl');
  const path = join(tmp, 'gpl.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'gpl',
      seed: 3,
      model: { name: 'gpt', options: { vocab: 96, context: 32, dim: 32, layers: 1, heads: 2 } },
      data: {
        name: 'text',
        batchSize: 16,
        limit: 64,
        text: { path: GPL, context: 32, tokenizer: 'char', valFraction: 0.05, testFraction: 0.05 },
      },
      loss: 'lm',
      // a learning rate high enough that validation gets worse again after its best epoch, so best ≠ last is exercised
      optimizer: { name: 'adam', lr: 0.05 },
      trainer: { epochs: 5 },
      output: out,
    }),
  );
  const r = runCli(['train', path, '--json']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const d = done(r.stdout) as Done & {
    lm: {
      scored: string;
      epoch: number;
      step: number;
      valLoss: number;
      testBitsPerToken: number;
      testPerplexity: number;
      tokenizer: string;
    };
  };
  // no checkpoint monitor configured: a language model ranks by val_loss; the summary names the epoch it chose
  const rows = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
  const head = rows[0].split(',');
  const vals = rows.slice(1).map((l) => Number(l.split(',')[head.indexOf('val_loss')]));
  assert.equal(vals.length, 5);
  const bestEpoch = vals.indexOf(Math.min(...vals)) + 1;
  assert.ok(bestEpoch < 5, `this run's validation loss should rise after its best epoch: ${vals.join(', ')}`);
  assert.equal(d.lm.scored, 'best');
  assert.equal(d.lm.epoch, bestEpoch, `val_loss per epoch ${vals.join(', ')}`);
  assert.ok(Math.abs(d.lm.valLoss - Math.min(...vals)) < 1e-4);
  assert.equal(d.lm.step, bestEpoch * 4, '64 windows / 16 per batch = 4 steps an epoch');
  // the last weights score worse on validation than the ones the test split was scored with
  assert.ok(vals[4] > d.lm.valLoss);
  assert.equal(d.lm.tokenizer, 'char');
  assert.ok(Math.abs(d.lm.testBitsPerToken - d.testLoss / Math.LN2) < 1e-9);
  assert.ok(Math.abs(d.lm.testPerplexity - Math.exp(d.testLoss)) < 1e-9);
  // validation and test are different text: their losses differ
  assert.ok(Math.abs(d.lm.valLoss - d.testLoss) > 1e-4);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { lm: { testBitsPerToken: number } };
  assert.equal(summary.lm.testBitsPerToken, d.lm.testBitsPerToken);
  const ev = runCli(['eval', join(out, 'best.json')]);
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(Math.abs((JSON.parse(ev.stdout) as { loss: number }).loss - d.testLoss) < 1e-4);
});

test('lathe train, loss lm: mamba trains from the same config as gpt (held-out loss below uniform); lathe models show mamba', () => {
  const r = runCli([
    'train',
    config('mamba', { name: 'mamba', options: { vocab: 32, context: 16, dim: 32, layers: 1, state: 8 } }),
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const d = done(r.stdout);
  assert.ok(d.testLoss < Math.log(29) * 0.9, `test loss ${d.testLoss}`);
  assert.ok(existsSync(d.onnxPath));
  const show = runCli(['models', 'show', 'mamba', '--options', '{"vocab":32,"context":16,"dim":32,"layers":1}']);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /mixer/);
});
