// A training config as the objective of `lathe tune`: placeholders, early validation, and a real (tiny) run through
// the Trainer with ASHA pruning on the bundled Fashion-MNIST subset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { fillTemplate, templatePlaceholders } from '../../src/cli/train-objective.js';
import { openStorage } from '../../src/tune/storage/open.js';
import { openStore } from '../../src/track/open.js';
import { runCli } from '../util/cli.js';
import { tempDir, writeConfig } from '../tune/helpers.js';

test('templates: a whole-field placeholder keeps its type, others interpolate; paths are reported', () => {
  const t = { model: { options: { hidden: ['${width}', 64], dropout: '${p}' } }, output: 'runs/s/${trial}-x', keep: 3 };
  assert.deepEqual(fillTemplate(t, { width: 128, p: 0.25, trial: 7 }), {
    model: { options: { hidden: [128, 64], dropout: 0.25 } },
    output: 'runs/s/7-x',
    keep: 3,
  });
  assert.deepEqual(templatePlaceholders(t), [
    { name: 'width', path: 'model.options.hidden.0' },
    { name: 'p', path: 'model.options.dropout' },
    { name: 'trial', path: 'output' },
  ]);
  assert.throws(() => fillTemplate('${nope}', {}), /placeholder \$\{nope\} has no value/);
});

/** MLP on 400 subset images, at most 3 epochs: each trial takes well under a second of training. */
const tuneConfig = (train: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  study: 'fm',
  direction: 'maximize',
  n_trials: 5,
  sampler: { type: 'random', seed: 2 },
  pruner: { type: 'asha', min_resource: 1, reduction_factor: 2 },
  space: {
    lr: { type: 'float', low: 1.0e-4, high: 1.0e-2, log: true },
    width: { type: 'int', low: 8, high: 32, step: 8 },
    dropout: { type: 'float', low: 0, high: 0.5 },
  },
  objective: { monitor: 'val_accuracy', train },
  ...extra,
});
const trainTemplate = (over: Record<string, unknown> = {}) => ({
  seed: 0,
  model: { name: 'mlp', options: { hidden: ['${width}'], dropout: '${dropout}', imageShape: [1, 28, 28] } },
  data: { name: 'fashion-mnist-subset', batchSize: 100, valFraction: 0.25, limit: 400 },
  optimizer: { name: 'adam', lr: '${lr}' },
  trainer: { epochs: 3, threads: 1 },
  callbacks: { checkpoint: { monitor: 'val_accuracy', saveTopK: 0 } },
  ...over,
});

test('lathe tune: a training-config objective is checked before any trial (errors name the field)', () => {
  const d = tempDir();
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        tuneConfig(trainTemplate({ optimizer: { name: 'adam', lr: '${rate}' } })),
        /objective\.train\.optimizer\.lr: placeholder \$\{rate\} is not a parameter of space/,
      ],
      [tuneConfig(trainTemplate({ trainer: { epochs: '${width}x' } })), /objective\.train\.trainer\.epochs: .*number/i],
      [
        tuneConfig(
          trainTemplate({ model: { name: 'mlp', options: { hidden: ['${width}'], dropout: '${lr}', depth: 3 } } }),
        ),
        /objective\.train\.model\.options: Unrecognized key.*depth/,
      ],
      [tuneConfig(trainTemplate({ model: { name: 'nope' } })), /objective\.train\.model\.name: unknown model "nope"/],
      [
        tuneConfig(trainTemplate(), { directions: ['maximize', 'minimize'], direction: undefined }),
        /one metric; use direction/,
      ],
      [tuneConfig('missing.yaml' as never), /objective\.train: cannot read training config '.*missing\.yaml'/],
    ];
    for (const [c, re] of cases) {
      const path = writeConfig(d.dir, c);
      const r = runCli(['tune', path, '--storage', `sqlite:///${join(d.dir, 'bad.db')}`], { cwd: d.dir });
      assert.equal(r.status, 2, `${re}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  } finally {
    d.cleanup();
  }
});

test('lathe tune: trials train through the Trainer, ASHA prunes by epoch, the best exports as a training config', async () => {
  const d = tempDir();
  try {
    const path = writeConfig(d.dir, tuneConfig(trainTemplate()));
    const url = `sqlite:///${join(d.dir, 'fm.db')}`;
    const best = join(d.dir, 'best.yaml');
    const tracking = join(d.dir, 'tracking');
    const r = runCli(['tune', path, '--storage', url, '--json', '--export-best', best], {
      cwd: d.dir,
      env: { LATHE_TRACKING_URL: tracking },
    });
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(s.trials.complete + s.trials.pruned, 5);
    assert.ok(s.trials.pruned >= 1, `ASHA with eta 2 prunes someone: ${JSON.stringify(s.trials)}`);
    const storage = await openStorage(url);
    try {
      const trials = await storage.getTrials((await storage.getStudy('fm'))!.id);
      for (const t of trials) {
        // One report per epoch at step = epochs completed; a complete trial reported all 3 and returned the last.
        const steps = [...t.intermediate.keys()].sort();
        assert.deepEqual(
          steps,
          [...Array(steps.length).keys()].map((i) => i + 1),
        );
        if (t.state === 'COMPLETE') {
          assert.deepEqual(steps, [1, 2, 3]);
          assert.equal(t.values![0], t.intermediate.get(3));
          assert.ok(typeof t.userAttrs.test_accuracy === 'number' && t.userAttrs.test_accuracy > 0.1);
          assert.ok(existsSync(join(d.dir, 'runs', 'fm', `trial-${t.number}`, 'model.onnx')));
        } else assert.ok(steps.length < 3, `pruned trial ${t.number} stopped early`);
      }
    } finally {
      await storage.close();
    }
    // With LATHE_TRACKING_URL each trial is a tracking run carrying the Trainer's per-epoch metrics.
    const store = await openStore(tracking, { sweep: false });
    try {
      const runs = (await store.listRuns({ experiment: 'fm', limit: 10 })).runs;
      assert.equal(runs.length, 5);
      const bestRun = runs.find((x) => x.tags['tune.trial'] === String(s.best[0].number))!;
      assert.equal(bestRun.tags['tune.state'], 'COMPLETE');
      assert.equal((await store.metricSeries(bestRun.id, 'val_accuracy')).length, 3);
    } finally {
      await store.close();
    }
    const exported = YAML.parse(readFileSync(best, 'utf8'));
    assert.equal(exported.optimizer.lr, s.best[0].params.lr);
    assert.deepEqual(exported.model.options.hidden, [s.best[0].params.width]);
    assert.equal(exported.output, join('runs', 'fm', 'best'));
  } finally {
    d.cleanup();
  }
});

