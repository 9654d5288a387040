// `lathe compress` from the CLI: a trained, registered CNN → int8 with a report, logged to tracking and registered as
// version 2 with its source recorded → `lathe serve models:/…/2` serves it unchanged (the same outputs as running the
// written file). And the errors a user meets: no data set, an op without an int8 kernel, sensitivity without labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../../src/onnx/encode.js';
import { openStore } from '../../src/track/open.js';
import { runCli, startCli } from '../util/cli.js';

test('compress a registered model: int8 file + report, tracked, registered as v2, served unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-compress-'));
  const env = { LATHE_TRACKING_URL: `sqlite://${join(dir, 'track.db')}` };
  const cfg = join(dir, 'cfg.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      name: 'q',
      model: { name: 'cnn', options: { widths: [4, 8], hidden: 16 } },
      data: { name: 'fashion-mnist-subset', batchSize: 64, limit: 256 },
      optimizer: { name: 'adam', lr: 0.003 },
      trainer: { epochs: 1 },
      output: join(dir, 'run'),
    }),
  );
  const t = runCli(['train', cfg, '--json', '--register', 'cnn-q'], { env });
  assert.equal(t.status, 0, t.stderr);
  const qcfg = join(dir, 'compress.yaml');
  writeFileSync(
    qcfg,
    'quantize:\n  calibration:\n    method: entropy\n    samples: 128\ndata:\n  evalSamples: 300\nreport:\n  latencyBatches: [1, 8]\n  threads: 1\n',
  );
  const out = join(dir, 'cnn.int8.onnx');
  const c = runCli(
    ['compress', 'models:/cnn-q/1', '--config', qcfg, '--output', out, '--register', 'cnn-q', '--json'],
    { env },
  );
  assert.equal(c.status, 0, c.stderr);
  const line = JSON.parse(c.stdout.trim().split('\n').pop()!) as {
    registered: string;
    trackedRun: string;
    size: { ratio: number };
    accuracy: { before: number; after: number; samples: number };
    latency: { batch: number }[];
    kernels: Record<string, number>;
    quantize: { calibration: { method: string } };
  };
  assert.equal(line.registered, 'models:/cnn-q/2');
  assert.equal(line.quantize.calibration.method, 'entropy', 'the config file was read');
  assert.ok(line.size.ratio > 1.4, `size ratio ${line.size.ratio}`); // a tiny model: names and scales weigh as much as its weights
  assert.equal(line.accuracy.samples, 300, "the run's data set (from the registry lineage), 300 held-out samples");
  assert.ok(Math.abs(line.accuracy.before - line.accuracy.after) < 0.05, JSON.stringify(line.accuracy));
  assert.deepEqual(
    line.latency.map((l) => l.batch),
    [1, 8],
  );
  assert.equal(line.kernels.QLinearConv, 2);
  assert.equal(line.kernels.Conv, undefined);
  for (const f of ['cnn.int8.report.json', 'cnn.int8.report.md']) assert.ok(existsSync(join(dir, f)), f);
  assert.match(readFileSync(join(dir, 'cnn.int8.report.md'), 'utf8'), /\| latency, batch 1 \|/);

  const store = await openStore(env.LATHE_TRACKING_URL);
  try {
    const v = await store.getModelVersion('cnn-q', 2);
    assert.equal(v.tags['lathe.source_model'], 'models:/cnn-q/1');
    assert.equal(v.runId, line.trackedRun);
    assert.ok(Math.abs((v.metrics.accuracy_after ?? NaN) - line.accuracy.after) < 1e-9);
  } finally {
    await store.close();
  }

  const x = Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255 - 0.3);
  const local = await ort.InferenceSession.create(out);
  const expected = (await local.run({ [local.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) }))[
    local.outputNames[0]
  ].data as Float32Array;
  const server = await startCli(['serve', 'models:/cnn-q/2', '--port', '0'], { env });
  try {
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = (await fetch(`${server.url}/v2/health/ready`)).status === 200;
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ready);
    const res = await fetch(`${server.url}/v2/models/cnn-q/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: local.inputNames[0], datatype: 'FP32', shape: [1, 1, 28, 28], data: Array.from(x) }],
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { outputs: { data: number[] }[] };
    assert.deepEqual(
      body.outputs[0].data.map((v) => Math.fround(v)),
      Array.from(expected),
    );
  } finally {
    await server.stop();
  }
});

test('compress errors name what is wrong: the file, the config field, the data set, the op without an int8 kernel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-compress-err-'));
  const model = join(dir, 'sin.onnx');
  writeFileSync(
    model,
    encodeModel({
      irVersion: 10,
      opsetImport: [{ domain: '', version: 21 }],
      graph: {
        node: [{ opType: 'Sin', input: ['x'], output: ['y'], name: 'sin', attribute: [] }],
        initializer: [],
        valueInfo: [],
        input: [
          {
            name: 'x',
            type: {
              tensorType: {
                elemType: 1,
                shape: { dim: [{ dimParam: 'batch' }, { dimValue: 1 }, { dimValue: 28 }, { dimValue: 28 }] },
              },
            },
          },
        ],
        output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      },
    }),
  );
  const missing = runCli(['compress', join(dir, 'missing.onnx')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing\.onnx: no such file or run directory/);
  const bad = runCli(['compress', model, '--calibration', 'median', '--data', 'fashion-mnist-subset']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /quantize\.calibration\.method/);
  const noName = runCli(['compress', model]);
  assert.equal(noName.status, 2);
  assert.match(noName.stderr, /data\.name: name the data set/);
  const sin = runCli(['compress', model, '--data', 'fashion-mnist-subset', '--samples', '8']);
  assert.equal(sin.status, 2);
  assert.match(sin.stderr, /nothing to quantize: .*ops: Sin/);
});

test('compress --quantize dynamic: no data set needed, timed on a synthetic input', async () => {
  const L = await import('../../src/graph/index.js');
  const { emitModel } = await import('../../src/onnx/emit.js');
  const { randn } = await import('../util/gradcheck.js');
  const dir = mkdtempSync(join(tmpdir(), 'lathe-compress-dyn-'));
  const x = L.placeholder('x', 'float32', ['batch', 16]);
  const y = L.matmul(
    L.relu(L.matmul(x, L.constant(randn([16, 32], 1, 'float32')))),
    L.constant(randn([32, 4], 2, 'float32')),
  );
  writeFileSync(join(dir, 'mlp.onnx'), encodeModel(emitModel({ inputs: [x], outputs: { y } })));
  const r = runCli([
    'compress',
    join(dir, 'mlp.onnx'),
    '--quantize',
    'dynamic',
    '--latency-batches',
    '1',
    '--threads',
    '1',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    kernels: Record<string, number>;
    accuracy?: unknown;
    latency: unknown[];
    output: string;
  };
  assert.equal(line.kernels.DynamicQuantizeMatMul, 2);
  assert.equal(line.accuracy, undefined);
  assert.equal(line.latency.length, 1);
  assert.ok(existsSync(join(dir, 'mlp.int8.onnx')));
  assert.match(readFileSync(join(dir, 'mlp.int8.report.md'), 'utf8'), /Dynamic int8 quantization/);
});

test('compress --prune magnitude --sparsity 0.5 on a run: pruned model, per-layer sparsity, accuracy before/after, no latency', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-compress-prune-'));
  const cfg = join(dir, 'cfg.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      name: 'p',
      model: { name: 'cnn', options: { widths: [4, 8], hidden: 16 } },
      data: { name: 'fashion-mnist-subset', batchSize: 64, limit: 256 },
      optimizer: { name: 'adam', lr: 0.003 },
      trainer: { epochs: 1 },
      output: join(dir, 'run'),
    }),
  );
  const t = runCli(['train', cfg, '--json']);
  assert.equal(t.status, 0, t.stderr);
  const r = runCli([
    'compress',
    join(dir, 'run'),
    '--prune',
    'magnitude',
    '--sparsity',
    '0.5',
    '--prune-scope',
    'layerwise',
    '--eval-samples',
    '200',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    output: string;
    prune: { sparsityReached: number; layers: { opType: string; sparsity: number }[] };
    accuracy: { samples: number };
    latency: unknown[];
    quantize: { mode: string };
  };
  assert.equal(line.output, join(dir, 'run', 'model.pruned.onnx'));
  assert.equal(line.quantize.mode, 'none');
  assert.ok(line.prune.layers.length >= 3, JSON.stringify(line.prune.layers));
  for (const l of line.prune.layers) assert.ok(Math.abs(l.sparsity - 0.5) < 0.01, JSON.stringify(l));
  assert.equal(line.accuracy.samples, 200);
  assert.deepEqual(line.latency, []);
  assert.match(readFileSync(join(dir, 'run', 'model.pruned.report.md'), 'utf8'), /## Pruned layers/);
  const noS = runCli(['compress', join(dir, 'run'), '--prune', 'magnitude']);
  assert.equal(noS.status, 2);
  assert.match(noS.stderr, /--prune: give the target --sparsity/);
  const badS = runCli(['compress', join(dir, 'run'), '--prune', 'magnitude', '--sparsity', '1.2']);
  assert.equal(badS.status, 2);
  assert.match(badS.stderr, /--sparsity: invalid value '1\.2'/);
  const badM = runCli(['compress', join(dir, 'run'), '--prune', 'random', '--sparsity', '0.5']);
  assert.equal(badM.status, 2);
  assert.match(badM.stderr, /--prune: 'random' is not available \(available: magnitude, channel\)/);
  // structured: whole filters removed, a smaller dense model, timed
  const ch = runCli([
    'compress',
    join(dir, 'run'),
    '--prune',
    'channel',
    '--sparsity',
    '0.5',
    '--eval-samples',
    '200',
    '--latency-batches',
    '1',
    '--threads',
    '1',
    '--output',
    join(dir, 'ch.onnx'),
    '--json',
  ]);
  assert.equal(ch.status, 0, ch.stderr);
  const cl = JSON.parse(ch.stdout.trim().split('\n').pop()!) as {
    size: { ratio: number };
    prune: { channelGroups: { producers: string[]; channels: number; removed: number[] }[]; sparsityReached: number };
    latency: unknown[];
    accuracy: { after: number };
  };
  assert.ok(cl.prune.channelGroups.length >= 1, JSON.stringify(cl.prune));
  for (const g of cl.prune.channelGroups) assert.equal(g.removed.length, Math.floor(g.channels / 2));
  assert.ok(cl.size.ratio > 1, `a smaller file: ${cl.size.ratio}`); // the CNN's Gemm after Flatten (no global pool) keeps the second conv whole
  assert.equal(cl.latency.length, 1);
  assert.ok(Number.isFinite(cl.accuracy.after));
});
