import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { crossEntropy } from '../../src/nn/losses.js';
import { adam, sgd } from '../../src/optim/index.js';
import { TrainStep } from '../../src/train/train-step.js';
import type { TrainStepConfig } from '../../src/train/step-graph.js';
import { assertClose, randn } from '../util/gradcheck.js';

const params = { w: randn([3, 4], 1, 'float32', 0.5), b: randn([3], 2, 'float32', 0.1) };
const x = randn([8, 4], 3, 'float32');
const y = L.int64([8], [0, 1, 2, 0, 1, 2, 0, 1]);
const rows = (a: L.NDArray, s: number, e: number, w: number) =>
  L.ndarray(a.dtype, [e - s, ...a.shape.slice(1)], (a.data as Float32Array).slice(s * w, e * w) as never);

const base = (over: Partial<TrainStepConfig> = {}): TrainStepConfig => ({
  params,
  optimizer: sgd({ momentum: 0.9 }),
  batch: { x: { dtype: 'float32', shape: ['batch', 4] }, y: { dtype: 'int64', shape: ['batch'] } },
  forward: ({ params: p, batch: bt }) => ({ loss: crossEntropy(L.linear(bt.x, p.w, p.b), bt.y) }),
  ...over,
});

test('gradient accumulation of 4 × 2 equals one step on 8 (within float tolerance)', async () => {
  const one = await TrainStep.create(base());
  const acc = await TrainStep.create(base({ accumulate: 4 }));
  for (let s = 0; s < 3; s++) {
    await one.run({ x, y }, 0.1);
    for (let i = 0; i < 4; i++) {
      const r = await acc.run(
        {
          x: rows(x, 2 * i, 2 * i + 2, 4),
          y: L.int64([2], Array.from((y.data as BigInt64Array).slice(2 * i, 2 * i + 2), Number)),
        },
        0.1,
      );
      assert.equal(r.updated, i === 3);
    }
  }
  assert.equal(acc.stepCount, 3);
  assert.equal(acc.microStepCount, 12);
  assertClose(acc.params().w.data as Float32Array, Array.from(one.params().w.data as Float32Array), 1e-6, 1e-5, 'w');
  assertClose(acc.params().b.data as Float32Array, Array.from(one.params().b.data as Float32Array), 1e-6, 1e-5, 'b');
});

test('dynamic loss scaling skips an overflowing step and halves the scale; clean steps keep it', async () => {
  // the loss is multiplied by a fed factor so one step can be made to overflow float32
  const cfg = base({
    lossScale: 'dynamic',
    growthInterval: 3,
    optimizer: adam(),
    batch: {
      x: { dtype: 'float32', shape: ['batch', 4] },
      y: { dtype: 'int64', shape: ['batch'] },
      boost: { dtype: 'float32', shape: [] },
    },
    forward: ({ params: p, batch: bt }) => ({ loss: L.mul(crossEntropy(L.linear(bt.x, p.w, p.b), bt.y), bt.boost) }),
  });
  const step = await TrainStep.create(cfg);
  assert.equal(step.lossScale, 65536);
  const r1 = await step.run({ x, y, boost: L.float32([], [1]) }, 0.01);
  assert.equal(r1.updated, true);
  const before = Array.from(step.params().w.data as Float32Array);
  const r2 = await step.run({ x, y, boost: L.float32([], [1e36]) }, 0.01); // 1e36 · 65536 overflows float32
  assert.equal(r2.updated, false);
  assert.equal(r2.metrics.skipped, 1);
  assert.equal(step.lossScale, 32768);
  assert.deepEqual(Array.from(step.params().w.data as Float32Array), before, 'skipped step leaves weights untouched');
  for (let i = 0; i < 3; i++) await step.run({ x, y, boost: L.float32([], [1]) }, 0.01);
  assert.equal(step.lossScale, 65536, 'doubles after growthInterval clean steps');
});

