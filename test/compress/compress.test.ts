// compressModel end to end on a small classifier: the report's fields, the layer table, the sensitivity table
// (one row per compute layer, worst first), and the label check before any work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { compressModel, COMPRESSION_METADATA_KEY } from '../../src/compress/compress.js';
import { parseCompressConfig } from '../../src/compress/config.js';
import { reportMarkdown } from '../../src/compress/report.js';
import { randn } from '../util/gradcheck.js';

const c = (shape: number[], seed: number, scale = 0.5) => L.constant(randn(shape, seed, 'float32', scale));

function classifier() {
  const x = L.placeholder('input', 'float32', ['batch', 2, 6, 6]);
  const h = L.relu(L.conv2d(x, c([6, 2, 3, 3], 1), c([6], 2, 0.1), { padding: 1 }));
  const h2 = L.relu(L.add(L.conv2d(h, c([6, 6, 3, 3], 3), undefined, { padding: 1 }), h));
  const pooled = L.flatten(L.adaptiveAvgPool2d(h2, 1), 1);
  return emitModel({
    inputs: [x],
    outputs: { output: L.gemm(pooled, c([3, 6], 4), { transB: true, c: c([3], 5, 0.1) }) },
  });
}

const x = randn([96, 2, 6, 6], 7, 'float32');
/** Labels the float model gets right by construction: its own argmax. */
async function labels(): Promise<L.NDArray> {
  const { accuracyOf } = await import('../../src/compress/evaluate.js');
  void accuracyOf;
  const ort = await import('onnxruntime-node');
  const { encodeModel } = await import('../../src/onnx/encode.js');
  const s = await ort.InferenceSession.create(encodeModel(classifier()));
  const out = (await s.run({ input: new ort.Tensor('float32', x.data as Float32Array, x.shape) })).output
    .data as Float32Array;
  const y = new BigInt64Array(96);
  for (let i = 0; i < 96; i++) y[i] = BigInt([0, 1, 2].reduce((b, k) => (out[i * 3 + k] > out[i * 3 + b] ? k : b), 0));
  return { dtype: 'int64', shape: [96], data: y };
}

test('compressModel: size, accuracy, latency, kernels, the layer table and a sensitivity table', async () => {
  const cfg = parseCompressConfig({
    quantize: { sensitivity: true, calibration: { method: 'percentile', percentile: 99.99 } },
    report: { latencyBatches: [1, 4], threads: 1 },
  });
  const { model, report } = await compressModel(
    classifier(),
    { calibration: x, eval: { x, y: await labels(), source: 'synthetic' } },
    cfg,
    { source: 'test' },
  );
  assert.equal(report.accuracy!.before, 1);
  assert.ok(report.accuracy!.after > 0.8, `${report.accuracy!.after}`);
  assert.deepEqual(
    report.latency.map((l) => l.batch),
    [1, 4],
  );
  assert.ok(report.latency.every((l) => l.beforeMs > 0 && l.afterMs > 0));
  assert.deepEqual(report.kernels, { QLinearConv: 2, QLinearAdd: 1, QLinearGlobalAveragePool: 1, QGemm: 1 });
  assert.deepEqual(
    report.layers.map((l) => l.status),
    ['int8', 'folded', 'int8', 'int8', 'folded', 'int8', 'int8', 'int8'],
  );
  const s = report.sensitivity!;
  assert.deepEqual(s.map((r) => r.opType).sort(), ['Add', 'Conv', 'Conv', 'Gemm', 'GlobalAveragePool']);
  for (let i = 1; i < s.length; i++) assert.ok(s[i - 1].dropPoints >= s[i].dropPoints, 'worst first');
  assert.ok(model.metadataProps!.some((p) => p.key === COMPRESSION_METADATA_KEY));
  const md = reportMarkdown(report);
  assert.match(md, /## Sensitivity/);
  assert.match(md, /\| accuracy \(synthetic, 96 samples\) \| 100\.00 % \|/);
});

test('a sensitivity analysis without labels fails before any work, naming the data', async () => {
  const cfg = parseCompressConfig({ quantize: { sensitivity: true } });
  await assert.rejects(
    compressModel(classifier(), { calibration: x, eval: { x, source: 'unlabelled.idx' } }, cfg, { source: 'test' }),
    /quantize\.sensitivity needs labels, but unlabelled\.idx has none/,
  );
  await assert.rejects(
    compressModel(classifier(), { calibration: x }, cfg, { source: 'test' }),
    /needs labels, but the calibration data/,
  );
});

test('compressModel with quantize.mode qat: fine-tuned int8 model, the PTQ accuracy beside it, integer kernels', async () => {
  const y = await labels();
  const cfg = parseCompressConfig({
    quantize: { mode: 'qat', reduceRange: true, qat: { epochs: 1, lr: 1e-3, batchSize: 32, observerWarmupSteps: 2 } },
    report: { latencyBatches: [], threads: 1 },
  });
  const data = { calibration: x, eval: { x, y, source: 'synthetic' }, train: { x, y } };
  const { model, report } = await compressModel(classifier(), data, cfg, { source: 'test' });
  assert.equal(report.accuracy!.before, 1);
  assert.ok(report.accuracy!.ptq !== undefined && report.accuracy!.ptqDropPoints !== undefined);
  assert.ok(report.accuracy!.after > 0.8, `${report.accuracy!.after}`);
  assert.deepEqual(report.kernels, { QLinearConv: 2, QLinearAdd: 1, QLinearGlobalAveragePool: 1, QGemm: 1 });
  assert.match(model.metadataProps!.find((p) => p.key === COMPRESSION_METADATA_KEY)!.value, /"qat-int8"/);
  assert.match(reportMarkdown(report), /Quantization-aware training \(1 epoch\(s\)/);
  await assert.rejects(
    compressModel(classifier(), { calibration: x }, cfg, { source: 'test' }),
    /quantize\.mode qat fine-tunes on labelled training data/,
  );
});

test('channel pruning with prune.fineTune trains the smaller model on the training labels', async () => {
  // labels the model does not know (a fixed pseudo-random class per sample): only training can raise the accuracy
  const y: L.NDArray = {
    dtype: 'int64',
    shape: [96],
    data: BigInt64Array.from({ length: 96 }, (_, i) => BigInt((i * 7 + (i >> 3)) % 3)),
  };
  const data = { calibration: x, eval: { x, y, source: 'synthetic' }, train: { x, y } };
  const pruneOnly = { method: 'channel', sparsity: 0.5 } as const;
  const report = { latencyBatches: [], threads: 1 };
  const plain = await compressModel(classifier(), data, parseCompressConfig({ prune: pruneOnly, report }), {
    source: 'test',
  });
  const tuned = await compressModel(
    classifier(),
    data,
    parseCompressConfig({ prune: { ...pruneOnly, fineTune: { epochs: 8, lr: 3e-2, batchSize: 16 } }, report }),
    { source: 'test' },
  );
  assert.deepEqual(
    tuned.model.graph.initializer.map((t) => t.dims),
    plain.model.graph.initializer.map((t) => t.dims),
    'the same pruned shapes',
  );
  const a0 = plain.report.accuracy!.after,
    a1 = tuned.report.accuracy!.after;
  assert.ok(a1 > a0 + 0.1, `fine-tuned ${a1} vs pruned ${a0}`);
  await assert.rejects(
    compressModel(
      classifier(),
      data,
      parseCompressConfig({ prune: { method: 'magnitude', sparsity: 0.5, fineTune: {} }, report }),
      { source: 'test' },
    ),
    /prune\.fineTune: only channel pruning fine-tunes/,
  );
});
