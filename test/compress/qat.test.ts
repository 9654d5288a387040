// Quantization-aware training: the fake quantizer against ONNX's Q/DQ arithmetic and its straight-through / LSQ
// gradients written out here; a QatModule's fake-quant forward against ONNX Runtime's integer kernels running the
// exported QDQ model (before and after fine-tuning with the Trainer); observers frozen after their warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import type { ModelProto } from '../../src/onnx/proto.js';
import { compile } from '../../src/runtime/compile.js';
import { withFrozenParameters } from '../../src/nn/export.js';
import { crossEntropy } from '../../src/nn/losses.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/data/array-loader.js';
import { batchFeeds } from '../../src/compress/calibrate.js';
import { optimizedKernels } from '../../src/compress/kernels.js';
import { quantizeStatic } from '../../src/compress/quantize.js';
import { fakeQuantize } from '../../src/compress/fake-quant.js';
import { QatModule } from '../../src/compress/qat.js';
import { roundHalfEven } from '../../src/compress/quant-params.js';
import { randn } from '../util/gradcheck.js';

const c = (shape: number[], seed: number, scale = 0.5) => L.constant(randn(shape, seed, 'float32', scale));

/** conv → relu, conv + residual → relu, global pool, flatten, gemm (the logits stay float). */
function classifier(): ModelProto {
  const x = L.placeholder('input', 'float32', ['batch', 2, 6, 6]);
  const h = L.relu(L.conv2d(x, c([6, 2, 3, 3], 1), c([6], 2, 0.1), { padding: 1 }));
  const h2 = L.relu(L.add(L.conv2d(h, c([6, 6, 3, 3], 3), undefined, { padding: 1 }), h));
  const pooled = L.flatten(L.adaptiveAvgPool2d(h2, 1), 1);
  return emitModel({
    inputs: [x],
    outputs: { output: L.gemm(pooled, c([3, 6], 4), { transB: true, c: c([3], 5, 0.1) }) },
  });
}

const x = randn([64, 2, 6, 6], 7, 'float32');
// 7-bit weights: on a CPU without VNNI (this machine's AMD EPYC has AVX2 only) ORT's u8·s8 kernels add pairs of
// products in 16 bits with saturation, so full-range int8 weights overflow there and the kernel no longer computes
// the Q/DQ arithmetic; reduce-range weights cannot overflow, so the comparison holds on any x86 CPU.
const rr = { reduceRange: true } as const;

async function runOrt(m: ModelProto, input: L.NDArray): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1 });
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', input.data as Float32Array, input.shape) });
  return out[s.outputNames[0]].data as Float32Array;
}

async function forward(m: QatModule, input: L.NDArray): Promise<Float32Array> {
  const f = compile((t: L.Tensor) => withFrozenParameters(m, () => m.forward(t)));
  return (await f(input)).data as Float32Array;
}

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const meanDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => m + Math.abs(v - b[i]), 0) / a.length;
const argmax = (a: Float32Array, k: number): number[] =>
  Array.from({ length: a.length / k }, (_, r) => {
    let b = 0;
    for (let j = 1; j < k; j++) if (a[r * k + j] > a[r * k + b]) b = j;
    return b;
  });

test('fakeQuantize: the Q/DQ values ONNX defines, a straight-through gradient for x and LSQ’s for the scale', async () => {
  const xs = Float32Array.from([-3.1, -1.25, -0.05, 0, 0.35, 0.75, 1.25, 2.0, 9.7]);
  const s = 0.5,
    zp = 3,
    qmin = 0,
    qmax = 15,
    gs = 0.25;
  const xin = L.ndarray('float32', [xs.length], xs);
  const sin = L.ndarray('float32', [1], Float32Array.of(s));
  const ct = randn([xs.length], 3, 'float32');
  const f = compile((a: L.Tensor, b: L.Tensor) => {
    const y = fakeQuantize(a, b, L.scalar(zp), { qmin, qmax, scaleGradScale: gs });
    const [gx, gsc] = gradients(L.sum(L.mul(y, L.constant(ct))), [a, b]);
    return { y, gx, gs: gsc };
  });
  const r = await f(xin, sin);
  const g = ct.data as Float32Array;
  let gScale = 0;
  xs.forEach((v, i) => {
    const raw = roundHalfEven(v / s) + zp;
    const q = Math.min(qmax, Math.max(qmin, raw));
    assert.ok(Math.abs((r.y.data as Float32Array)[i] - (q - zp) * s) < 1e-6, `y[${i}]`);
    const inside = raw >= qmin && raw <= qmax ? 1 : 0;
    assert.equal((r.gx.data as Float32Array)[i], g[i] * inside, `gx[${i}]`);
    gScale += g[i] * (q - zp - inside * (v / s));
  });
  // the range clips both ends here, so the two cases of the rule are both exercised
  assert.ok(Math.abs((r.gs.data as Float32Array)[0] - gs * gScale) < 1e-5, `${r.gs.data[0]} vs ${gs * gScale}`);
});

