// Dynamic quantization: MatMul/Gemm weights int8 (also weights computed from constants, folded first), activations
// quantized per batch; ORT runs the groups as DynamicQuantizeMatMul and the outputs stay close to the float model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import type { ModelProto } from '../../src/onnx/proto.js';
import { quantizeDynamic } from '../../src/compress/dynamic.js';
import { optimizedKernels } from '../../src/compress/kernels.js';
import { randn } from '../util/gradcheck.js';

const c = (shape: number[], seed: number, scale = 0.3) => L.constant(randn(shape, seed, 'float32', scale));

async function run(m: ModelProto, x: L.NDArray): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1 });
  return (await s.run({ x: new ort.Tensor('float32', x.data as Float32Array, x.shape) }))[s.outputNames[0]]
    .data as Float32Array;
}

test('3-D activations × weights, a Gemm with transB and bias, and a weight computed from constants', async () => {
  const x = L.placeholder('x', 'float32', ['batch', 5, 16]);
  const w1 = c([16, 32], 1);
  const h = L.relu(L.matmul(x, w1)); // [B, 5, 32]
  const flat = L.reshape(h, [-1, 32]);
  const wt = L.transpose(L.mul(c([32, 8], 2), 2), [1, 0]); // [8, 32], computed from a constant
  const y = L.gemm(flat, wt, { transB: true, c: c([8], 3) }); // [B·5, 8]
  const model = emitModel({ inputs: [x], outputs: { y } });
  const q = await quantizeDynamic(model);
  assert.equal(q.nodes.length, 2);
  assert.deepEqual(
    q.model.graph.initializer.filter((t) => t.dataType === 1 && t.dims.length === 2),
    [],
    'no float weight left',
  );
  const kernels = await optimizedKernels(q.model, { session: { threads: 1 } });
  assert.equal(kernels.DynamicQuantizeMatMul, 2, JSON.stringify(kernels));
  assert.equal(kernels.MatMul, undefined);
  const data = randn([4, 5, 16], 4, 'float32');
  const f = await run(q.float, data);
  const i8 = await run(q.model, data);
  const scale = Array.from(f).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const err = Array.from(f).reduce((m, v, i) => Math.max(m, Math.abs(v - i8[i])), 0);
  assert.ok(err < 0.03 * scale, `${err} of ${scale}`);
});

test('dynamic quantization errors: nothing to quantize, unknown node', async () => {
  const x = L.placeholder('x', 'float32', ['batch', 4]);
  const m = emitModel({ inputs: [x], outputs: { y: L.relu(x) } });
  await assert.rejects(quantizeDynamic(m), /nothing to quantize dynamically: .*ops: Relu/);
  const mm = emitModel({ inputs: [x], outputs: { y: L.matmul(x, c([4, 4], 1)) } });
  await assert.rejects(quantizeDynamic(mm, { excludeNodes: ['nope'] }), /node "nope" is not in the model/);
  await assert.rejects(quantizeDynamic(mm, { excludeOpTypes: ['MatMul'] }), /MatMul_0: excluded by op type/);
});
