import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { design, DesignError, type Requirements } from '../../src/advise/design.js';
import { designStudy } from '../../src/advise/design-study.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { parseTuneConfig } from '../../src/tune/config.js';

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

test('design --tune: the top candidates become one two-objective tune study that lathe tune accepts', {
  timeout: 300_000,
}, async () => {
  const out = mkdtempSync(join(tmpdir(), 'lathe-design-study-'));
  const r = await design({ ...tabular, dataset: 'fashion-mnist-subset', latencyBatch: 8, outDir: out });
  const s = designStudy(r, { outDir: out, trials: 5 });
  assert.equal(s.path, join(out, 'tune.yaml'));
  const cfg = parseTuneConfig(parseYaml(readFileSync(s.path, 'utf8')), out, s.path);
  const ids = r.candidates.slice(0, 3).map((c) => c.id);
  assert.deepEqual(cfg.directions, ['maximize', 'minimize']);
  assert.equal(cfg.n_trials, 5);
  assert.deepEqual(cfg.space?.arch, { type: 'categorical', choices: ids });
  if (typeof cfg.objective === 'string') assert.fail('a training objective');
  assert.deepEqual(cfg.objective.latency, { batch: 8, threads: 1 });
  assert.deepEqual(Object.keys(cfg.objective.variants?.configs ?? {}), ids);
  for (const c of r.candidates.slice(0, 3)) {
    const lr = (c.config.optimizer as { lr: number }).lr;
    const p: unknown = cfg.space?.[`lr_${c.id.replace(/-/g, '_')}`];
    assert.deepEqual(p, { type: 'float', low: lr / 3, high: lr * 3, log: true, when: { arch: [c.id] } });
    const v = cfg.objective.variants?.configs[c.id] as { model: unknown; optimizer: { lr: string } };
    assert.deepEqual(v.model, c.config.model);
    assert.equal(v.optimizer.lr, `\${lr_${c.id.replace(/-/g, '_')}}`);
  }
});

test('design: language models need their text; the configs read it as bytes', { timeout: 300_000 }, async () => {
  const lm: Requirements = { task: 'language-modelling', inputShape: [32], datasetSize: 500 };
  await assert.rejects(design(lm), /textPath: language-modelling needs the training text/);
  await assert.rejects(design({ ...lm, textPath: '/nonexistent.txt' }), /textPath: \/nonexistent\.txt: no such file/);
  const text = join(mkdtempSync(join(tmpdir(), 'lathe-design-lm-')), 'corpus.txt');
  writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(40));
  await assert.rejects(
    design({ ...lm, textPath: text, vocab: 1000 }),
    /vocab: the configs design writes read text as bytes/,
  );
  const r = await design({ ...lm, textPath: text, maxParams: 150_000, top: 1 });
  const cfg = parseTrainConfig(r.candidates[0].config, 'lm config');
  assert.equal(cfg.loss, 'lm');
  assert.deepEqual(
    { ...cfg.data.text, valFraction: undefined, testFraction: undefined },
    { path: text, context: 32, stride: 8, tokenizer: 'byte', valFraction: undefined, testFraction: undefined },
  );
});
