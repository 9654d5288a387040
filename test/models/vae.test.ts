// VAE: a tiny one trains on dynamically binarised Fashion-MNIST through the Trainer's objective with falling loss;
// the likelihoods and the KL term match their closed forms computed in JS; the IWAE bound equals the ELBO at k = 1
// and is tighter at k = 64; the fixed binarisation is deterministic and unbiased; a config run reports test ELBO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../../src/graph/index.js';
import { manualSeed } from '../../src/nn/index.js';
import { withFrozenParameters } from '../../src/nn/export.js';
import { withContext } from '../../src/nn/context.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { modelCheckpoint } from '../../src/train/callbacks.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { runTraining } from '../../src/train/run.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { fashionMnistSubset } from '../../src/data/fashion.js';
import { binarizeFixed } from '../../src/data/pixels.js';
import { VAE, vaeObjective, vaeBounds, getModel } from '../../src/models/index.js';
import { compile } from '../../src/runtime/compile.js';
import { randn } from '../util/gradcheck.js';

function subset(n: number): { x: L.NDArray; y: L.NDArray } {
  const { x, y } = fashionMnistSubset('train', 'unit').toArrays();
  return {
    x: L.float32([n, 1, 28, 28], (x.data as Float32Array).slice(0, n * 784)),
    y: L.int64([n], Array.from((y.data as BigInt64Array).slice(0, n), Number)),
  };
}

for (const arch of ['mlp', 'conv'] as const) {
  test(`VAE (${arch}, tiny): the negative ELBO falls on binarised Fashion-MNIST; evaluate reports elbo = −loss`, async () => {
    manualSeed(0);
    const model = new VAE({ arch, hidden: [32], latent: 4 });
    const data = subset(256);
    const losses: number[] = [];
    const trainer = new Trainer({
      model,
      optimizer: adam(),
      lr: 3e-3,
      epochs: 3,
      seed: 1,
      objective: vaeObjective,
      callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
    });
    await trainer.fit(new ArrayLoader(data, { batchSize: 32, shuffle: true, seed: 1 }));
    const first = (losses[0] + losses[1]) / 2;
    const last = losses.slice(-4).reduce((a, b) => a + b) / 4;
    assert.ok(last < first * 0.8, `negative ELBO ${first} → ${last}`);
    const ev = await trainer.evaluate(new ArrayLoader({ x: binarizeFixed(data.x), y: data.y }, { batchSize: 100 }));
    await trainer.release();
    assert.ok(Math.abs(ev.metrics!.elbo + ev.loss) < 1e-3 * ev.loss, `elbo ${ev.metrics!.elbo} loss ${ev.loss}`);
    assert.ok(Math.abs(ev.metrics!.rec + ev.metrics!.kl - ev.loss) < 1e-3 * ev.loss);
    assert.ok(ev.metrics!.kl > 0);
    assert.equal(ev.samples, 256);
  });
}

test('VAE likelihoods and KL match their closed forms', async () => {
  manualSeed(2);
  for (const likelihood of ['bernoulli', 'gaussian'] as const) {
    const model = new VAE({ hidden: [8], latent: 3, size: 4, likelihood });
    const x = L.float32(
      [2, 1, 4, 4],
      Array.from({ length: 32 }, (_, i) => ((i * 7) % 5 < 2 ? 1 : 0)),
    );
    const z = L.float32([2, 3], Array.from(randn([6], 3).data as Float64Array));
    const f = compile((xs: L.Tensor, zs: L.Tensor) =>
      withFrozenParameters(model, () => {
        const out = model.decode(zs);
        const { mu, logvar } = model.encode(xs);
        return { out, ll: model.logLikelihood(out, xs), mu, logvar };
      }),
    );
    const r = await f(x, z);
    const out = r.out.data as Float32Array;
    const xd = x.data as Float32Array;
    for (let b = 0; b < 2; b++) {
      let want = 0;
      for (let i = 0; i < 16; i++) {
        const xi = xd[b * 16 + i];
        if (likelihood === 'bernoulli') {
          const p = 1 / (1 + Math.exp(-out[b * 16 + i]));
          want += xi * Math.log(p) + (1 - xi) * Math.log(1 - p);
        } else {
          const m = out[b * 32 + i];
          const lv = Math.min(4, Math.max(-8, out[b * 32 + 16 + i]));
          want += -0.5 * (Math.log(2 * Math.PI) + lv + (xi - m) ** 2 / Math.exp(lv));
        }
      }
      const got = (r.ll.data as Float32Array)[b];
      assert.ok(
        Math.abs(got - want) < 1e-4 * Math.max(1, Math.abs(want)),
        `${likelihood} log p(x|z): ${got} vs ${want}`,
      );
    }
  }
  // KL(q ‖ p) from vaeObjective's metrics against ½ Σ (μ² + σ² − 1 − log σ²) from the encoder's outputs
  const model = new VAE({ hidden: [8], latent: 3, size: 4, binarize: false });
  const x = L.float32(
    [2, 1, 4, 4],
    Array.from({ length: 32 }, (_, i) => (i % 3 === 0 ? 1 : 0)),
  );
  const g = compile((xs: L.Tensor, key: L.Tensor) =>
    withFrozenParameters(model, () => {
      const { mu, logvar } = model.encode(xs);
      return { mu, logvar, kl: withContext({ training: false, key }, () => vaeObjective(model, { x: xs }).metrics.kl) };
    }),
  );
  const r = await g(x, L.int64([], [5]));
  const mu = r.mu.data as Float32Array;
  const lv = r.logvar.data as Float32Array;
  let kl = 0;
  for (let i = 0; i < 6; i++) kl += 0.5 * (mu[i] ** 2 + Math.exp(lv[i]) - 1 - lv[i]);
  assert.ok(
    Math.abs((r.kl.data as Float32Array)[0] - kl / 2) < 1e-5,
    `KL ${(r.kl.data as Float32Array)[0]} vs ${kl / 2}`,
  );
});

