import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { design, DesignError, type Requirements } from '../../src/advise/design.js';
import { parseTrainConfig } from '../../src/train/config.js';

const tabular: Requirements = { task: 'tabular-classification', inputShape: [8], classes: 3, datasetSize: 2000 };

test('design ranks candidates with traced params/FLOPs, measured latency and step time, and writes configs that validate', {
  timeout: 300_000,
}, async () => {
  const out = mkdtempSync(join(tmpdir(), 'lathe-design-'));
  const r = await design({ ...tabular, outDir: out });
  assert.ok(r.candidates.length >= 2);
  const c = r.candidates[0];
  assert.equal(c.rank, 1);
  assert.equal(
    r.candidates.find((x) => x.id === 'mlp-64')?.params,
    8 * 64 + 64 + 64 * 3 + 3,
    'parameters counted from the traced model',
  );
  assert.ok(c.flops > 0 && c.latency.ms > 0 && c.training.stepMs > 0);
  assert.match(c.latency.how, /measured/);
  assert.ok(c.reasonsFor.length && c.reasonsAgainst.length, 'an unrecorded family says so');
  assert.ok(c.configPath && existsSync(c.configPath));
  const cfg = parseTrainConfig(parseYaml(readFileSync(c.configPath!, 'utf8')), c.configPath);
  assert.equal(cfg.model.name, c.model.name);
});

test('design: a parameter budget filters, and another platform is an estimate that says so', {
  timeout: 300_000,
}, async () => {
  const r = await design({ ...tabular, maxParams: 1000, platform: 'browser' });
  assert.ok(r.candidates.every((c) => c.params <= 1000));
  assert.ok(r.rejected.some((c) => c.violations.some((v) => /parameters > 1,000/.test(v))));
  assert.match(r.candidates[0].latency.how, /estimated/);
});

test('design: clear errors for an unknown task, a bad shape and an impossible budget (with the nearest candidate)', {
  timeout: 300_000,
}, async () => {
  await assert.rejects(
    design({ ...tabular, task: 'telepathy' as never }),
    (e: Error) => e instanceof DesignError && /unknown task "telepathy" \(known: image-classification/.test(e.message),
  );
  await assert.rejects(
    design({ ...tabular, task: 'image-classification' }),
    /inputShape: image classification takes \[channels, height, width\]/,
  );
  await assert.rejects(
    design({ ...tabular, maxParams: 10 }),
    (e: Error) =>
      e instanceof DesignError && /no candidate fits the budget; nearest: mlp-64 .* parameters > 10/.test(e.message),
  );
  await assert.rejects(
    design({ ...tabular, task: 'text-classification' }),
    /vocab: text-classification needs the token vocabulary size/,
  );
});

test('design predicts from the recorded quality runs where the task matches', { timeout: 600_000 }, async () => {
  const r = await design({
    task: 'image-classification',
    inputShape: [1, 28, 28],
    classes: 10,
    datasetSize: 54000,
    dataset: 'fashion-mnist',
    maxParams: 500_000,
    latencyMs: 5,
    top: 8,
  });
  const cnn = [...r.candidates, ...r.rejected].find((c) => c.id === 'cnn-32-64')!;
  assert.equal(cnn.expected?.basis, 'recorded');
  assert.equal(cnn.expected?.accuracy, 0.921);
  assert.ok(
    r.rejected.some((c) => c.id === 'resnet-2-2-2'),
    '697k params is over the 500k budget',
  );
});
