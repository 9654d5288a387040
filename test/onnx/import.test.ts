// Importing .onnx files: a lathe-exported model round-trips; a PyTorch-exported model runs, differentiates
// and fine-tunes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, manualSeed, OnnxModule } from '../../src/nn/index.js';
import { exportModule, withFrozenParameters } from '../../src/nn/export.js';
import { compile } from '../../src/runtime/compile.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { adam } from '../../src/optim/index.js';
import { assertClose, randn } from '../util/gradcheck.js';
import { importOnnx } from '../../src/onnx/import.js';
import type { ModelProto, NodeProto } from '../../src/onnx/proto.js';

test('an exported model imports, runs and re-exports to the same outputs', async () => {
  manualSeed(4);
  const model = new Sequential(
    new Conv2d(1, 3, 3, { padding: 1 }),
    ReLU(),
    MaxPool2d(2),
    Flatten(),
    new Linear(3 * 3 * 3, 4),
  );
  const bytes = exportModule(model, [{ dtype: 'float32', shape: ['batch', 1, 6, 6] }]);
  const imported = new OnnxModule(bytes);
  assert.equal(imported.weights.length, 4);
  const x = randn([2, 1, 6, 6], 9, 'float32');
  const a = await compile((t: L.Tensor) => withFrozenParameters(model, () => model.forward(t)))(x);
  const b = await compile((t: L.Tensor) => withFrozenParameters(imported, () => imported.forward(t)))(x);
  assertClose(b.data as Float32Array, Array.from(a.data as Float32Array), 1e-6, 1e-6, 'imported');
  const again = exportModule(imported, [{ dtype: 'float32', shape: ['batch', 1, 6, 6] }]);
  const s = await ort.InferenceSession.create(again);
  const out = await s.run({ input: new ort.Tensor('float32', x.data as Float32Array, x.shape) });
  assertClose(out.output.data as Float32Array, Array.from(a.data as Float32Array), 1e-6, 1e-6, 're-exported');
});

test('an imported model fine-tunes: the loss falls', async () => {
  manualSeed(5);
  const base = new Sequential(new Linear(4, 8), ReLU(), new Linear(8, 2));
  const model = new OnnxModule(exportModule(base, [{ dtype: 'float32', shape: ['batch', 4] }]));
  const x = randn([64, 4], 1, 'float32');
  const y = L.int64(
    [64],
    Array.from(x.data as Float32Array)
      .filter((_, i) => i % 4 === 0)
      .map((v) => (v > 0 ? 1 : 0)),
  );
  const t = new Trainer({ model, optimizer: adam(), lr: 0.05, epochs: 30 });
  const loader = new ArrayLoader({ x, y }, { batchSize: 64 });
  const before = await t.evaluate(loader);
  await t.fit(loader);
  const after = await t.evaluate(loader);
  assert.ok(after.loss < before.loss * 0.5, `loss ${before.loss} → ${after.loss}`);
});

const torchDir = 'test/fixtures/onnx';
const torchModels = existsSync(torchDir) ? readdirSync(torchDir).filter((f) => f.endsWith('.onnx')) : [];
for (const f of torchModels) {
  test(`PyTorch-exported ${f} imports and matches ORT on the original file`, async (t) => {
    let m: OnnxModule;
    try {
      m = new OnnxModule(`${torchDir}/${f}`);
    } catch (err) {
      if (/not supported by the importer|multi-input|inputs;/.test((err as Error).message))
        return t.skip((err as Error).message);
      throw err;
    }
    const inp = m.graph.inputs[0];
    if (inp.dtype !== 'float32') return t.skip(`input dtype ${inp.dtype}`);
    const shape = inp.shape.map((d) => (typeof d === 'number' ? d : 2));
    const x = randn(shape, 3, 'float32');
    const ours = await compile((v: L.Tensor) => withFrozenParameters(m, () => m.forward(v)))(x);
    const s = await ort.InferenceSession.create(`${torchDir}/${f}`);
    const ref = await s.run({ [inp.name]: new ort.Tensor('float32', x.data as Float32Array, shape) });
    assertClose(ours.data as Float32Array, Array.from(ref[s.outputNames[0]].data as Float32Array), 1e-5, 1e-4, f);
  });
}

test('a malformed ONNX graph is refused naming the node: a missing input, a missing required attribute', async () => {
  const model = (nodes: NodeProto[]): ModelProto => ({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'bad',
      node: nodes,
      initializer: [],
      input: [
        {
          name: 'X',
          type: {
            tensorType: {
              elemType: 1,
              shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimValue: 4 }, { dimValue: 4 }] },
            },
          },
        },
      ],
      output: [{ name: 'Y' }],
      valueInfo: [],
    },
  });
  const x = randn([1, 1, 4, 4], 3, 'float32');
  const cases: [string, NodeProto[], RegExp][] = [
    [
      'input never produced',
      [{ name: 'r', opType: 'Relu', input: ['T'], output: ['Y'], attribute: [] }],
      /node r \(Relu\): input 'T' is not a graph input, an initializer or an output of an earlier node/,
    ],
    [
      'MaxPool without kernel_shape',
      [{ name: 'p', opType: 'MaxPool', input: ['X'], output: ['Y'], attribute: [] }],
      /node p \(MaxPool\): attribute 'kernel_shape' is missing/,
    ],
    [
      'Unsqueeze without axes',
      [{ name: 'u', opType: 'Unsqueeze', input: ['X'], output: ['Y'], attribute: [] }],
      /node u \(Unsqueeze\): attribute 'axes' is missing/,
    ],
    [
      'Identity without input',
      [{ name: 'i', opType: 'Identity', input: [''], output: ['Y'], attribute: [] }],
      /node i \(Identity\): input 0 is missing/,
    ],
  ];
  for (const [name, nodes, message] of cases) {
    const g = importOnnx(model(nodes));
    await assert.rejects(compile((t: L.Tensor) => g.apply({ X: t }, {}).Y)(x), message, name);
  }
});
