// U-Net: a tiny one learns to denoise real Fashion-MNIST images (the shipped subset) in a few steps, keeps the
// input's shape, exports to ONNX; the nearest-upsampling/BatchNorm and timestep-input variants trace and export; the timestep
// variant trains through the Trainer with two inputs (inputKeys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { manualSeed, exportModule } from '../../src/nn/index.js';
import { Generator } from '../../src/nn/init.js';
import { mseLoss } from '../../src/nn/losses.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { fashionMnistSubset } from '../../src/data/fashion.js';
import { UNet, upsampleNearest2x } from '../../src/models/unet.js';
import { getModel } from '../../src/models/index.js';
import { compile } from '../../src/runtime/compile.js';

/** n subset images in [0, 1] as targets, with Gaussian noise (σ 0.4) as inputs. */
function noisyPairs(n: number): { x: L.NDArray; y: L.NDArray } {
  const { x } = fashionMnistSubset('train', 'unit').toArrays();
  const clean = (x.data as Float32Array).slice(0, n * 784);
  const g = new Generator(7);
  const noisy = clean.map((v) => v + 0.4 * g.normal());
  return { x: L.float32([n, 1, 28, 28], noisy), y: L.float32([n, 1, 28, 28], clean) };
}

test('UNet (tiny, GroupNorm, transposed conv): denoises Fashion-MNIST — loss falls; output shape = input shape; exports', async () => {
  manualSeed(0);
  const model = new UNet({ base: 4, depth: 2, groups: 2 });
  const data = noisyPairs(128);
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 5e-3,
    epochs: 3,
    loss: (o, b) => mseLoss(o, b.y),
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  await trainer.fit(new ArrayLoader(data, { batchSize: 32, shuffle: true, seed: 1 }));
  await trainer.release();
  const first = losses.slice(0, 2).reduce((a, b) => a + b) / 2;
  const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
  assert.ok(last < first * 0.5, `loss ${first} → ${last}`);
  // the noisy input's own error is 0.16 (σ²): a trained denoiser must beat returning the input
  assert.ok(last < 0.16, `denoised MSE ${last} vs noise 0.16`);

  const bytes = exportModule(model, [{ dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({
    input: new ort.Tensor('float32', (data.x.data as Float32Array).slice(0, 3 * 784), [3, 1, 28, 28]),
  });
  assert.deepEqual((out.output as ort.Tensor).dims, [3, 1, 28, 28]);
});

test('UNet variants: nearest upsampling + BatchNorm at depth 3, timestep input; registry; bad sizes', async () => {
  manualSeed(1);
  const up = compile((x: L.Tensor) => upsampleNearest2x(x));
  const u = await up(L.float32([1, 1, 2, 2], [1, 2, 3, 4]));
  assert.deepEqual(u.shape, [1, 1, 4, 4]);
  assert.deepEqual(Array.from(u.data as Float32Array), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);

  const m = new UNet({
    base: 4,
    depth: 3,
    norm: 'batch',
    upsample: 'nearest',
    inChannels: 3,
    outChannels: 2,
    size: 16,
  });
  const s1 = await ort.InferenceSession.create(exportModule(m, [{ dtype: 'float32', shape: ['batch', 3, 16, 16] }]));
  const r1 = await s1.run({ input: new ort.Tensor('float32', new Float32Array(2 * 3 * 256), [2, 3, 16, 16]) });
  assert.deepEqual((r1.output as ort.Tensor).dims, [2, 2, 16, 16]);

  const entry = getModel('unet');
  const opts = entry.options.parse({ base: 8, depth: 2, timeEmbed: 16, groups: 4 });
  const tm = entry.create(opts) as UNet;
  const s2 = await ort.InferenceSession.create(
    exportModule(
      tm,
      [
        { dtype: 'float32', shape: ['batch', 1, 28, 28] },
        { dtype: 'float32', shape: ['batch'] },
      ],
      { inputNames: ['x', 't'] },
    ),
  );
  const x = new ort.Tensor('float32', new Float32Array(2 * 784).fill(0.5), [2, 1, 28, 28]);
  const a = (await s2.run({ x, t: new ort.Tensor('float32', Float32Array.from([0, 0]), [2]) })).output as ort.Tensor;
  const b = (await s2.run({ x, t: new ort.Tensor('float32', Float32Array.from([0, 500]), [2]) })).output as ort.Tensor;
  assert.deepEqual(a.dims, [2, 1, 28, 28]);
  const da = a.data as Float32Array;
  const db = b.data as Float32Array;
  assert.equal(da[0], db[0], 'row 0 has the same timestep');
  assert.notEqual(da[784], db[784], 'the timestep changes the output');
  assert.throws(() => new UNet({ depth: 3, size: 28 }), /size 28 must divide by 2\^depth = 8/);
  assert.throws(() => tm.forward(L.placeholder('z', 'float32', [1, 1, 28, 28])), /needs timesteps/);
});

test('UNet with timesteps trains through the Trainer with inputKeys [x, t]: loss falls, evaluate scores the same inputs', async () => {
  manualSeed(2);
  const model = new UNet({ base: 4, depth: 1, groups: 2, timeEmbed: 8, size: 8 });
  // target = input shifted by an offset that only the timestep tells (variance of the offset: 0.92)
  const n = 96;
  const g = new Generator(3);
  const x = Float32Array.from({ length: n * 64 }, () => g.normal());
  const k = Array.from({ length: n }, () => g.int(10));
  const t = Float32Array.from(k, (v) => v * 100);
  const y = x.map((v, i) => v + (k[Math.floor(i / 64)] - 4.5) / 3);
  const data = { x: L.float32([n, 1, 8, 8], x), t: L.float32([n], t), y: L.float32([n, 1, 8, 8], y) };
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 1e-2,
    epochs: 10,
    inputKeys: ['x', 't'],
    loss: (o, b) => mseLoss(o, b.y),
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  await trainer.fit(new ArrayLoader(data, { batchSize: 16, shuffle: true, seed: 1 }));
  const ev = await trainer.evaluate(new ArrayLoader(data, { batchSize: 32 }));
  await trainer.release();
  const first = losses.slice(0, 2).reduce((a, b) => a + b) / 2;
  const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
  assert.ok(last < first * 0.5, `loss ${first} → ${last}`);
  // below 0.92: the offset is read from t, not just averaged
  assert.ok(ev.loss > 0 && ev.loss < 0.4, `eval loss ${ev.loss} (first batches ${first})`);
});
