import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../../src/graph/index.js';
import { Linear, ReLU, Sequential, Dropout, BatchNorm1d, Module, manualSeed, accuracy } from '../../src/nn/index.js';
import { l1Loss, mseLoss } from '../../src/nn/losses.js';
import { withFrozenParameters } from '../../src/nn/export.js';
import { compile } from '../../src/runtime/compile.js';
import { adam, cosineWithWarmup } from '../../src/optim/index.js';
import { Trainer, type TrainerConfig } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { csvLogger, earlyStopping, modelCheckpoint } from '../../src/train/callbacks.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

/** Two interleaved spirals-ish blobs: a small, real classification problem. */
function blobs(n: number, seed: number): { x: L.NDArray; y: L.NDArray } {
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const x = new Float32Array(n * 4);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y.push(c);
    for (let j = 0; j < 4; j++) x[i * 4 + j] = r() * 0.6 + (j === c ? 1.5 : 0);
  }
  return { x: L.float32([n, 4], x), y: L.int64([n], y) };
}

const make = (dir?: string, epochs = 4, extra: object = {}) => {
  manualSeed(3);
  const model = new Sequential(new Linear(4, 16), new BatchNorm1d(16), ReLU(), new Dropout(0.1), new Linear(16, 3));
  return new Trainer({
    model,
    optimizer: adam(),
    lr: cosineWithWarmup(0.02, 60, { warmup: 5 }),
    epochs,
    seed: 11,
    runDir: dir,
    metrics: { acc: (o, b) => accuracy(o, b.y) },
    callbacks: dir
      ? [modelCheckpoint({ monitor: 'val_accuracy', saveTopK: 2 }), csvLogger(join(dir, 'metrics.csv'))]
      : [],
    ...extra,
  });
};
const train = blobs(240, 1);
const val = blobs(90, 2);

test('fit learns a real classification problem and validates', async () => {
  const t = make();
  const logs = await t.fit(
    new ArrayLoader(train, { batchSize: 16, shuffle: true, seed: 5 }),
    new ArrayLoader(val, { batchSize: 32 }),
  );
  assert.ok(logs!.metrics.val_accuracy > 0.9, `val accuracy ${logs!.metrics.val_accuracy}`);
  assert.ok(logs!.metrics.train_loss < 0.5, `train loss ${logs!.metrics.train_loss}`);
});

test('same seed → identical metrics; resume from a checkpoint → bit-identical final weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-trainer-'));
  const loaders = () =>
    [
      new ArrayLoader(train, { batchSize: 16, shuffle: true, seed: 5 }),
      new ArrayLoader(val, { batchSize: 32 }),
    ] as const;
  const a = make(join(dir, 'a'));
  const la = await a.fit(...loaders());
  const b = make(join(dir, 'b'));
  const lb = await b.fit(...loaders());
  assert.deepEqual(la!.metrics, lb!.metrics);
  // interrupted run: 2 epochs, then a fresh process-equivalent resumes to 4
  const c = make(join(dir, 'c'), 2);
  await c.fit(...loaders());
  const d = make(join(dir, 'c'), 4);
  await d.fit(...loaders(), { resumeFrom: join(dir, 'c') });
  for (const [k, p] of a.cfg.model.namedState()) {
    const q = d.cfg.model.namedState().find(([kk]) => kk === k)![1];
    assert.deepEqual(Array.from(q.data.data as Float32Array), Array.from(p.data.data as Float32Array), `param ${k}`);
  }
  // checkpoints: last + top-2 + best, manifests verify, CSV has one row per epoch
  const ck = loadCheckpoint(join(dir, 'a'));
  assert.equal(ck.manifest.epoch, 4);
  assert.ok(existsSync(join(dir, 'a', 'best.json')));
  assert.equal(
    readFileSync(join(dir, 'a', 'metrics.csv'), 'utf8')
      .trim()
      .split('\n').length,
    5,
  );
  // a corrupted tensor file is detected: named by its manifest, refused; from the run dir, the newest intact
  // checkpoint is used instead and the fallback says so
  const tf = join(dir, 'a', ck.manifest.tensorsFile);
  const bytes = readFileSync(tf);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(tf, bytes);
  assert.throws(() => loadCheckpoint(join(dir, 'a', 'last.json')), /checksum mismatch \(corrupt checkpoint\)/);
  const fb = loadCheckpoint(join(dir, 'a'));
  assert.match(fb.fallback ?? '', /checksum mismatch[\s\S]*using \S+(best|epoch\d)\.json \(step \d+\) instead/);
  assert.ok(fb.manifest.step <= ck.manifest.step && fb.path !== join(dir, 'a', 'last.json'));
});

test('early stopping stops when the monitored metric stalls', async () => {
  const t = make(undefined, 50, { lr: 0, callbacks: [earlyStopping({ monitor: 'val_loss', patience: 2 })] });
  const logs = await t.fit(new ArrayLoader(train, { batchSize: 64 }), new ArrayLoader(val, { batchSize: 64 }));
  assert.ok(logs!.epoch < 5, `stopped at epoch ${logs!.epoch}`);
});

// ---- several model inputs (inputKeys), custom loss and metrics in evaluate ------------------------------------

/** forward(a [N, 3], b [N, 2]) → [N, 1]: two input towers summed, then a head. */
class TwoTower extends Module {
  readonly ta = new Linear(3, 16);
  readonly tb = new Linear(2, 16);
  readonly head = new Linear(16, 1);
  forward(a: L.Tensor, b: L.Tensor): L.Tensor {
    return this.head.forward(L.relu(L.add(this.ta.forward(a), this.tb.forward(b))));
  }
}

