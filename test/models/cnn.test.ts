import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { manualSeed, exportModule, type Module } from '../../src/nn/index.js';
import { Generator } from '../../src/nn/init.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { ResNet } from '../../src/models/resnet.js';
import { MobileNetV2 } from '../../src/models/mobilenet.js';
import { getModel } from '../../src/models/index.js';

/** 12×12 images of a bright horizontal vs vertical bar at random places, with noise. */
function bars(n: number, seed: number): { x: L.NDArray; y: L.NDArray } {
  const g = new Generator(seed);
  const s = 12;
  const x = new Float32Array(n * s * s);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const p = 2 + g.int(8);
    for (let j = 0; j < s * s; j++) x[i * s * s + j] = 0.3 * g.normal();
    for (let k = 0; k < s; k++) x[i * s * s + (c ? k * s + p : p * s + k)] += 2;
    y.push(c);
  }
  return { x: L.float32([n, 1, s, s], x), y: L.int64([n], y) };
}

async function trainTiny(model: Module): Promise<void> {
  const losses: number[] = [];
  const t = new Trainer({
    model,
    optimizer: adam(),
    lr: 3e-3,
    epochs: 3,
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  const logs = await t.fit(
    new ArrayLoader(bars(64, 1), { batchSize: 16, shuffle: true, seed: 1 }),
    new ArrayLoader(bars(32, 2), { batchSize: 32 }),
  );
  assert.ok(
    losses.slice(-2).reduce((a, b) => a + b) < losses.slice(0, 2).reduce((a, b) => a + b),
    `loss ${losses.map((l) => l.toFixed(3)).join(' ')}`,
  );
  assert.ok(Number.isFinite(logs!.metrics.val_loss));
  await t.release();
  const bytes = exportModule(model, [{ dtype: 'float32', shape: ['batch', 1, 12, 12] }]);
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ input: new ort.Tensor('float32', new Float32Array(3 * 144), [3, 1, 12, 12]) });
  assert.deepEqual(r.output.dims, [3, 2]);
}

test('resnet (basic, tiny): loss falls, exports with a symbolic batch', async () => {
  manualSeed(0);
  await trainTiny(new ResNet({ layers: [1, 1], widths: [8, 16], size: 12, classes: 2 }));
});

test('resnet (bottleneck, tiny): loss falls, exports', async () => {
  manualSeed(0);
  await trainTiny(new ResNet({ block: 'bottleneck', layers: [1, 1], widths: [4, 8], size: 12, classes: 2 }));
});

test('mobilenetv2 (tiny): loss falls, exports; registry knows resnet and mobilenetv2', async () => {
  manualSeed(0);
  await trainTiny(
    new MobileNetV2({
      stages: [
        [1, 8, 1, 1],
        [4, 16, 2, 2],
      ],
      stemWidth: 8,
      lastWidth: 32,
      size: 12,
      classes: 2,
      dropout: 0,
    }),
  );
  const r18 = getModel('resnet').create(getModel('resnet').options.parse({}));
  assert.ok(
    Math.abs(r18.parameterCount() - 11_170_000) < 30_000,
    `ResNet-18 (1 channel, 10 classes) params ${r18.parameterCount()}`,
  );
  assert.ok(getModel('mobilenetv2'));
});
