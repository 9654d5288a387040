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
  assert.deepEqual(quiet.suppressed.map((f) => f.rule), ['class-imbalance']);
  assert.match(reportMarkdown(quiet), /1 suppressed \(class-imbalance\)/);
});

test('suppression by review.ignore in the config', async () => {
  const r = await review(`${CORPUS}/configs/adam-lr-tiny.yaml`, { dynamic: false });
  assert.ok(!r.findings.some((f) => f.rule === 'lr-out-of-range'));
  assert.ok(r.suppressed.some((f) => f.rule === 'lr-out-of-range'), 'lr 1e-8 is out of range: the config silences it');
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
  await assert.rejects(review('no-such-thing'), (e: Error) => e instanceof ReviewError && /not a config .* or catalog dataset/.test(e.message));
  await assert.rejects(review('missing.onnx'), (e: Error) => e instanceof ReviewError && /missing.onnx: no such file/.test(e.message));
  await assert.rejects(review(`${CORPUS}/datasets/healthy-blobs.csv`, { label: 'nope' }), /no label column "nope"/);
  await assert.rejects(review('test/advise'), /a folder review can read holds a run/);
});

test('docs/expert.md lists every rule with its guard', () => {
  const doc = readFileSync('docs/expert.md', 'utf8');
  for (const r of RULES) assert.ok(doc.includes(`\`${r.id}\``), `docs/expert.md lacks ${r.id}`);
});
