// Optimizer updates inside the compiled training step match torch.optim trajectories (3 steps, float64).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as L from '../../src/graph/index.js';
import { crossEntropy } from '../../src/nn/losses.js';
import { adam, adamw, lion, rmsprop, sgd, type Optimizer } from '../../src/optim/index.js';
import { TrainStep } from '../../src/train/train-step.js';
import { assertClose } from '../util/gradcheck.js';

interface Fx {
  x: { shape: number[]; data: number[] };
  y: number[];
  init: Record<string, { shape: number[]; data: number[] }>;
  runs: Record<string, { losses: number[]; params: Record<string, number[]> }>;
}
const fx = JSON.parse(readFileSync('test/fixtures/optim/optimizers.json', 'utf8')) as Fx;
const params = Object.fromEntries(Object.entries(fx.init).map(([k, v]) => [k, L.float64(v.shape, v.data)]));
const batch = { x: L.float64(fx.x.shape, fx.x.data), y: L.int64([fx.y.length], fx.y) };

function makeStep(optimizer: Optimizer, clip?: number): Promise<TrainStep> {
  return TrainStep.create({
    params,
    optimizer,
    clipGradNorm: clip,
    batch: { x: { dtype: 'float64', shape: ['batch', 4] }, y: { dtype: 'int64', shape: ['batch'] } },
    forward: ({ params: p, batch: b }) => {
      const h = L.tanh(L.linear(b.x, p.w1, p.b1));
      return { loss: crossEntropy(L.linear(h, p.w2, p.b2), b.y) };
    },
  });
}

const cases: [string, Optimizer, number, number?][] = [
  ['sgd', sgd(), 0.1],
  ['sgd-momentum-nesterov-wd', sgd({ momentum: 0.9, nesterov: true, weightDecay: 0.01 }), 0.1],
  ['sgd-momentum-dampening', sgd({ momentum: 0.9, dampening: 0.5 }), 0.1],
  ['adam', adam(), 0.01],
  ['adam-wd', adam({ weightDecay: 0.1 }), 0.01],
  ['adamw', adamw({ weightDecay: 0.1 }), 0.01],
  ['rmsprop', rmsprop(), 0.01],
  ['rmsprop-momentum', rmsprop({ momentum: 0.9 }), 0.01],
  ['clip-adam', adam(), 0.01, 0.1],
];

describe('optimizers match torch.optim over 3 steps', () => {
  for (const [name, opt, lr, clip] of cases) {
    test(name, async () => {
      const step = await makeStep(opt, clip);
      const ref = fx.runs[name];
      for (let i = 0; i < 3; i++) {
        const r = await step.run(batch, lr);
        assert.ok(Math.abs(r.loss - ref.losses[i]) < 1e-9, `${name}: loss ${i} ${r.loss} vs ${ref.losses[i]}`);
      }
      const p = step.params();
      for (const k of Object.keys(ref.params))
        assertClose(p[k].data as Float64Array, ref.params[k], 1e-9, 1e-8, `${name} ${k}`);
    });
  }
});

test('Lion matches its reference update (sign of interpolated momentum, decoupled decay)', async () => {
  const step = await makeStep(lion({ weightDecay: 0.1 }));
  const w = Float64Array.from(fx.init.b2.data);
  // on the first step m = 0, so the update is exactly lr·sign(g) after the decoupled decay p·(1 − lr·wd)
  await step.run(batch, 0.01);
  const after = step.params().b2.data as Float64Array;
  for (let i = 0; i < w.length; i++) {
    const decayed = w[i] * (1 - 0.01 * 0.1);
    assert.ok(Math.abs(Math.abs(after[i] - decayed) - 0.01) < 1e-12, `lion b2[${i}]: step of exactly lr after decay`);
  }
});

test('the steady state swaps two preallocated sets: parameter buffers are reused, not reallocated', async () => {
  const step = await makeStep(adam());
  await step.run(batch, 0.01);
  const a = step.params().w1.data;
  await step.run(batch, 0.01);
  const b = step.params().w1.data;
  await step.run(batch, 0.01);
  assert.equal(step.params().w1.data, a, 'step 3 writes into the buffer of step 1');
  assert.notEqual(a, b);
});