test('QatModule: its fake-quant forward is what ORT’s integer kernels compute from the exported QDQ model', async () => {
  const q = await quantizeStatic(classifier(), batchFeeds({ input: x }, 32), rr);
  const m = new QatModule(q.float, q.plan, q.ranges, rr);
  const qdq = m.toQdq();
  assert.deepEqual(await optimizedKernels(qdq, { session: { threads: 1 } }), {
    QLinearConv: 2,
    QLinearAdd: 1,
    QLinearGlobalAveragePool: 1,
    QGemm: 1,
  });
  const fq = await forward(m, x);
  const int8 = await runOrt(qdq, x);
  const float = await runOrt(q.float, x);
  const scale = maxAbs(float);
  // the fake-quant forward is much closer to the integer model than the float model is: it models the rounding
  assert.ok(maxDiff(fq, int8) < 0.01 * scale, `fake-quant vs int8 ${maxDiff(fq, int8)} (logits up to ${scale})`);
  assert.ok(
    meanDiff(float, int8) > 3 * meanDiff(fq, int8),
    `mean |float − int8| ${meanDiff(float, int8)}, mean |fake-quant − int8| ${meanDiff(fq, int8)}`,
  );
  assert.deepEqual(argmax(fq, 3), argmax(int8, 3));
});

async function labels(): Promise<L.NDArray> {
  const out = await runOrt(classifier(), x);
  return { dtype: 'int64', shape: [64], data: BigInt64Array.from(argmax(out, 3), BigInt) };
}

for (const mode of ['fixed', 'learned'] as const) {
  test(`QatModule (${mode} scales): fine-tuned with the Trainer, exported int8 still matches the fake-quant forward`, async () => {
    const q = await quantizeStatic(classifier(), batchFeeds({ input: x }, 32), rr);
    const m = new QatModule(q.float, q.plan, q.ranges, {
      ...rr,
      scales: mode,
      observerWarmupSteps: 4,
      observerMomentum: 0.5,
    });
    const before = m.ranges();
    const losses: number[] = [];
    const frozen: string[] = [];
    const trainer = new Trainer({
      model: m,
      optimizer: adam(),
      lr: 5e-3,
      epochs: 4,
      loss: (o, b) => crossEntropy(o, b.y),
      seed: 1,
      callbacks: [
        {
          name: 'record',
          onBatchEnd: (t, logs) => {
            losses.push(logs.loss);
            if (mode === 'fixed' && losses.length >= 4) {
              t.syncModel();
              frozen.push(JSON.stringify([...m.ranges()]));
            }
          },
        },
      ],
    });
    await trainer.fit(new ArrayLoader({ x, y: await labels() }, { batchSize: 16, shuffle: true, seed: 2 }));
    assert.equal(losses.length, 16);
    const after = m.ranges();
    assert.notDeepEqual([...after], [...before], 'the ranges moved (observers or learned scales)');
    if (mode === 'fixed') {
      assert.equal((m.steps.data.data as Float32Array)[0], 16, 'steps counted');
      assert.equal(new Set(frozen).size, 1, 'the observers froze after 4 steps');
    }
    const fq = await forward(m, x);
    const int8 = await runOrt(m.toQdq(), x);
    assert.ok(maxDiff(fq, int8) < 0.01 * maxAbs(fq), `fake-quant vs int8 after training ${maxDiff(fq, int8)}`);
    assert.deepEqual(argmax(fq, 3), argmax(int8, 3));
  });
}
