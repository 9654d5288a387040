// The QDQ rewrite on graphs with residual connections, concatenations and shared weights: what it plans, that ONNX
// Runtime turns it into integer kernels (the optimized graph has no float Conv/Add left), that its outputs stay
// close to the float model, and that a quantized Conv and Gemm equal a reference integer computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import type { ModelProto, NodeProto } from '../../src/onnx/proto.js';
import { batchFeeds, calibrate } from '../../src/compress/calibrate.js';
import { optimizedKernels } from '../../src/compress/kernels.js';
import { tensorParams } from '../../src/compress/qdq.js';
import { quantizeStatic, withNodeNames } from '../../src/compress/quantize.js';
import { planQuantization } from '../../src/compress/qdq-plan.js';
import { quantizeValue, quantizeWeight, roundHalfEven } from '../../src/compress/quant-params.js';
import { CompressError } from '../../src/compress/errors.js';
import { randn } from '../util/gradcheck.js';

const c = (shape: number[], seed: number, scale = 0.5) => L.constant(randn(shape, seed, 'float32', scale));
const input = (n: number, shape: number[], seed: number) => ({ x: randn([n, ...shape], seed, 'float32') });

async function run(
  m: ModelProto | Uint8Array,
  x: L.NDArray,
  optimization: 'disabled' | 'all' = 'all',
): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(m instanceof Uint8Array ? m : encodeModel(m), {
    graphOptimizationLevel: optimization,
    intraOpNumThreads: 1,
  });
  return (await s.run({ x: new ort.Tensor('float32', x.data as Float32Array, x.shape) }))[s.outputNames[0]]
    .data as Float32Array;
}

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** conv → relu → conv → relu → conv, + the first relu (residual) → relu → conv. */
function residualModel(): ModelProto {
  const x = L.placeholder('x', 'float32', ['batch', 4, 6, 6]);
  const h0 = L.relu(L.conv2d(x, c([8, 4, 3, 3], 1), c([8], 2, 0.1), { padding: 1 }));
  const h1 = L.relu(L.conv2d(h0, c([8, 8, 3, 3], 3), undefined, { padding: 1 }));
  const h2 = L.conv2d(h1, c([8, 8, 3, 3], 4), undefined, { padding: 1 });
  const y = L.relu(L.add(h2, h0));
  return emitModel({ inputs: [x], outputs: { y: L.conv2d(y, c([2, 8, 1, 1], 5), c([2], 6, 0.1)) } });
}

test('residual block: ReLUs folded into the quantized outputs, the Add quantized, all of it integer kernels in ORT', async () => {
  const data = input(16, [4, 6, 6], 7);
  const q = await quantizeStatic(residualModel(), batchFeeds(data, 8));
  assert.equal(q.plan.folded.size, 3, 'the three ReLUs after a conv or the add');
  assert.deepEqual([...new Set(q.plan.nodes.map((n) => q.plan.kinds.get(n)))].sort(), ['binary', 'conv']);
  assert.ok(!q.model.graph.node.some((n) => n.opType === 'Relu'));
  assert.deepEqual(
    q.model.graph.initializer.filter((t) => t.dataType === 1 && t.dims.length > 1),
    [],
    'no float weight left',
  );
  const kernels = await optimizedKernels(q.model, { session: { threads: 1 } });
  assert.deepEqual(kernels, { QLinearConv: 4, QLinearAdd: 1 }, JSON.stringify(kernels));
  const f = await run(q.float, data.x);
  const i8 = await run(q.model, data.x);
  assert.ok(maxDiff(f, i8) < 0.05 * maxAbs(f), `int8 vs float: ${maxDiff(f, i8)} of ${maxAbs(f)}`);
  // the QDQ model as plain ONNX (float simulation, nothing fused) agrees with the integer kernels
  assert.ok(maxDiff(await run(q.model, data.x, 'disabled'), i8) < 0.02 * maxAbs(f));
});

