// Magnitude pruning: exactly the smallest weights become zero (global: one threshold over all layers; layerwise: the
// sparsity in each), biases and non-prunable tensors untouched, the report's per-layer table and accuracy, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { tensorToTypedArray } from '../../src/onnx/decode.js';
import type { ModelProto } from '../../src/onnx/proto.js';
import { pruneMagnitude } from '../../src/compress/prune.js';
import { compressModel } from '../../src/compress/compress.js';
import { parseCompressConfig } from '../../src/compress/config.js';
import { reportMarkdown } from '../../src/compress/report.js';
import { CompressError } from '../../src/compress/errors.js';
import { randn } from '../util/gradcheck.js';

const c = (shape: number[], seed: number, scale = 0.5) => L.constant(randn(shape, seed, 'float32', scale));

/** A conv (weights scale 0.5) and a Gemm (weights scale 0.05): global pruning takes mostly from the Gemm. */
function model(): ModelProto {
  const x = L.placeholder('input', 'float32', ['batch', 2, 4, 4]);
  const h = L.relu(L.conv2d(x, c([4, 2, 3, 3], 1), c([4], 2, 0.1), { padding: 1 }));
  const f = L.flatten(L.adaptiveAvgPool2d(h, 1), 1);
  return emitModel({
    inputs: [x],
    outputs: { output: L.gemm(f, c([3, 4], 3, 0.05), { transB: true, c: c([3], 4, 0.1) }) },
  });
}

const weights = (m: ModelProto): Map<string, Float32Array> =>
  new Map(m.graph.initializer.map((t) => [t.name!, tensorToTypedArray(t) as Float32Array]));

test('global magnitude pruning zeroes exactly the smallest |w| over all layers, nothing else', () => {
  const m = model();
  const r = pruneMagnitude(m, { sparsity: 0.5 });
  assert.equal(r.layers.length, 2);
  assert.equal(r.params, 72 + 12);
  const before = weights(m),
    after = weights(r.model);
  const pruned = r.layers.map((l) => l.weight);
  const all = pruned.flatMap((w) => Array.from(before.get(w)!, Math.abs)).sort((a, b) => a - b);
  const threshold = all[Math.floor(0.5 * all.length) - 1];
  let zeros = 0;
  for (const w of pruned) {
    const b = before.get(w)!,
      a = after.get(w)!;
    for (let i = 0; i < b.length; i++) {
      if (Math.abs(b[i]) <= threshold)
        assert.equal(a[i], 0, `${w}[${i}] = ${b[i]} is below the threshold ${threshold}`);
      else assert.equal(a[i], b[i], `${w}[${i}] kept`);
      if (a[i] === 0) zeros++;
    }
  }
  assert.equal(zeros, 42);
  assert.equal(r.sparsity, 0.5);
  // the Gemm's weights are 10× smaller: global pruning empties it first
  const gemm = r.layers.find((l) => l.opType === 'Gemm')!;
  assert.equal(gemm.sparsity, 1);
  assert.equal(r.layers.find((l) => l.opType === 'Conv')!.zeros, 30);
  // biases untouched, the input model unchanged
  for (const [k, v] of before) if (!pruned.includes(k)) assert.deepEqual(after.get(k), v, k);
  assert.ok(Array.from(weights(m).get(gemm.weight)!).every((v) => v !== 0));
});

test('layerwise magnitude pruning: the sparsity in every layer; sparsity 0 changes nothing', () => {
  const r = pruneMagnitude(model(), { sparsity: 0.25, scope: 'layerwise' });
  assert.deepEqual(
    r.layers.map((l) => l.zeros),
    [18, 3],
  );
  const conv = weights(r.model).get(r.layers[0].weight)!;
  const b = weights(model()).get(r.layers[0].weight)!;
  const kept = Array.from(b)
    .map(Math.abs)
    .sort((x, y) => x - y)[17];
  for (let i = 0; i < b.length; i++) assert.equal(conv[i], Math.abs(b[i]) <= kept ? 0 : b[i]);
  assert.equal(pruneMagnitude(model(), { sparsity: 0 }).sparsity, 0);
});

test('pruning errors name what is wrong', () => {
  assert.throws(
    () => pruneMagnitude(model(), { sparsity: 1 }),
    /prune\.sparsity: expected a fraction in \[0, 1\), got 1/,
  );
  assert.throws(
    () => pruneMagnitude(model(), { sparsity: 0.5, excludeNodes: ['nope'] }),
    /node "nope" is not in the model/,
  );
  const x = L.placeholder('input', 'float32', ['batch', 3]);
  const sin = emitModel({ inputs: [x], outputs: { output: L.sin(x) } });
  assert.throws(
    () => pruneMagnitude(sin, { sparsity: 0.5 }),
    (e: Error) => e instanceof CompressError && /nothing to prune.*ops: Sin/.test(e.message),
  );
  assert.throws(() => parseCompressConfig({ prune: { sparsity: 1.5 } }), /prune\.sparsity/);
});

test('compressModel with prune only: no quantization, per-layer sparsity, accuracy before/after, no latency claimed', async () => {
  const cfg = parseCompressConfig({ prune: { sparsity: 0.3 } });
  assert.equal(cfg.quantize.mode, 'none', 'a prune config without a mode only prunes');
  const x = randn([32, 2, 4, 4], 9, 'float32');
  const y: L.NDArray = { dtype: 'int64', shape: [32], data: new BigInt64Array(32) };
  const { model: out, report } = await compressModel(
    model(),
    { calibration: x, eval: { x, y, source: 'synthetic' } },
    cfg,
    { source: 'test' },
  );
  assert.ok(out.graph.node.every((n) => n.opType !== 'QuantizeLinear'));
  assert.ok(Math.abs(report.prune!.sparsityReached - Math.floor(0.3 * 84) / 84) < 1e-12);
  assert.equal(report.prune!.layers.length, 2);
  assert.equal(report.latency.length, 0);
  assert.deepEqual(report.kernels, {});
  assert.ok(report.accuracy && report.accuracy.samples === 32);
  // a tiny model: the metadata added weighs as much as the zeros save; both sizes are reported
  assert.ok(report.size.afterGzipBytes! > 0 && report.size.beforeGzipBytes! > 0, JSON.stringify(report.size));
  const md = reportMarkdown(report);
  assert.match(md, /Magnitude pruning \(global\): 29\.76 % of the 84/);
  assert.match(md, /## Pruned layers/);
  assert.doesNotMatch(md, /\| latency/);
  // prune then quantize when a mode is named
  const both = parseCompressConfig({
    prune: { sparsity: 0.3 },
    quantize: { mode: 'static' },
    report: { latencyBatches: [1], threads: 1 },
  });
  const r2 = await compressModel(model(), { calibration: x }, both, { source: 'test' });
  assert.ok(r2.model.graph.node.some((n) => n.opType === 'DequantizeLinear'));
  assert.equal(r2.report.latency.length, 1);
});
