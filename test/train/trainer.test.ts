import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../../src/graph/index.js';
import { Linear, ReLU, Sequential, Dropout, BatchNorm1d, manualSeed, accuracy } from '../../src/nn/index.js';
import { adam, cosineWithWarmup } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
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
    model, optimizer: adam(), lr: cosineWithWarmup(0.02, 60, { warmup: 5 }), epochs, seed: 11, runDir: dir,
    metrics: { acc: (o, b) => accuracy(o, b.y) },
    callbacks: dir ? [modelCheckpoint({ monitor: 'val_accuracy', saveTopK: 2 }), csvLogger(join(dir, 'metrics.csv'))] : [],
    ...extra,
  });
};
const train = blobs(240, 1);
const val = blobs(90, 2);

test('fit learns a real classification problem and validates', async () => {
  const t = make();
  const logs = await t.fit(new ArrayLoader(train, { batchSize: 16, shuffle: true, seed: 5 }), new ArrayLoader(val, { batchSize: 32 }));
  assert.ok(logs!.metrics.val_accuracy > 0.9, `val accuracy ${logs!.metrics.val_accuracy}`);
  assert.ok(logs!.metrics.train_loss < 0.5, `train loss ${logs!.metrics.train_loss}`);
});

test('same seed → identical metrics; resume from a checkpoint → bit-identical final weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-trainer-'));
  const loaders = () => [new ArrayLoader(train, { batchSize: 16, shuffle: true, seed: 5 }), new ArrayLoader(val, { batchSize: 32 })] as const;
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
  assert.equal(readFileSync(join(dir, 'a', 'metrics.csv'), 'utf8').trim().split('\n').length, 5);
  // a corrupted tensor file is detected
  const tf = join(dir, 'a', 'last.safetensors');
  const bytes = readFileSync(tf);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(tf, bytes);
  assert.throws(() => loadCheckpoint(join(dir, 'a')), /checksum mismatch \(corrupt checkpoint\)/);
});

test('early stopping stops when the monitored metric stalls', async () => {
  const t = make(undefined, 50, { lr: 0, callbacks: [earlyStopping({ monitor: 'val_loss', patience: 2 })] });
  const logs = await t.fit(new ArrayLoader(train, { batchSize: 64 }), new ArrayLoader(val, { batchSize: 64 }));
  assert.ok(logs!.epoch < 5, `stopped at epoch ${logs!.epoch}`);
});