test('EMA of weights follows ema ← ema + (p − ema)(1 − decay)', async () => {
  const step = await TrainStep.create(base({ ema: { decay: 0.5 } }));
  const p0 = Array.from(params.b.data as Float32Array);
  await step.run({ x, y }, 0.1);
  const p1 = Array.from(step.params().b.data as Float32Array);
  assertClose(
    step.emaParams().b.data as Float32Array,
    p0.map((v, i) => v + (p1[i] - v) * 0.5),
    1e-6,
    1e-6,
    'ema',
  );
});

test('frozen parameters do not move; state() and load() resume exactly', async () => {
  const a = await TrainStep.create(base({ frozen: ['b'], seed: 5 }));
  for (let i = 0; i < 2; i++) await a.run({ x, y }, 0.1);
  assert.deepEqual(Array.from(a.params().b.data as Float32Array), Array.from(params.b.data as Float32Array));
  const saved = Object.fromEntries(
    Object.entries(a.state()).map(([k, v]) => [
      k,
      L.ndarray(v.dtype, v.shape, (v.data as Float32Array).slice() as never),
    ]),
  );
  const b = await TrainStep.create(base({ frozen: ['b'], seed: 5 }));
  b.load(saved, { step: a.stepCount });
  await a.run({ x, y }, 0.1);
  await b.run({ x, y }, 0.1);
  assert.deepEqual(Array.from(b.params().w.data as Float32Array), Array.from(a.params().w.data as Float32Array));
});

test('a non-scalar loss and unknown frozen names are clear errors', async () => {
  await assert.rejects(
    TrainStep.create(base({ forward: ({ params: p, batch: bt }) => ({ loss: L.linear(bt.x, p.w, p.b) }) })),
    /the loss must be a scalar, got shape \[batch,3\]/,
  );
  await assert.rejects(TrainStep.create(base({ frozen: ['nope'] })), /frozen parameter nope does not exist/);
});

test('autocast float16: matmuls run on float16 casts, master weights stay float32, training still converges', async () => {
  const step = await TrainStep.create(base({ autocast: 'float16', lossScale: 'dynamic', optimizer: adam() }));
  const nodes = step.model.graph.node;
  const gemms = nodes.filter((n) => n.opType === 'Gemm' || n.opType === 'MatMul');
  assert.ok(gemms.length >= 2);
  const castTo16 = new Set(
    nodes
      .filter((n) => n.opType === 'Cast' && n.attribute.some((a) => a.name === 'to' && Number(a.i) === 10))
      .flatMap((n) => n.output),
  );
  for (const g of gemms)
    assert.ok(
      g.input.slice(0, 2).every((i) => castTo16.has(i)),
      `${g.opType} reads float16 casts`,
    );
  assert.equal(step.params().w.dtype, 'float32');
  const first = (await step.run({ x, y }, 0.05)).loss;
  let last = first;
  for (let i = 0; i < 20; i++) last = (await step.run({ x, y }, 0.05)).loss;
  assert.ok(last < first * 0.7, `loss ${first} → ${last}`);
});

test('per-op profiling summarises the ORT trace by op type', async () => {
  const dir = (await import('node:fs')).mkdtempSync(
    (await import('node:path')).join((await import('node:os')).tmpdir(), 'lathe-prof-'),
  );
  const step = await TrainStep.create(base({ session: { profile: true, profilePrefix: `${dir}/p` } }));
  for (let i = 0; i < 3; i++) await step.run({ x, y }, 0.1);
  const rows = step.profileSummary();
  const ops = rows.map((r) => r.opType);
  assert.ok(ops.includes('Gemm'), ops.join(','));
  assert.ok(Math.abs(rows.reduce((s, r) => s + r.percent, 0) - 100) < 1e-6);
  assert.ok(rows.every((r, i) => i === 0 || rows[i - 1].totalMs >= r.totalMs));
  // one run's per-node medians: positive, and at most the total over the 3 runs
  assert.ok(rows.every((r) => r.medianMs >= 0 && r.medianMs <= r.totalMs + 1e-9));
  assert.ok(rows.find((r) => r.opType === 'Gemm')!.medianMs > 0);
});
