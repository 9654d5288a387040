// Diffusion: the schedules match their closed forms; DDIM with steps = T and eta = 1 is DDPM's ancestral update for
// the same noise (step by step and over a whole sampling run); DDIM at eta = 0 with an oracle denoiser recovers x_0;
// v-prediction converts back to ε; guidance feeds the null label and combines (1 + w)·cond − w·uncond; a tiny
// class-conditional model trains with falling loss through the Trainer's objective.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { manualSeed } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { fashionMnistSubset } from '../../src/data/fashion.js';
import {
  DDPM,
  ddpmObjective,
  noiseSchedule,
  ddimStep,
  ddpmStep,
  toEps,
  timestepSequence,
  sampleDiffusion,
  type Denoiser,
  type GenerativeInfo,
} from '../../src/models/index.js';
import { Rng, normal } from '../../src/util/random.js';

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
const randn = (n: number, seed: number) => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => normal(r.stream));
};

test('noise schedules match their closed forms', () => {
  const lin = noiseSchedule('linear', 1000);
  close(lin.betas[0], 1e-4, 1e-12, 'β_0');
  close(lin.betas[999], 0.02, 1e-12, 'β_T');
  close(lin.betas[500] - lin.betas[499], (0.02 - 1e-4) / 999, 1e-9, 'linear step');
  // ᾱ_t = Π (1 − β_s) with β_s = β_0 + s·Δ, in closed form through logs; ᾱ_999 ≈ 4.04e-5 (DDPM's table)
  for (const t of [0, 10, 500, 999]) {
    let logp = 0;
    for (let s = 0; s <= t; s++) logp += Math.log(1 - (1e-4 + (s * (0.02 - 1e-4)) / 999));
    close(lin.alphaBars[t], Math.exp(logp), 1e-10, `linear ᾱ_${t}`);
  }
  close(lin.alphaBars[999], 4.0358e-5, 1e-3, 'linear ᾱ_999');
  const cos = noiseSchedule('cosine', 1000);
  const f = (t: number) => Math.cos(((t / 1000 + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  for (const t of [0, 1, 100, 500, 900]) close(cos.alphaBars[t], f(t + 1) / f(0), 1e-9, `cosine ᾱ_${t}`);
  assert.equal(cos.betas[999], 0.999); // clipped at the end, as in improved DDPM
  assert.ok(cos.alphaBars.every((v, i) => i === 0 || v < cos.alphaBars[i - 1]));
  assert.throws(() => noiseSchedule('linear', 1), /steps must be an integer ≥ 2/);
});

test('DDIM with steps = T and eta = 1 equals the DDPM ancestral update for the same noise', () => {
  for (const kind of ['linear', 'cosine'] as const) {
    const s = noiseSchedule(kind, 50);
    const ts = timestepSequence(50, 50);
    assert.deepEqual(
      ts,
      Array.from({ length: 50 }, (_, i) => 49 - i),
    );
    for (const t of [49, 30, 1, 0]) {
      const x = randn(64, t + 1);
      const eps = randn(64, t + 100);
      const z = randn(64, t + 200);
      const a = ddpmStep(x, eps, t, s, z);
      const b = ddimStep(x, eps, s.alphaBars[t], t > 0 ? s.alphaBars[t - 1] : 1, 1, z);
      for (let i = 0; i < 64; i++) close(b[i], a[i], 2e-5, `${kind} t=${t} element ${i}`);
    }
  }
});

const info = (
  over: Partial<Extract<GenerativeInfo, { kind: 'diffusion' }>> = {},
): Extract<GenerativeInfo, { kind: 'diffusion' }> => ({
  kind: 'diffusion',
  channels: 1,
  size: 4,
  timesteps: 40,
  schedule: 'linear',
  prediction: 'eps',
  classes: 0,
  ...over,
});

test('whole runs: DDIM(steps = T, eta = 1) = DDPM for the same seed; DDIM(eta = 0) with an oracle recovers x_0', async () => {
  // a deterministic stand-in for a network: ε̂ = 0.1·x + t/1000
  const fake: Denoiser = async (x, t) => x.map((v, i) => 0.1 * v + t[Math.floor(i / 16)] / 1000);
  const a = await sampleDiffusion(fake, info(), { n: 3, sampler: 'ddpm', seed: 4 });
  const b = await sampleDiffusion(fake, info(), { n: 3, sampler: 'ddim', steps: 40, eta: 1, seed: 4 });
  for (let i = 0; i < a.data.length; i++) close(b.data[i] as number, a.data[i] as number, 1e-4, `sample element ${i}`);
  const c = await sampleDiffusion(fake, info(), { n: 3, sampler: 'ddpm', seed: 5 });
  assert.notDeepEqual(c.data, a.data);

  // an oracle that knows x_0 predicts ε exactly: deterministic DDIM lands on x_0 with any number of steps
  const s = noiseSchedule('linear', 40);
  const x0 = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i) * 0.8);
  const oracle: Denoiser = async (x, t) =>
    x.map((v, i) => (v - Math.sqrt(s.alphaBars[t[0]]) * x0[i % 16]) / Math.sqrt(1 - s.alphaBars[t[0]]));
  for (const steps of [40, 7, 2]) {
    const r = await sampleDiffusion(oracle, info(), { n: 1, steps, seed: 1 });
    for (let i = 0; i < 16; i++) close(r.data[i] as number, x0[i], 1e-4, `oracle DDIM ${steps} steps, pixel ${i}`);
  }
});

test('v-prediction converts to ε; guidance sends the null label and combines (1 + w)·cond − w·uncond', async () => {
  const ab = 0.37;
  const x0 = randn(16, 1);
  const eps = randn(16, 2);
  const xt = x0.map((v, i) => Math.sqrt(ab) * v + Math.sqrt(1 - ab) * eps[i]);
  const v = eps.map((e, i) => Math.sqrt(ab) * e - Math.sqrt(1 - ab) * x0[i]);
  const back = toEps(v, xt, ab, 'v');
  for (let i = 0; i < 16; i++) close(back[i], eps[i], 1e-5, `ε from v, ${i}`);

  const seen: bigint[][] = [];
  // cond predicts 1 for every pixel, uncond 0.25: the guided ε is 1 + w·0.75
  const fake: Denoiser = async (x, _t, y) => {
    seen.push(Array.from(y!));
    return x.map((_, i) => (y![Math.floor(i / 16)] === 3n ? 0.25 : 1));
  };
  const w = 2;
  const one = await sampleDiffusion(fake, info({ classes: 3 }), {
    n: 2,
    steps: 1,
    guidance: w,
    labels: [1, 2],
    seed: 0,
    clipSample: false,
  });
  assert.deepEqual(seen[0], [1n, 2n, 3n, 3n]);
  // one DDIM step from t = T−1 to ᾱ = 1: x_0 = (x − √(1 − ᾱ)·ε)/√ᾱ with ε = 1 + 0.75·w, from the same initial noise
  const s = noiseSchedule('linear', 40);
  const start = await sampleDiffusion(async (x) => x.map(() => 0), info({ classes: 3 }), {
    n: 2,
    steps: 1,
    labels: [1, 2],
    seed: 0,
    clipSample: false,
  });
  const abT = s.alphaBars[39];
  for (let i = 0; i < 32; i++) {
    const xT = (start.data[i] as number) * Math.sqrt(abT); // with ε̂ = 0, x_0 = x_T/√ᾱ (before clipping to [−1, 1])
    const want = Math.min(1, Math.max(-1, (xT - Math.sqrt(1 - abT) * (1 + 0.75 * w)) / Math.sqrt(abT)));
    if (Math.abs(start.data[i] as number) < 1) close(one.data[i] as number, want, 1e-4, `guided pixel ${i}`);
  }
  await assert.rejects(
    sampleDiffusion(fake, info(), { n: 1, steps: 5, guidance: 1 }),
    /guidance needs a class-conditional model/,
  );
  await assert.rejects(
    sampleDiffusion(fake, info({ classes: 3 }), { n: 1, steps: 5, labels: 7 }),
    /label 7 is not a class/,
  );
  await assert.rejects(sampleDiffusion(fake, info(), { n: 1, steps: 41 }), /steps must be an integer in \[1, 40\]/);
});

test('clipSample: x̂_0 clipped to [−1, 1] and ε re-derived consistently; a wild ε still gives images in range', async () => {
  const { clipPrediction } = await import('../../src/models/index.js');
  const ab = 0.01;
  const x = Float32Array.of(0.5, -0.2, 0.05);
  const eps = Float32Array.of(-30, 9, 0.5); // x̂_0 = (x − 0.995·ε)/0.1: 303.5, −91.5, −4.475 → clipped to 1, −1, −1
  const e2 = clipPrediction(x, eps, ab);
  const x0 = Array.from(x, (v, i) => (v - Math.sqrt(1 - ab) * e2[i]) / Math.sqrt(ab));
  for (const [i, want] of [1, -1, -1].entries()) close(x0[i], want, 1e-5, `clipped x̂_0[${i}]`);
  const wild: Denoiser = async (xs) => xs.map((_, i) => (i % 2 ? 40 : -40));
  const r = await sampleDiffusion(wild, info(), { n: 2, steps: 5, seed: 3 });
  assert.ok((r.data as Float32Array).every((v) => v >= -1 && v <= 1));
});

test('DDPM (tiny, class-conditional, v-prediction, cosine): the denoising loss falls', async () => {
  manualSeed(0);
  const model = new DDPM({
    base: 8,
    depth: 2,
    groups: 4,
    timeEmbed: 16,
    timesteps: 100,
    classes: 10,
    prediction: 'v',
    schedule: 'cosine',
  });
  const { x, y } = fashionMnistSubset('train', 'unit').toArrays();
  const n = 256;
  const data = {
    x: L.float32(
      [n, 1, 28, 28],
      (x.data as Float32Array).slice(0, n * 784).map((v) => 2 * v - 1),
    ),
    y: L.int64([n], Array.from((y.data as BigInt64Array).slice(0, n), Number)),
  };
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 3e-3,
    epochs: 4,
    seed: 2,
    objective: ddpmObjective,
    ema: { decay: 0.9 },
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  await trainer.fit(new ArrayLoader(data, { batchSize: 32, shuffle: true, seed: 1 }));
  const ev = await trainer.evaluate(new ArrayLoader(data, { batchSize: 128 }));
  await trainer.release();
  const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
  const last = losses.slice(-6).reduce((a, b) => a + b) / 6;
  assert.ok(last < first * 0.6, `loss ${first} → ${last}`);
  assert.ok(Number.isFinite(ev.loss) && ev.metrics!.mse === ev.loss);
});