/** y = a·(1, −2, 0.5) + b·(1.5, −1): a regression that needs both inputs. */
function twoInputs(n: number, seed: number): { a: L.NDArray; b: L.NDArray; y: L.NDArray } {
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const a = Float32Array.from({ length: n * 3 }, r);
  const b = Float32Array.from({ length: n * 2 }, r);
  const y = Float32Array.from(
    { length: n },
    (_, i) => a[i * 3] - 2 * a[i * 3 + 1] + 0.5 * a[i * 3 + 2] + 1.5 * b[i * 2] - b[i * 2 + 1],
  );
  return { a: L.float32([n, 3], a), b: L.float32([n, 2], b), y: L.float32([n, 1], y) };
}

const twoTower = (extra: Partial<TrainerConfig> = {}) => {
  manualSeed(5);
  return new Trainer({
    model: new TwoTower(),
    optimizer: adam(),
    lr: 0.02,
    epochs: 6,
    seed: 1,
    inputKeys: ['a', 'b'],
    loss: (o, b) => mseLoss(o, b.y),
    metrics: { mae: (o, b) => l1Loss(o, b.y) },
    ...extra,
  });
};

test('inputKeys: a two-input model trains (loss falls); evaluate returns the custom loss and metrics as computed by hand', async () => {
  const data = twoInputs(200, 3);
  const held = twoInputs(61, 4);
  const losses: number[] = [];
  const t = twoTower({ callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }] });
  const logs = await t.fit(
    new ArrayLoader(data, { batchSize: 20, shuffle: true, seed: 2 }),
    new ArrayLoader(held, { batchSize: 16 }),
  );
  const first = losses.slice(0, 3).reduce((p, q) => p + q) / 3;
  const last = losses.slice(-3).reduce((p, q) => p + q) / 3;
  assert.ok(last < first * 0.2, `loss ${first} → ${last}`);

  // uneven batches (7 × 8 + 5): the batch means are weighted by rows, so the result is the mean over samples
  const ev = await t.evaluate(new ArrayLoader(held, { batchSize: 8 }));
  t.syncModel();
  const model = t.cfg.model;
  const f = compile((a: L.Tensor, b: L.Tensor) => withFrozenParameters(model, () => model.forward(a, b)));
  const out = (await f(held.a, held.b)).data as Float32Array;
  const yd = held.y.data as Float32Array;
  let se = 0;
  let ae = 0;
  for (let i = 0; i < 61; i++) {
    se += (out[i] - yd[i]) ** 2;
    ae += Math.abs(out[i] - yd[i]);
  }
  assert.equal(ev.samples, 61);
  assert.ok(ev.loss > 0, 'a custom loss is computed, not reported as 0');
  assert.ok(
    Math.abs(ev.loss - se / 61) < 1e-6 * Math.max(1, se / 61),
    `evaluate loss ${ev.loss} vs by hand ${se / 61}`,
  );
  assert.ok(Math.abs(ev.metrics!.mae - ae / 61) < 1e-6, `evaluate mae ${ev.metrics!.mae} vs by hand ${ae / 61}`);
  assert.equal(ev.accuracy, undefined);
  // fit reports the same held-out numbers as val_loss / val_<metric> (another batch size: same means)
  assert.ok(Math.abs(logs!.metrics.val_loss - ev.loss) < 1e-6, `val_loss ${logs!.metrics.val_loss} vs ${ev.loss}`);
  assert.ok(Math.abs(logs!.metrics.val_mae - ev.metrics!.mae) < 1e-6, `val_mae ${logs!.metrics.val_mae}`);
  await t.release();
});

test('default loss with metrics: evaluate keeps JS cross-entropy/accuracy and adds the in-graph metrics', async () => {
  const t = make(undefined, 2);
  const logs = await t.fit(
    new ArrayLoader(train, { batchSize: 16, shuffle: true, seed: 5 }),
    new ArrayLoader(val, { batchSize: 32 }),
  );
  const ev = await t.evaluate(new ArrayLoader(val, { batchSize: 25 }));
  assert.ok(ev.accuracy !== undefined && ev.loss > 0);
  assert.ok(
    Math.abs(ev.metrics!.acc - ev.accuracy) < 1e-6,
    `in-graph acc ${ev.metrics!.acc} vs JS accuracy ${ev.accuracy}`,
  );
  assert.ok(Math.abs(logs!.metrics.val_acc - logs!.metrics.val_accuracy) < 1e-6);
  await t.release();
});

test('inputKeys: clear errors for a missing batch key and for inputKey together with inputKeys', async () => {
  assert.throws(
    () => twoTower({ inputKey: 'a' }),
    /Trainer: set inputKey \(one model input\) or inputKeys \(several, in forward order\), not both/,
  );
  assert.throws(() => twoTower({ inputKeys: [] }), /inputKeys must name at least one batch key/);
  const data = twoInputs(16, 1);
  const t = twoTower({ inputKeys: ['a', 'c'] });
  await assert.rejects(
    t.fit(new ArrayLoader(data, { batchSize: 8 })),
    /Trainer: the batch has no "c" \(a model input key\); its keys are "a", "b", "y"/,
  );
  await assert.rejects(
    t.evaluate(new ArrayLoader(data, { batchSize: 8 })),
    /evaluate: the batch has no "c" \(a model input key\); its keys are "a", "b", "y"/,
  );
  await t.release();
});
