// Every model in the zoo exports a lean inference graph: no node output that nothing reads, no op that only
// training needs (pooling indices, unpooling, random masks, BatchNorm left beside its conv), and the same outputs as
// the module's eval forward. And the quickstart CNN exports exactly the graph one would write by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { getModel, modelInputs, modelNames } from '../../src/models/index.js';
import { exportModule, manualSeed, withFrozenParameters, type Module } from '../../src/nn/index.js';
import { Generator } from '../../src/nn/init.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { unusedOutputs } from '../../src/onnx/prune.js';
import type { GraphProto } from '../../src/onnx/proto.js';
import { compile } from '../../src/runtime/compile.js';
import { quickstartConfig } from '../../src/train/quickstart.js';
import { assertClose } from '../util/gradcheck.js';

/** Small options per model (tests stay fast); a model missing here is exported with its defaults. */
const SMALL: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'char-rnn': { vocab: 20, context: 8, hidden: 16 },
  cnn: { widths: [4, 8], hidden: 16, size: 12, batchNorm: true, padding: 'same', dropout: 0.5 },
  gpt: { vocab: 20, context: 8, dim: 16, layers: 1, heads: 2, dropout: 0.1 },
  mlp: { inputs: 12, hidden: [16], dropout: 0.3 },
  mobilenetv2: {
    stages: [
      [1, 8, 1, 1],
      [6, 16, 2, 2],
    ],
    stemWidth: 8,
    lastWidth: 32,
    size: 12,
  },
  resnet: { layers: [1, 1], widths: [8, 16], size: 12, stem: 'imagenet', block: 'bottleneck' },
  'rnn-classifier': { vocab: 20, classes: 3, context: 6, hidden: 8 },
  seq2seq: { vocab: 20, srcLen: 6, tgtLen: 5, dim: 16, encoderLayers: 1, decoderLayers: 1, heads: 2 },
  'transformer-classifier': { vocab: 20, classes: 3, context: 6, dim: 16, layers: 1, heads: 2 },
  unet: { base: 8, depth: 1, groups: 4, size: 8, norm: 'batch', timeEmbed: 8 },
};

/** Ops a model needs only while it trains: their presence in an inference export is work nobody asked for. */
const TRAINING_ONLY = new Set([
  'MaxUnpool',
  'Dropout',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
  'BitwiseXor',
  'BitwiseAnd',
  'SoftmaxCrossEntropyLoss',
  'NegativeLogLikelihoodLoss',
]);

function trainingOnlyWork(g: GraphProto): string[] {
  const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  const found: string[] = [];
  for (const n of g.node) {
    if (TRAINING_ONLY.has(n.opType)) found.push(n.opType);
    if (n.opType === 'BatchNormalization') {
      if (n.attribute.some((a) => a.name === 'training_mode' && Number(a.i) === 1))
        found.push('BatchNormalization(training_mode)');
      if (producer.get(n.input[0])?.opType === 'Conv') found.push('BatchNormalization after Conv (not folded)');
    }
  }
  return found;
}

/** Gives BatchNorm layers non-trivial running statistics, so folding them is tested for real. */
function randomizeStatistics(model: Module, g: Generator): void {
  for (const [k, p] of model.namedState()) {
    const n = p.data.shape.reduce((a, b) => a * b, 1);
    if (k.endsWith('runningMean'))
      p.data = L.float32(
        p.data.shape,
        Float32Array.from({ length: n }, () => 0.2 * g.normal()),
      );
    if (k.endsWith('runningVar'))
      p.data = L.float32(
        p.data.shape,
        Float32Array.from({ length: n }, () => 0.5 + g.uniform()),
      );
    if (/bn\.(weight|bias)$/.test(k))
      p.data = L.float32(
        p.data.shape,
        Float32Array.from({ length: n }, () => (k.endsWith('weight') ? 1 : 0) + 0.3 * g.normal()),
      );
  }
}

for (const name of modelNames()) {
  test(`zoo export of ${name}: no unused outputs, no training-only ops, same outputs as the eval forward`, async () => {
    const entry = getModel(name);
    const opts = entry.options.parse(SMALL[name] ?? {});
    manualSeed(11);
    const model = entry.create(opts);
    const g = new Generator(5);
    randomizeStatistics(model, g);
    const ins = modelInputs(entry, opts);
    const vocab = typeof (opts as { vocab?: unknown }).vocab === 'number' ? (opts as { vocab: number }).vocab : 10;
    const batch = 2;
    // graph models: `batch` nodes and 3 edges between them (edge inputs hold node ids)
    const feeds = ins.map((i) => {
      const shape = [i.batchDim === 'edges' ? 3 : batch, ...i.shape];
      const n = shape.reduce((a, b) => a * b, 1);
      if (i.batchDim === 'edges')
        return L.int64(
          shape,
          Array.from({ length: n }, () => g.int(batch)),
        );
      return i.dtype === 'int64'
        ? L.int64(
            shape,
            Array.from({ length: n }, () => 1 + g.int(vocab - 1)),
          )
        : L.float32(
            shape,
            Float32Array.from({ length: n }, () => g.normal()),
          );
    });
    const bytes = exportModule(
      model,
      ins.map((i) => ({ dtype: i.dtype, shape: [i.batchDim ?? 'batch', ...i.shape], name: i.name })),
      { inputNames: ins.map((i) => i.name) },
    );
    const graph = decodeModel(bytes).graph;
    assert.deepEqual(unusedOutputs(graph), [], `${name}: node outputs nothing reads`);
    assert.deepEqual(trainingOnlyWork(graph), [], `${name}: training-only work in the inference graph`);
    const expected = await compile((...xs: L.Tensor[]) => withFrozenParameters(model, () => model.forward(...xs)))(
      ...feeds,
    );
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run(
      Object.fromEntries(
        ins.map((i, k) => [
          i.name,
          new ort.Tensor(i.dtype as 'float32', feeds[k].data as Float32Array, feeds[k].shape),
        ]),
      ),
    );
    assertClose(
      out.output.data as Float32Array,
      Array.from(expected.data as Float32Array),
      1e-4,
      1e-4,
      `${name}: export vs eval forward`,
    );
  });
}

test('the quickstart CNN exports the graph one would write by hand for inference', () => {
  const cfg = quickstartConfig().model;
  const entry = getModel(cfg.name);
  const opts = entry.options.parse(cfg.options ?? {});
  manualSeed(0);
  const model = entry.create(opts);
  const graph = decodeModel(
    exportModule(model, [{ dtype: 'float32', shape: ['batch', ...entry.inputShape(opts)] }]),
  ).graph;
  assert.deepEqual(
    graph.node.map((n) => n.opType),
    ['Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'MaxPool', 'Reshape', 'Gemm', 'Relu', 'Gemm'],
  );
  // every node has exactly the outputs its consumer reads, and the weights are the model's parameters
  assert.ok(graph.node.every((n) => n.output.length === 1));
  assert.deepEqual(
    graph.initializer
      .map((t) => t.name)
      .filter((k) => !k!.startsWith('const'))
      .sort(),
    model
      .namedState()
      .map(([k]) => k)
      .sort(),
  );
});
