// lathe predict knows its model: preprocessing, labels and output kind come from the lathe.inference metadata that
// training writes into model.onnx; inputs that do not fit are refused naming the expected and actual shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ndarray } from '../../src/graph/ndarray.js';
import { constant } from '../../src/graph/ops/leaf.js';
import { embedding } from '../../src/graph/ops/indexing.js';
import { softmax } from '../../src/graph/ops/norm.js';
import { mean } from '../../src/graph/ops/reduce.js';
import { matmul } from '../../src/graph/ops/linalg.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { exportOnnx } from '../../src/onnx/export.js';
import { inferenceMetadataProps, readInferenceMetadata } from '../../src/onnx/inference-metadata.js';
import { predictFile } from '../../src/serve/predict.js';
import { runTraining } from '../../src/train/run.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { packageRoot } from '../../src/util/package-root.js';
import { runCli } from '../util/cli.js';
import { FASHION_CLASSES } from '../../src/data/fashion.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-predict-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const t10k = join(packageRoot(), 'data', 'fashion-mnist-subset', 't10k-images-idx3-ubyte.gz');
const FASHION: readonly string[] = FASHION_CLASSES;

let trained: string | undefined;
async function trainedModel(): Promise<string> {
  if (trained) return trained;
  const cfg = parseTrainConfig({
    name: 'p',
    model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [16] } },
    data: { name: 'fashion-mnist-subset', limit: 256 },
    optimizer: { name: 'adam', lr: 0.003 },
    trainer: { epochs: 1 },
    output: join(tmp, 'run'),
  });
  trained = (await runTraining(cfg, { quiet: true })).onnxPath;
  return trained;
}

test('training writes the inference metadata; predict uses it for IDX images (every row, labels, probabilities)', async () => {
  const model = await trainedModel();
  const meta = readInferenceMetadata(decodeModel(readFileSync(model)));
  assert.deepEqual(meta, {
    input: { kind: 'image', channels: 1, height: 28, width: 28, mean: [0.286], std: [0.353] },
    output: 'logits',
    classes: FASHION,
  });
  const r = await predictFile(model, t10k, { top: 2 });
  assert.equal(r.predictions.length, 2000, 'every row, not the first 1,000');
  assert.deepEqual(r.warnings, []);
  for (const p of r.predictions.slice(0, 20)) {
    assert.equal(p.top.length, 2);
    assert.ok(FASHION.includes(p.top[0].label!));
    assert.ok(p.top[0].p >= p.top[1].p && p.top[0].p <= 1);
  }
});

