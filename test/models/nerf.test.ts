// NeRF: volume rendering against its closed form (constant density), finite-difference gradients of the renderer
// w.r.t. densities and colours, inverse-CDF sampling where the weights are, the encoding, and a tiny NeRF whose loss
// falls on the procedural scene.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { manualSeed } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { compile } from '../../src/runtime/compile.js';
import {
  NeRF,
  nerfObjective,
  volumeRender,
  samplePdf,
  positionalEncoding,
  getModel,
  modelNames,
} from '../../src/models/index.js';
import { renderSceneViews } from '../../src/data/procedural-scene.js';
import { checkGrad, randn } from '../util/gradcheck.js';

test('volume rendering, constant density σ over length L: opacity 1 − exp(−σL), colour = opacity × c (+ white)', async () => {
  const S = 16;
  const sigma = 0.7;
  const len = 2.5;
  const deltas = Array.from({ length: S }, (_, i) => (len * (i + 1)) / ((S * (S + 1)) / 2)); // uneven, sum = L
  const f = compile((s: L.Tensor, c: L.Tensor, d: L.Tensor) => {
    const black = volumeRender(s, c, d, false);
    const white = volumeRender(s, c, d, true);
    return { rgb: black.rgb, acc: black.acc, w: black.weights, white: white.rgb };
  });
  const col = [0.2, 0.5, 0.9];
  const r = await f(
    L.float64([1, S], new Array(S).fill(sigma)),
    L.float64(
      [1, S, 3],
      Array.from({ length: S * 3 }, (_, i) => col[i % 3]),
    ),
    L.float64([1, S], deltas),
  );
  const acc = 1 - Math.exp(-sigma * len);
  assert.ok(Math.abs(Number(r.acc.data[0]) - acc) < 1e-12, `acc ${r.acc.data[0]} vs ${acc}`);
  for (let k = 0; k < 3; k++) {
    assert.ok(Math.abs(Number(r.rgb.data[k]) - acc * col[k]) < 1e-12);
    assert.ok(Math.abs(Number(r.white.data[k]) - (acc * col[k] + 1 - acc)) < 1e-12);
  }
  // weight i = exp(−σ·Σ_{j<i} δ_j)·(1 − exp(−σ δ_i))
  let before = 0;
  for (let i = 0; i < S; i++) {
    const want = Math.exp(-sigma * before) * (1 - Math.exp(-sigma * deltas[i]));
    assert.ok(Math.abs(Number(r.w.data[i]) - want) < 1e-12, `w[${i}]`);
    before += deltas[i];
  }
});

for (const threads of [1, 2]) {
  test(`volume rendering: finite-difference gradients w.r.t. densities and colours (${threads} ORT thread${threads > 1 ? 's' : ''})`, async () => {
    const B = 2;
    const S = 5;
    const sigma = L.float64(
      [B, S],
      Array.from(randn([B * S], 3).data as Float64Array, (v) => Math.abs(v) + 0.1),
    );
    const rgb = randn([B, S, 3], 4, 'float64', 0.3, 0.5);
    const deltas = L.float64(
      [B, S],
      Array.from({ length: B * S }, (_, i) => 0.2 + 0.05 * (i % 4)),
    );
    for (const white of [false, true]) {
      await checkGrad(`render white=${white}`, (s, c, d) => volumeRender(s, c, d, white).rgb, [sigma, rgb, deltas], {
        wrt: [0, 1],
        threads,
      });
    }
    await checkGrad('acc', (s, c, d) => volumeRender(s, c, d).acc, [sigma, rgb, deltas], { wrt: [0], threads });
  });
}

test('positional encoding: x, sin 2^k x, cos 2^k x', async () => {
  const f = compile((x: L.Tensor) => positionalEncoding(x, 2));
  const r = await f(L.float64([1, 1], [0.3]));
  const want = [0.3, Math.sin(0.3), Math.cos(0.3), Math.sin(0.6), Math.cos(0.6)];
  want.forEach((v, i) => assert.ok(Math.abs(Number(r.data[i]) - v) < 1e-12));
});

test('inverse-CDF sampling puts fine samples where the coarse weights are', async () => {
  const S = 9;
  const t = Array.from({ length: S }, (_, i) => i); // bins between midpoints: [0.5, 1.5), … , [6.5, 7.5)
  const w = new Array(S).fill(0);
  w[4] = 1; // all weight on the bin around t = 4 → [3.5, 4.5)
  const f = compile((tt: L.Tensor, ww: L.Tensor) => samplePdf(tt, ww, 16, null));
  const r = await f(L.float32([1, S], t), L.float32([1, S], w));
  const got = Array.from(r.data as Float32Array);
  const inBin = got.filter((v) => v >= 3.5 - 1e-5 && v <= 4.5 + 1e-5).length;
  assert.ok(inBin >= 14, `fine samples ${got.join(', ')}`);
  assert.ok(
    got.every((v, i) => i === 0 || v >= got[i - 1] - 1e-6),
    'sorted',
  );
});

test('nerf is in the zoo with a rays input; bad options name the field', () => {
  assert.ok(modelNames().includes('nerf'));
  const e = getModel('nerf');
  assert.equal(e.inputs!(e.options.parse({}))[0].name, 'rays');
  assert.throws(() => e.options.parse({ near: 5, far: 2 }), /far/);
});

test('NeRF (tiny): the photometric loss falls on the procedural scene, coarse + fine, one graph per step', async () => {
  manualSeed(0);
  const views = renderSceneViews({ views: 4, size: 16, seed: 1 });
  const n = views.rgb.length / 3;
  const data = { x: L.float32([n, 6], views.rays), y: L.float32([n, 3], views.rgb) };
  const model = new NeRF({
    width: 32,
    depth: 2,
    posFreqs: 4,
    dirFreqs: 2,
    samples: 12,
    fineSamples: 8,
    near: views.near,
    far: views.far,
  });
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 5e-3,
    epochs: 10,
    seed: 1,
    objective: nerfObjective,
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  await trainer.fit(new ArrayLoader(data, { batchSize: 128, shuffle: true, seed: 1 }));
  await trainer.release();
  const first = (losses[0] + losses[1]) / 2;
  const last = losses.slice(-4).reduce((a, b) => a + b) / 4;
  assert.ok(last < first * 0.5, `loss ${first} → ${last}`);
});
