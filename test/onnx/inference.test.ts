// Inference rewrites: BatchNorm folded into its conv (exact to float32 rounding against the unfolded graph) and ReLU
// moved before MaxPool after a conv, and neither touching a graph where the values have other readers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { foldBatchNorm, optimizeForInference, reluBeforePool } from '../../src/onnx/inference.js';
import type { ModelProto } from '../../src/onnx/proto.js';
import { assertClose, randn } from '../util/gradcheck.js';

const c = (shape: number[], seed: number, scale = 1, offset = 0) =>
  L.constant(randn(shape, seed, 'float32', scale, offset));

/** conv (with or without bias, optionally depthwise) → eval BN → ReLU → maxpool, weights as initializers. */
function convBnModel(opts: { bias: boolean; groups?: number }): ModelProto {
  const x = L.placeholder('x', 'float32', ['batch', 4, 8, 8]);
  const groups = opts.groups ?? 1;
  const ch = groups > 1 ? 4 : 6; // depthwise: one output channel per input channel
  const h = L.conv2d(x, c([ch, 4 / groups, 3, 3], 1), opts.bias ? c([ch], 2) : undefined, { padding: 1, groups });
  const y = L.batchNorm(h, c([ch], 3, 0.5, 1), c([ch], 4), c([ch], 5), c([ch], 6, 0.2, 1), { training: false }).y;
  return emitModel({ inputs: [x], outputs: { y: L.maxPool2d(L.relu(y), 2) } });
}

async function run(m: ModelProto, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'disabled' });
  return (await s.run({ x: new ort.Tensor('float32', x, [2, 4, 8, 8]) })).y.data as Float32Array;
}

for (const [label, opts] of [
  ['conv with bias', { bias: true }],
  ['conv without bias', { bias: false }],
  ['depthwise conv', { bias: false, groups: 4 }],
] as const) {
  test(`BatchNorm folds into a ${label}: one Conv, the same outputs to float32 rounding`, async () => {
    const x = randn([2, 4, 8, 8], 9, 'float32').data as Float32Array;
    const plain = convBnModel(opts);
    assert.ok(plain.graph.node.some((n) => n.opType === 'BatchNormalization'));
    const expected = await run(plain, x);
    const folded = optimizeForInference(convBnModel(opts));
    assert.deepEqual(
      folded.graph.node.map((n) => n.opType),
      ['Conv', 'Relu', 'MaxPool'],
    );
    assert.equal(folded.graph.node[0].input.length, 3);
    assertClose(await run(folded, x), Array.from(expected), 1e-5, 1e-5, label);
  });
}

test('BatchNorm stays when the conv output has another reader, or follows something else than a Conv', () => {
  const x = L.placeholder('x', 'float32', [2, 3, 4, 4]);
  const h = L.conv2d(x, c([3, 3, 1, 1], 1));
  const bn = (t: L.Tensor) => L.batchNorm(t, c([3], 2), c([3], 3), c([3], 4), c([3], 5, 0.1, 1), { training: false }).y;
  const shared = emitModel({ inputs: [x], outputs: { y: L.add(bn(h), h) } });
  assert.equal(foldBatchNorm(shared.graph), 0);
  const afterRelu = emitModel({ inputs: [x], outputs: { y: bn(L.relu(x)) } });
  assert.equal(foldBatchNorm(afterRelu.graph), 0);
});

test('ReLU moves before MaxPool after a Conv (ORT then fuses Conv+Relu); identical outputs', async () => {
  const x = L.placeholder('x', 'float32', ['batch', 4, 8, 8]);
  const traced = emitModel({
    inputs: [x],
    outputs: { y: L.maxPool2d(L.relu(L.conv2d(x, c([5, 4, 3, 3], 7), c([5], 8))), 2) },
  });
  // the training-friendly trace: pool first
  assert.deepEqual(
    traced.graph.node.map((n) => n.opType),
    ['Conv', 'MaxPool', 'Relu'],
  );
  const xs = randn([2, 4, 8, 8], 10, 'float32').data as Float32Array;
  const before = await run(traced, xs);
  assert.equal(reluBeforePool(traced.graph), 1);
  assert.deepEqual(
    traced.graph.node.map((n) => n.opType),
    ['Conv', 'Relu', 'MaxPool'],
  );
  assert.deepEqual(Array.from(await run(traced, xs)), Array.from(before));
});

test('ReLU stays after a MaxPool whose input is not a Conv, or whose pooled values are read elsewhere', () => {
  const x = L.placeholder('x', 'float32', [2, 4, 8, 8]);
  const m1 = emitModel({ inputs: [x], outputs: { y: L.maxPool2d(L.relu(x), 2) } });
  assert.equal(reluBeforePool(m1.graph), 0);
  const p = L.maxPool2d(L.conv2d(x, c([5, 4, 3, 3], 7)), 2);
  const m2 = emitModel({ inputs: [x], outputs: { y: L.add(L.relu(p), p) } });
  assert.equal(reluBeforePool(m2.graph), 0);
});
