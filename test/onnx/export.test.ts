// An exported .onnx of a traced MLP and CNN loads in a fresh ORT session and matches the traced function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import type * as L from '../../src/graph/index.js';
import {
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  manualSeed,
  BatchNorm2d,
  Dropout,
} from '../../src/nn/index.js';
import { exportModule, withFrozenParameters } from '../../src/nn/export.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose, randn } from '../util/gradcheck.js';
import type { Module } from '../../src/nn/module.js';

async function roundTrip(model: Module, shape: number[]): Promise<void> {
  const x = randn(shape, 3, 'float32');
  const traced = compile((t: L.Tensor) => withFrozenParameters(model, () => model.forward(t)));
  const expected = await traced(x);
  const bytes = exportModule(model, [{ dtype: 'float32', shape: ['batch', ...shape.slice(1)] }]);
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual(session.inputNames, ['input']);
  assert.deepEqual(session.outputNames, ['output']);
  const out = await session.run({ input: new ort.Tensor('float32', x.data as Float32Array, shape) });
  assertClose(
    out.output.data as Float32Array,
    Array.from(expected.data as Float32Array),
    1e-5,
    1e-5,
    'exported vs traced',
  );
  // symbolic batch: another batch size runs in the same exported model
  const x2 = randn([1, ...shape.slice(1)], 4, 'float32');
  const out2 = await session.run({ input: new ort.Tensor('float32', x2.data as Float32Array, x2.shape) });
  assert.deepEqual(out2.output.dims.slice(0, 1), [1]);
}

test('exported MLP matches the traced function to 1e-5', async () => {
  manualSeed(1);
  await roundTrip(new Sequential(new Linear(12, 16), ReLU(), new Dropout(0.5), new Linear(16, 3)), [5, 12]);
});

test('exported CNN (conv, batchnorm in eval, pool) matches to 1e-5', async () => {
  manualSeed(2);
  await roundTrip(
    new Sequential(
      new Conv2d(1, 4, 3, { padding: 1 }),
      new BatchNorm2d(4),
      ReLU(),
      MaxPool2d(2),
      Flatten(),
      new Linear(4 * 4 * 4, 10),
    ),
    [3, 1, 8, 8],
  );
});

test('export with external data: weights in a side file, the model loads from its path in ORT', async () => {
  const { mkdtempSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  manualSeed(3);
  const model = new Sequential(new Linear(6, 32), ReLU(), new Linear(32, 2));
  const dir = mkdtempSync(join(tmpdir(), 'lathe-ext-'));
  const path = join(dir, 'm.onnx');
  exportModule(model, [{ dtype: 'float32', shape: ['batch', 6] }], { path, externalData: { thresholdBytes: 64 } });
  assert.ok(existsSync(`${path}.data`));
  const x = randn([2, 6], 5, 'float32');
  const expected = await compile((t: L.Tensor) => withFrozenParameters(model, () => model.forward(t)))(x);
  const s = await ort.InferenceSession.create(path);
  const out = await s.run({ input: new ort.Tensor('float32', x.data as Float32Array, [2, 6]) });
  assertClose(out.output.data as Float32Array, Array.from(expected.data as Float32Array), 1e-6, 1e-6, 'external');
});