test('concat of two branches: one Q/DQ for the shared input, QLinearConcat in ORT', async () => {
  const x = L.placeholder('x', 'float32', ['batch', 3, 5, 5]);
  const a = L.relu(L.conv2d(x, c([4, 3, 3, 3], 1), undefined, { padding: 1 }));
  const b = L.relu(L.conv2d(x, c([4, 3, 1, 1], 2)));
  const model = emitModel({ inputs: [x], outputs: { y: L.conv2d(L.concat([a, b], 1), c([2, 8, 1, 1], 3)) } });
  const data = input(8, [3, 5, 5], 4);
  const q = await quantizeStatic(model, batchFeeds(data, 8));
  assert.equal(q.model.graph.node.filter((n) => n.opType === 'QuantizeLinear' && n.input[0] === 'x').length, 1);
  const kernels = await optimizedKernels(q.model, { session: { threads: 1 } });
  assert.equal(kernels.QLinearConv, 3);
  assert.equal(kernels.QLinearConcat, 1, JSON.stringify(kernels));
  assert.equal(kernels.Conv, undefined);
  const f = await run(q.float, data.x);
  assert.ok(maxDiff(f, await run(q.model, data.x)) < 0.05 * maxAbs(f));
});

const dqOf = (m: ModelProto, n: NodeProto, k: number): NodeProto | undefined =>
  m.graph.node.find((d) => d.output[0] === n.input[k] && d.opType === 'DequantizeLinear');

test('shared weights: one int8 copy per weight and channel axis', async () => {
  const x = L.placeholder('x', 'float32', ['batch', 8]);
  const w = c([8, 8], 1);
  const h = L.relu(L.matmul(x, w));
  const same = emitModel({ inputs: [x], outputs: { y: L.matmul(h, w) } });
  const q = await quantizeStatic(same, batchFeeds(input(16, [8], 2), 16));
  const mm = q.model.graph.node.filter((n) => n.opType === 'MatMul');
  assert.equal(mm.length, 2);
  assert.equal(
    dqOf(q.model, mm[0], 1)!.output[0],
    dqOf(q.model, mm[1], 1)!.output[0],
    'one DequantizeLinear serves both',
  );
  assert.equal(q.model.graph.initializer.filter((t) => t.dataType === 3 && t.dims.length === 2).length, 1);
  // a Gemm with transB reads the weight per row (axis 0), a MatMul per column (axis 1): two copies
  const y = L.gemm(L.relu(L.matmul(x, w)), w, { transB: true });
  const mixed = await quantizeStatic(emitModel({ inputs: [x], outputs: { y } }), batchFeeds(input(16, [8], 2), 16));
  const axes = mixed.model.graph.node
    .filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm')
    .map((n) => Number(dqOf(mixed.model, n, 1)!.attribute.find((a) => a.name === 'axis')!.i));
  assert.deepEqual(axes.sort(), [0, 1]);
  const f = await run(mixed.float, input(16, [8], 2).x);
  assert.ok(maxDiff(f, await run(mixed.model, input(16, [8], 2).x)) < 0.05 * maxAbs(f));
});

test('a quantized Conv equals the reference integer computation (int32 accumulation, requantized output)', async () => {
  const [cin, cout, hw] = [2, 3, 5];
  const xT = L.placeholder('x', 'float32', ['batch', cin, hw, hw]);
  const W = randn([cout, cin, 3, 3], 11, 'float32', 0.5);
  const B = randn([cout], 12, 'float32', 0.2);
  const model = emitModel({ inputs: [xT], outputs: { y: L.conv2d(xT, L.constant(W), L.constant(B), { padding: 1 }) } });
  const data = input(2, [cin, hw, hw], 13);
  // 7-bit weights on both sides: ORT's u8·s8 kernels cannot saturate then, on any CPU (see cpu-features.ts)
  const q = await quantizeStatic(model, batchFeeds(data, 2), { reduceRange: true });
  const p = tensorParams(q.plan, q.ranges, 'uint8');
  const px = p.get('x')!,
    py = p.get('y')!;
  const wq = quantizeWeight(W.data as Float32Array, W.shape, 0, true);
  const xd = data.x.data as Float32Array;
  const xq = Int32Array.from(xd, (v) => quantizeValue(v, px));
  const expected = new Float32Array(2 * cout * hw * hw);
  for (let n = 0; n < 2; n++)
    for (let o = 0; o < cout; o++)
      for (let i = 0; i < hw; i++)
        for (let j = 0; j < hw; j++) {
          const bs = Math.fround(px.scale) * wq.scales[o];
          let acc = roundHalfEven((B.data as Float32Array)[o] / bs);
          for (let ci = 0; ci < cin; ci++)
            for (let u = 0; u < 3; u++)
              for (let v = 0; v < 3; v++) {
                const r = i + u - 1,
                  s = j + v - 1;
                if (r < 0 || s < 0 || r >= hw || s >= hw) continue; // padding is the zero point: contributes 0
                acc +=
                  (xq[((n * cin + ci) * hw + r) * hw + s] - px.zeroPoint) * wq.data[((o * cin + ci) * 3 + u) * 3 + v];
              }
          const yq = quantizeValue(acc * bs, py);
          expected[((n * cout + o) * hw + i) * hw + j] = (yq - py.zeroPoint) * py.scale;
        }
  for (const level of ['all', 'disabled'] as const) {
    const got = await run(q.model, data.x, level);
    assert.ok(maxDiff(got, expected) <= py.scale * 1.001, `${level}: ${maxDiff(got, expected)} > one step ${py.scale}`);
  }
});