test('images: a fitting PNG is read as is; a colour image of another size is converted with warnings; a text file named .png is refused', async () => {
  const model = await trainedModel();
  const grey = join(tmp, 'grey.png');
  await sharp(Buffer.alloc(28 * 28, 200), { raw: { width: 28, height: 28, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(grey);
  let r = await predictFile(model, grey);
  assert.equal(r.predictions.length, 1);
  assert.deepEqual(r.warnings, []);
  const colour = join(tmp, 'colour.png');
  await sharp(Buffer.alloc(56 * 40 * 3, 90), { raw: { width: 56, height: 40, channels: 3 } })
    .png()
    .toFile(colour);
  r = await predictFile(model, colour);
  assert.match(r.warnings.join('\n'), /56×40 image resized to the model's 28×28/);
  assert.match(r.warnings.join('\n'), /colour image converted to greyscale/);
  const fake = join(tmp, 'fake.png');
  writeFileSync(fake, 'not an image');
  await assert.rejects(predictFile(model, fake), /fake\.png: cannot decode image/);
  const wrong = join(tmp, 'wrong.json');
  writeFileSync(wrong, JSON.stringify([[1, 2, 3]]));
  await assert.rejects(predictFile(model, wrong), /wrong\.json: 3 values do not form rows of shape \[1, 28, 28\]/);
  await assert.rejects(predictFile(model, grey, { top: 0 }), /--top: expected a positive integer/);
});

test('a model that outputs probabilities is not softmaxed twice; int64 token models take ids; no metadata is a warning', async () => {
  const w = ndarray('float32', [3, 4], [1, 0, 0, 2, 0, 1, 0, 0, 0, 0, 3, 1]);
  const probs = join(tmp, 'probs.onnx');
  exportOnnx((x) => softmax(matmul(x, constant(w))), [{ dtype: 'float32', shape: ['batch', 3] }], {
    path: probs,
    inputNames: ['x'],
    metadata: inferenceMetadataProps({
      input: { kind: 'array' },
      output: 'probabilities',
      classes: ['a', 'b', 'c', 'd'],
    }),
  });
  const rows = join(tmp, 'rows.json');
  writeFileSync(
    rows,
    JSON.stringify([
      [1, 0, 0],
      [0, 0, 1],
    ]),
  );
  const r = await predictFile(probs, rows, { top: 4 });
  // row 0: softmax([1, 0, 0, 2]) — reported as the model gives it
  const e = [Math.E, 1, 1, Math.E ** 2];
  const s = e.reduce((a, b) => a + b);
  assert.deepEqual(
    r.predictions[0].top.map((t) => t.label),
    ['d', 'a', 'b', 'c'],
  );
  assert.ok(Math.abs(r.predictions[0].top[0].p - e[3] / s) < 1e-4);

  const table = ndarray(
    'float32',
    [8, 5],
    Array.from({ length: 40 }, (_, i) => (i % 7) / 7),
  );
  const tokens = join(tmp, 'tokens.onnx');
  exportOnnx((ids) => mean(embedding(ids, constant(table)), 1), [{ dtype: 'int64', shape: ['batch', 4] }], {
    path: tokens,
    inputNames: ['ids'],
    metadata: inferenceMetadataProps({ input: { kind: 'tokens', vocab: 8 }, output: 'logits' }),
  });
  const ids = join(tmp, 'ids.json');
  writeFileSync(
    ids,
    JSON.stringify([
      [1, 2, 3, 4],
      [7, 7, 0, 0],
    ]),
  );
  assert.equal((await predictFile(tokens, ids)).predictions.length, 2);
  writeFileSync(ids, JSON.stringify([[1, 2, 3, 8]]));
  await assert.rejects(predictFile(tokens, ids), /token id 8 is not an integer in \[0, 8\)/);

  const bare = join(tmp, 'bare.onnx');
  exportOnnx((x) => x, [{ dtype: 'float32', shape: ['batch', 1, 28, 28] }], { path: bare, inputNames: ['x'] });
  const grey = join(tmp, 'grey.png');
  const r2 = await predictFile(bare, grey);
  assert.match(r2.warnings.join('\n'), /no lathe\.inference metadata: pixels scaled to \[0, 1\]/);
});

test('lathe predict: bad flags and files exit 2 with one line', async () => {
  const model = await trainedModel();
  let r = runCli(['predict', model, t10k, '--top', 'abc']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--top: expected a positive integer, got abc/);
  r = runCli(['predict', model, join(tmp, 'nothing.png')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /nothing\.png: input file not found/);
  r = runCli(['predict', model, t10k, '--top', '1', '--labels', FASHION.map((c) => c.toUpperCase()).join(',')]);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  assert.equal(rows.length, 2000);
  assert.ok(FASHION.map((c) => c.toUpperCase()).includes(JSON.parse(rows[0]).top[0].label));
});

test('lathe predict takes a models:/name@alias URI from the registry', () => {
  const store = join(tmp, 'tracking');
  const cfg = join(tmp, 'reg.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      name: 'reg',
      model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [8] } },
      data: { name: 'fashion-mnist-subset', limit: 128 },
      optimizer: { name: 'adam', lr: 0.003 },
      trainer: { epochs: 1 },
      output: join(tmp, 'reg'),
    }),
  );
  const env = { LATHE_TRACKING_URL: store };
  let r = runCli(['train', cfg, '--track', '--register', 'fashion', '--json'], { env });
  assert.equal(r.status, 0, r.stderr);
  r = runCli(['registry', 'alias', 'fashion', 'champion', '1'], { env });
  assert.equal(r.status, 0, r.stderr);
  r = runCli(['predict', 'models:/fashion@champion', t10k, '--top', '1'], { env });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  assert.equal(rows.length, 2000);
  assert.ok(FASHION.includes(JSON.parse(rows[0]).top[0].label), "labels from the registered model's metadata");
  r = runCli(['predict', 'models:/fashion@nope', t10k], { env });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no alias 'nope'/);
});
