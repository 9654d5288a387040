import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { review, ReviewError } from '../../src/advise/review.js';
import { reportMarkdown, reportText } from '../../src/advise/finding.js';
import { RULES } from '../../src/advise/rules.js';
import { CORPUS } from './corpus.js';

test('suppression by --ignore keeps the finding out of the report but lists it', async () => {
  const path = `${CORPUS}/datasets/imbalance.csv`;
  const loud = await review(path);
  assert.ok(loud.findings.some((f) => f.rule === 'class-imbalance'));
  const quiet = await review(path, { ignore: ['class-imbalance'] });
  assert.ok(!quiet.findings.some((f) => f.rule === 'class-imbalance'));
  assert.deepEqual(
    quiet.suppressed.map((f) => f.rule),
    ['class-imbalance'],
  );
  assert.match(reportMarkdown(quiet), /1 suppressed \(class-imbalance\)/);
});

test('suppression by review.ignore in the config', async () => {
  const r = await review(`${CORPUS}/configs/adam-lr-tiny.yaml`, { dynamic: false });
  assert.ok(!r.findings.some((f) => f.rule === 'lr-out-of-range'));
  assert.ok(
    r.suppressed.some((f) => f.rule === 'lr-out-of-range'),
    'lr 1e-8 is out of range: the config silences it',
  );
});

test('a finding carries evidence, why, fix and a config diff; reports render it', async () => {
  const r = await review(`${CORPUS}/configs/lr-high.yaml`, { dynamic: false });
  const f = r.findings.find((x) => x.rule === 'lr-out-of-range')!;
  assert.equal(f.evidence.lr, 0.5);
  assert.ok(f.why.length > 20 && f.fix.length > 10);
  assert.deepEqual(f.diff, [{ path: 'optimizer.lr', from: 0.5, to: 0.001 }]);
  assert.match(reportMarkdown(r), /- optimizer.lr: 0.5\n\+ optimizer.lr: 0.001/);
  assert.match(reportText(r), /warning lr-out-of-range/);
  assert.ok(JSON.parse(JSON.stringify(r)).findings.length >= 1);
});

test('NaN origin names the op and the module', async () => {
  const { BROKEN } = await import('./corpus.js');
  const c = BROKEN.find((x) => x.name.startsWith('live: log'))!;
  const r = await review(c.target());
  const f = r.findings.find((x) => x.rule === 'nan-origin')!;
  assert.equal(f.evidence.op, 'log');
  assert.equal(f.evidence.pass, 'forward');
  assert.match(f.message, /op log/);
});

test('bad targets are clear errors', async () => {
  await assert.rejects(
    review('no-such-thing'),
    (e: Error) => e instanceof ReviewError && /not a config .* or catalog dataset/.test(e.message),
  );
  await assert.rejects(
    review('missing.onnx'),
    (e: Error) => e instanceof ReviewError && /missing.onnx: no such file/.test(e.message),
  );
  await assert.rejects(review(`${CORPUS}/datasets/healthy-blobs.csv`, { label: 'nope' }), /no label column "nope"/);
  await assert.rejects(review('test/advise'), /a folder review can read holds a run/);
});

test('docs/expert.md lists every rule with its guard', () => {
  const doc = readFileSync('docs/expert.md', 'utf8');
  for (const r of RULES) assert.ok(doc.includes(`\`${r.id}\``), `docs/expert.md lacks ${r.id}`);
});

test('reviewCallback warns once per rule from the epoch history and at the first step', async () => {
  const { reviewCallback } = await import('../../src/advise/callback.js');
  const found: string[] = [];
  const logged: unknown[] = [];
  const cb = reviewCallback({ classes: 10, warn: false, onFinding: (f) => found.push(f.rule) });
  const t = { log: (r: Record<string, unknown>) => void logged.push(r) } as never;
  cb.onBatchEnd!(t, { epoch: 0, batch: 0, batches: 10, step: 1, loss: 9.5, lr: 1e-3, metrics: {} });
  const rows = [
    [0.8, 0.6],
    [0.45, 0.42],
    [0.3, 0.45],
    [0.2, 0.5],
    [0.12, 0.58],
    [0.07, 0.66],
  ];
  for (const [i, [tl, vl]] of rows.entries())
    await cb.onEpochEnd!(t, {
      epoch: i,
      step: i * 10,
      seconds: 1,
      metrics: { train_loss: tl, val_loss: vl, val_accuracy: 0.8 },
    });
  assert.deepEqual(found, ['init-loss', 'overfitting']);
  assert.equal(logged.length, 2);
  const quiet = reviewCallback({
    classes: 10,
    warn: false,
    ignore: ['init-loss'],
    onFinding: (f) => found.push(f.rule),
  });
  quiet.onBatchEnd!(t, { epoch: 0, batch: 0, batches: 10, step: 1, loss: 9.5, lr: 1e-3, metrics: {} });
  assert.equal(found.length, 2);
});