test('a quantized Gemm with a float output equals the int32 accumulation scaled back', async () => {
  const xT = L.placeholder('x', 'float32', ['batch', 6]);
  const W = randn([4, 6], 21, 'float32', 0.5);
  const B = randn([4], 22, 'float32', 0.2);
  const model = emitModel({
    inputs: [xT],
    outputs: { y: L.gemm(xT, L.constant(W), { transB: true, c: L.constant(B) }) },
  });
  const data = input(3, [6], 23);
  const q = await quantizeStatic(model, batchFeeds(data, 3), { reduceRange: true });
  assert.deepEqual(await optimizedKernels(q.model, { session: { threads: 1 } }), { QGemm: 1 });
  const px = tensorParams(q.plan, q.ranges, 'uint8').get('x')!;
  const wq = quantizeWeight(W.data as Float32Array, W.shape, 0, true);
  const expected = new Float32Array(12);
  for (let n = 0; n < 3; n++)
    for (let o = 0; o < 4; o++) {
      const bs = Math.fround(px.scale) * wq.scales[o];
      let acc = roundHalfEven((B.data as Float32Array)[o] / bs);
      for (let k = 0; k < 6; k++)
        acc += (quantizeValue((data.x.data as Float32Array)[n * 6 + k], px) - px.zeroPoint) * wq.data[o * 6 + k];
      expected[n * 4 + o] = acc * bs;
    }
  const got = await run(q.model, data.x);
  assert.ok(maxDiff(got, expected) < 1e-4 * Math.max(1, maxAbs(expected)), `${maxDiff(got, expected)}`);
});

test('exclusion by op type and by node name keeps those nodes in float', async () => {
  const data = input(8, [4, 6, 6], 7);
  const noAdd = await quantizeStatic(residualModel(), batchFeeds(data, 8), { excludeOpTypes: ['Add'] });
  assert.ok(!noAdd.plan.nodes.some((n) => noAdd.plan.kinds.get(n) === 'binary'));
  assert.equal(
    noAdd.plan.skipped.get(noAdd.float.graph.node.find((n) => n.opType === 'Add')!.name!),
    'excluded by op type',
  );
  const firstConv = withNodeNames(residualModel()).graph.node.find((n) => n.opType === 'Conv')!.name!;
  const noFirst = await quantizeStatic(residualModel(), batchFeeds(data, 8), { excludeNodes: [firstConv] });
  assert.ok(!noFirst.plan.nodes.includes(firstConv));
  assert.equal((await optimizedKernels(noFirst.model, { session: { threads: 1 } })).QLinearConv, 3);
});

const handMade = (opType: string): ModelProto => ({
  irVersion: 10,
  opsetImport: [{ domain: '', version: 21 }],
  graph: {
    node: [{ opType, input: ['x'], output: ['y'], name: 'the_node', attribute: [] }],
    initializer: [],
    valueInfo: [],
    input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } }],
    output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
  },
});

test('clear errors: an op without an int8 kernel, a model with nothing to quantize, an unknown node, an empty calibration set', async () => {
  assert.throws(
    () => planQuantization(withNodeNames(residualModel()), { opTypes: ['Conv', 'LSTM'] }),
    (e: Error) => e instanceof CompressError && /op type LSTM cannot be quantized/.test(e.message),
  );
  assert.throws(() => planQuantization(withNodeNames(handMade('Sin'))), /nothing to quantize: .*ops: Sin/);
  assert.throws(
    () => planQuantization(withNodeNames(residualModel()), { excludeNodes: ['conv_9'] }),
    /node "conv_9" is not in the model/,
  );
  await assert.rejects(calibrate(handMade('Relu'), ['y'], []), /calibration set is empty/);
  const old = { ...residualModel(), opsetImport: [{ domain: '', version: 11 }] };
  assert.throws(() => planQuantization(withNodeNames(old)), /opset >= 13.*opset 11/);
});
