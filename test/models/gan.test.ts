// GANs (src/models/gan.ts) trained by the Trainer's phases: a tiny DCGAN and WGAN-GP train with finite, moving
// losses; an interrupted and resumed run is bit-identical to an uninterrupted one; and the gradient penalty inside the
// critic's training graph (and the update it makes) equals PyTorch 1.13's value for the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NDArray } from '../../src/graph/ndarray.js';
import { manualSeed } from '../../src/nn/index.js';
import { adam, sgd } from '../../src/optim/index.js';
import { GAN, ganPhases, gradientPenalty, type GANOptions } from '../../src/models/gan.js';
import { getModel } from '../../src/models/registry.js';
import '../../src/models/index.js';
import { Trainer, type TrainPhase } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { modelCheckpoint } from '../../src/train/callbacks.js';
import type { BatchLogs } from '../../src/train/callbacks.js';

/** 32 "images" 1×8×8 in [−1, 1]: a bright square at a random place on a dark background. */
function images(n = 32): { x: NDArray } {
  const data = new Float32Array(n * 64).fill(-1);
  for (let i = 0; i < n; i++) {
    const r = (i * 7) % 5,
      c = (i * 3) % 5;
    for (let y = r; y < r + 3; y++) for (let x = c; x < c + 3; x++) data[i * 64 + y * 8 + x] = 1;
  }
  return { x: { dtype: 'float32', shape: [n, 1, 8, 8], data } };
}

const tiny = (loss: 'bce' | 'wgan-gp'): GANOptions => ({
  size: 8,
  latent: 8,
  width: 4,
  loss,
  nCritic: loss === 'bce' ? 1 : 2,
  lr: 1e-3,
});

function make(opts: GANOptions, epochs: number, dir?: string, seen?: BatchLogs[]): Trainer {
  manualSeed(4);
  const model = new GAN(opts);
  const phases: TrainPhase[] = ganPhases(model.cfg).map((p) => ({
    ...p,
    optimizer: adam({ beta1: p.optimizer.beta1, beta2: p.optimizer.beta2 }),
    lr: p.optimizer.lr,
  }));
  return new Trainer({
    model,
    optimizer: adam(),
    lr: 0,
    epochs,
    seed: 9,
    runDir: dir,
    phases,
    callbacks: [
      ...(dir ? [modelCheckpoint({ monitor: 'val_loss', mode: 'min' })] : []),
      { name: 'seen', onBatchEnd: (_t, l) => void seen?.push(l) },
    ],
  });
}

for (const loss of ['bce', 'wgan-gp'] as const) {
  test(`${loss}: a tiny GAN trains with alternating phases, finite losses and a moving critic loss`, async () => {
    const seen: BatchLogs[] = [];
    const t = make(tiny(loss), 3, undefined, seen);
    const before = t.cfg.model
      .namedParameters()
      .map(([k, p]) => [k, Float32Array.from(p.data.data as Float32Array)] as const);
    await t.fit(new ArrayLoader(images(), { batchSize: 8, shuffle: true, seed: 1 }));
    assert.equal(seen.length, 12);
    const phases = seen.map((l) => (l as BatchLogs & { phase?: string }).phase);
    const cyc = loss === 'bce' ? ['critic', 'generator'] : ['critic', 'critic', 'generator'];
    assert.deepEqual(
      phases,
      seen.map((_, i) => cyc[i % cyc.length]),
    );
    for (const l of seen) assert.ok(Number.isFinite(l.loss), `loss ${l.loss} at step ${l.step}`);
    const critic = seen.filter((_, i) => cyc[i % cyc.length] === 'critic').map((l) => l.loss);
    assert.ok(Math.max(...critic) - Math.min(...critic) > 1e-3, `critic loss does not move: ${critic}`);
    if (loss === 'wgan-gp')
      for (const l of seen.filter((_, i) => cyc[i % cyc.length] === 'critic'))
        assert.ok(Number.isFinite(l.metrics.gp) && l.metrics.gp >= 0);
    // both players changed (WGAN's loss is blind to the critic's output bias: it cancels in D(real) − D(fake) and the
    // penalty differentiates it away, so its gradient is exactly 0)
    for (const [k, p] of t.cfg.model.namedParameters()) {
      if (loss === 'wgan-gp' && k === 'critic.head.bias') continue;
      const b = before.find(([kk]) => kk === k)![1];
      assert.ok(
        (p.data.data as Float32Array).some((v, i) => v !== b[i]),
        `${k} did not change`,
      );
    }
    await t.release();
  });
}