test('IWAE: k = 1 gives the ELBO; k = 64 (in chunks of 16) gives a tighter bound', async () => {
  manualSeed(3);
  const model = new VAE({ hidden: [16], latent: 2 });
  const x = binarizeFixed(subset(20).x);
  const one = await vaeBounds(model, x, { k: 1, batch: 10 });
  assert.equal(one.elbo, one.iwae);
  const many = await vaeBounds(model, x, { k: 64, chunk: 16, batch: 10 });
  assert.equal(many.images, 20);
  assert.ok(many.iwae > many.elbo + 1, `IWAE ${many.iwae} vs ELBO ${many.elbo}`);
  await assert.rejects(vaeBounds(model, x, { k: 10, chunk: 3 }), /chunk 3 must divide k 10/);
  await assert.rejects(vaeBounds(model, L.float32([1, 1, 4, 4]), { k: 1 }), /images must be \[N, 1, 28, 28\]/);
});

test('binarizeFixed: deterministic, binary, unbiased; binary images are its fixed point', () => {
  const p = L.float32([20000], new Float32Array(20000).fill(0.3));
  const a = binarizeFixed(p, 0).data as Float32Array;
  assert.deepEqual(a, binarizeFixed(p, 0).data);
  assert.notDeepEqual(a, binarizeFixed(p, 1).data);
  assert.ok(a.every((v) => v === 0 || v === 1));
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(m - 0.3) < 0.01, `mean ${m}`);
  assert.deepEqual(binarizeFixed({ dtype: 'float32', shape: [20000], data: a }, 5).data, a);
});

test('vae from a config: registered with its objective; a run reports the test ELBO and picks best by val_elbo', async () => {
  const entry = getModel('vae');
  assert.equal(entry.objective?.(entry.options.parse({})).monitor.metric, 'val_elbo');
  const dir = mkdtempSync(join(tmpdir(), 'lathe-vae-'));
  const cfg = parseTrainConfig({
    name: 'vae-test',
    seed: 0,
    model: { name: 'vae', options: { hidden: [16], latent: 2 } },
    data: { name: 'fashion-mnist-subset', batchSize: 64, limit: 256 },
    optimizer: { name: 'adam', lr: 0.003 },
    trainer: { epochs: 1, threads: 1 },
    output: dir,
  });
  const r = await runTraining(cfg, { quiet: true });
  assert.ok(r.testMetrics && r.testMetrics.elbo < 0 && r.testMetrics.elbo > -800, JSON.stringify(r.testMetrics));
  const best = JSON.parse(readFileSync(join(dir, 'best.json'), 'utf8')) as { metrics: Record<string, number> };
  assert.ok('val_elbo' in best.metrics);
});

test('a VAE run resumed from its epoch-1 checkpoint ends bit-identical to an uninterrupted run (in-graph noise keyed by step)', async () => {
  const data = subset(128);
  const make = (epochs: number, runDir?: string) => {
    manualSeed(4);
    return new Trainer({
      model: new VAE({ hidden: [16], latent: 2 }),
      optimizer: adam(),
      lr: 3e-3,
      epochs,
      seed: 5,
      objective: vaeObjective,
      runDir,
      callbacks: runDir ? [modelCheckpoint({ saveTopK: 0 })] : [],
    });
  };
  const loader = () => new ArrayLoader(data, { batchSize: 32, shuffle: true, seed: 6 });
  const straight = make(2);
  await straight.fit(loader());
  const dir = mkdtempSync(join(tmpdir(), 'lathe-vae-resume-'));
  const first = make(1, dir);
  await first.fit(loader());
  await first.release();
  const resumed = make(2, dir);
  await resumed.fit(loader(), undefined, { resumeFrom: dir });
  straight.syncModel();
  resumed.syncModel();
  const a = straight.cfg.model.namedParameters();
  const b = resumed.cfg.model.namedParameters();
  for (let i = 0; i < a.length; i++) assert.deepEqual(b[i][1].data.data, a[i][1].data.data, a[i][0]);
  await straight.release();
  await resumed.release();
});
