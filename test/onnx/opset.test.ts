// Exports at opset 17 (IR 8: what ONNX 1.12 tools load) compute what opset 21 exports compute: reductions take
// their axes as an attribute, GELU is written out, the IR version follows the opset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { getModel, modelInputs } from '../../src/models/index.js';
import { manualSeed } from '../../src/nn/module.js';
import { exportModule } from '../../src/nn/export.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { emitModel } from '../../src/onnx/emit.js';
import { placeholder } from '../../src/graph/ops/leaf.js';
import { dropout } from '../../src/graph/ops/random.js';
import { assertClose } from '../util/gradcheck.js';

const cases: [string, Record<string, unknown>][] = [
  ['cnn', {}],
  ['resnet', { layers: [1, 1], widths: [8, 16], size: 16, channels: 1 }],
  ['gpt', { vocab: 17, context: 8, dim: 16, layers: 1, heads: 2 }],
  ['char-rnn', { vocab: 11, context: 6, hidden: 8 }],
];

for (const [name, raw] of cases) {
  test(`${name}: the opset-17 export (IR 8) equals the opset-21 export`, async () => {
    const entry = getModel(name);
    const options = entry.options.parse(raw);
    manualSeed(3);
    const model = entry.create(options);
    const inputs = modelInputs(entry, options);
    const specs = inputs.map((i) => ({ dtype: i.dtype, shape: ['batch', ...i.shape] }));
    const feeds: Record<string, ort.Tensor> = {};
    inputs.forEach((inp, k) => {
      const n = 2 * inp.shape.reduce((a, b) => a * b, 1);
      const vocab = (options as { vocab?: number }).vocab ?? 0;
      feeds[inputs.length === 1 ? 'input' : inp.name] =
        inp.dtype === 'int64'
          ? new ort.Tensor(
              'int64',
              BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7 + k) % vocab)),
              [2, ...inp.shape],
            )
          : new ort.Tensor(
              'float32',
              Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k)),
              [2, ...inp.shape],
            );
    });
    const run = async (opset: number) => {
      const bytes = exportModule(model, specs, { opset });
      const m = decodeModel(bytes);
      assert.equal(m.opsetImport[0].version, opset);
      assert.equal(m.irVersion, opset === 17 ? 8 : 10);
      if (opset === 17) assert.ok(!m.graph.node.some((n) => n.opType === 'Gelu'), 'no Gelu below opset 20');
      const s = await ort.InferenceSession.create(bytes);
      const out = await s.run(feeds);
      return Array.from(out[s.outputNames[0]].data as Float32Array);
    };
    const [a, b] = [await run(17), await run(21)];
    assertClose(a, b, 1e-5, 1e-5, `${name} opset 17 vs 21`);
  });
}

test('opsets outside 17–21 and in-graph randomness below 18 are refused with the reason', () => {
  const x = placeholder('x', 'float32', [2, 3]);
  assert.throws(
    () => emitModel({ inputs: [x], outputs: { y: x } }, { opset: 16 }),
    /opset 16 is not supported \(lathe lowers for opsets 17–21\)/,
  );
  const key = placeholder('key', 'int64', []);
  assert.throws(
    () => emitModel({ inputs: [x, key], outputs: { y: dropout(x, 0.5, key) } }, { opset: 17 }),
    /in-graph randomness needs opset ≥ 18/,
  );
});