test('wgan-gp: a resumed run (stopped mid-cycle, one checkpoint with both optimizers) is bit-identical', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-gan-'));
  const loader = () => new ArrayLoader(images(20), { batchSize: 4, shuffle: true, seed: 2 });
  const a = make(tiny('wgan-gp'), 3, join(dir, 'a'));
  await a.fit(loader());
  const b = make(tiny('wgan-gp'), 1, join(dir, 'b')); // 5 batches: stops inside the second cycle of 3
  await b.fit(loader());
  const c = make(tiny('wgan-gp'), 3, join(dir, 'b'));
  await c.fit(loader(), undefined, { resumeFrom: join(dir, 'b') });
  const ck = JSON.parse(readFileSync(join(dir, 'b', 'last.json'), 'utf8')) as { step: number };
  assert.equal(ck.step, 15);
  for (const [k, p] of a.cfg.model.namedParameters()) {
    const q = c.cfg.model.namedParameters().find(([kk]) => kk === k)![1];
    assert.deepEqual(Array.from(q.data.data as Float32Array), Array.from(p.data.data as Float32Array), `param ${k}`);
  }
  for (const t of [a, b, c]) await t.release();
});

test('the gradient penalty in the critic training graph equals PyTorch 1.13 (value and the SGD update it makes)', async () => {
  const fx = JSON.parse(readFileSync('test/fixtures/gan/gradient_penalty.json', 'utf8')) as Record<
    string,
    number[] | number
  >;
  const arr = (k: string, shape: number[]): NDArray => ({
    dtype: 'float32',
    shape,
    data: Float32Array.from(fx[k] as number[]),
  });
  const model = new GAN({ size: 8, width: 4, latent: 4 });
  const set = (name: string, v: NDArray | 'zero') => {
    const p = model.namedParameters().find(([k]) => k === name)![1];
    p.data = v === 'zero' ? { ...p.data, data: new Float32Array(p.data.shape.reduce((x, y) => x * y, 1)) } : v;
  };
  set('critic.conv1.weight', arr('w1', [4, 1, 4, 4]));
  set('critic.conv2.weight', arr('w2', [8, 4, 4, 4]));
  set('critic.head.weight', arr('wl', [1, 32]));
  for (const b of ['critic.conv1.bias', 'critic.conv2.bias', 'critic.head.bias']) set(b, 'zero');
  const seen: BatchLogs[] = [];
  const t = new Trainer({
    model,
    optimizer: sgd(),
    lr: 1,
    epochs: 1,
    seed: 0,
    callbacks: [{ name: 'seen', onBatchEnd: (_t, l) => void seen.push(l) }],
    phases: [
      {
        name: 'critic',
        parameters: ['critic.'],
        steps: 1,
        objective: (m, b) => {
          const gp = gradientPenalty((m as GAN).critic, b.x, b.fake, b.alpha, 10);
          return { loss: gp, metrics: { gp } };
        },
      },
    ],
  });
  await t.fit(
    new ArrayLoader(
      { x: arr('real', [3, 1, 8, 8]), fake: arr('fake', [3, 1, 8, 8]), alpha: arr('alpha', [3, 1, 1, 1]) },
      { batchSize: 3 },
    ),
  );
  const want = fx.gp as number;
  assert.ok(Math.abs(seen[0].metrics.gp - want) < 1e-4 * want, `gp ${seen[0].metrics.gp} vs PyTorch ${want}`);
  // SGD with lr 1: w_new = w − ∂gp/∂w, so the step's update is PyTorch's second-order gradient
  for (const [name, k, g] of [
    ['critic.conv1.weight', 'w1', 'grad_w1'],
    ['critic.conv2.weight', 'w2', 'grad_w2'],
    ['critic.head.weight', 'wl', 'grad_wl'],
  ] as const) {
    const w = model.namedParameters().find(([n]) => n === name)![1].data.data as Float32Array;
    const w0 = fx[k] as number[],
      gw = fx[g] as number[];
    const scale = Math.max(...gw.map(Math.abs));
    for (let i = 0; i < w.length; i++)
      assert.ok(
        Math.abs(w0[i] - w[i] - gw[i]) < 1e-4 * scale + 1e-4 * Math.abs(w0[i]),
        `${name}[${i}]: update ${w0[i] - w[i]} vs PyTorch ${gw[i]}`,
      );
  }
  await t.release();
});

test('dcgan and wgan-gp are registered with WGAN-GP defaults (λ 10, n_critic 5, Adam 1e-4, betas (0, 0.9))', () => {
  const w = getModel('wgan-gp');
  const o = w.options.parse({}) as GAN['cfg'];
  assert.deepEqual([o.loss, o.lambda, o.nCritic, o.lr, o.betas], ['wgan-gp', 10, 5, 1e-4, [0, 0.9]]);
  const phases = w.objective!(o).phases!;
  assert.deepEqual(
    phases.map((p) => [p.name, p.steps]),
    [
      ['critic', 5],
      ['generator', 1],
    ],
  );
  const d = getModel('dcgan').options.parse({}) as GAN['cfg'];
  assert.deepEqual([d.loss, d.nCritic, d.lr, d.betas], ['bce', 1, 2e-4, [0.5, 0.999]]);
  assert.throws(() => getModel('wgan-gp').options.parse({ size: 30 }), /divisible by 4/);
});