/** Two architectures as variants of one template, with latency as the second objective (what `design --tune` writes). */
const variantConfig = (over: Record<string, unknown> = {}) => ({
  study: 'arch',
  directions: ['maximize', 'minimize'],
  n_trials: 3,
  sampler: { type: 'random', seed: 1 },
  space: {
    arch: { type: 'categorical', choices: ['narrow', 'wide'] },
    lr_narrow: { type: 'float', low: 1e-3, high: 3e-3, log: true, when: { arch: ['narrow'] } },
    lr_wide: { type: 'float', low: 1e-3, high: 3e-3, log: true, when: { arch: ['wide'] } },
  },
  objective: {
    monitor: 'val_accuracy',
    latency: { batch: 4, runs: 3 },
    variants: {
      by: 'arch',
      configs: {
        narrow: { model: { options: { hidden: [8] } }, optimizer: { lr: '${lr_narrow}' } },
        wide: { model: { options: { hidden: [64, 64] } }, optimizer: { lr: '${lr_wide}' } },
      },
    },
    train: trainTemplate({
      model: { name: 'mlp', options: { imageShape: [1, 28, 28] } },
      optimizer: { name: 'adam' },
      trainer: { epochs: 1, threads: 1 },
    }),
  },
  ...over,
});

test('lathe tune: variants choose the architecture, latency is the second objective, both checked up front', async () => {
  const d = tempDir();
  try {
    const bad: [Record<string, unknown>, RegExp][] = [
      [
        variantConfig({ directions: undefined, direction: 'maximize' }),
        /directions: a training objective with latency returns two values/,
      ],
      [
        variantConfig({
          space: { ...variantConfig().space, arch: { type: 'categorical', choices: ['narrow', 'deep'] } },
        }),
        /objective\.variants\.configs: no config for arch = deep/,
      ],
      [
        variantConfig({ space: { ...variantConfig().space, arch: { type: 'int', low: 0, high: 1 } } }),
        /objective\.variants\.by: 'arch' must be a categorical parameter/,
      ],
    ];
    for (const [c, re] of bad) {
      const path = writeConfig(d.dir, c);
      const r = runCli(['tune', path, '--storage', `sqlite:///${join(d.dir, 'bad.db')}`], { cwd: d.dir });
      assert.equal(r.status, 2, `${re}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const url = `sqlite:///${join(d.dir, 'arch.db')}`;
    const r = runCli(['tune', writeConfig(d.dir, variantConfig()), '--storage', url, '--json'], { cwd: d.dir });
    assert.equal(r.status, 0, r.stderr);
    const storage = await openStorage(url);
    try {
      const trials = await storage.getTrials((await storage.getStudy('arch'))!.id);
      assert.equal(trials.length, 3);
      const archs = new Set<unknown>();
      for (const t of trials) {
        assert.equal(t.state, 'COMPLETE');
        assert.equal(t.values!.length, 2);
        assert.ok(t.values![0] > 0.1, 'validation accuracy above chance');
        assert.ok(t.values![1] > 0, 'latency in ms');
        assert.equal(t.userAttrs.latency_ms, t.values![1]);
        // the chosen variant was merged in: its hidden layers and its own learning rate
        const cfg = JSON.parse(readFileSync(join(d.dir, 'runs', 'arch', `trial-${t.number}`, 'config.json'), 'utf8'));
        const arch = t.params.arch as string;
        archs.add(arch);
        assert.deepEqual(cfg.model.options.hidden, arch === 'narrow' ? [8] : [64, 64]);
        assert.equal(cfg.optimizer.lr, t.params[`lr_${arch}`]);
        assert.equal(cfg.optimizer.name, 'adam');
      }
      assert.equal(archs.size, 2, 'both architectures were tried');
    } finally {
      await storage.close();
    }
  } finally {
    d.cleanup();
  }
});
