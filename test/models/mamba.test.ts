import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { bindParameters, manualSeed } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { compile } from '../../src/runtime/compile.js';
import { lmLoss } from '../../src/models/transformer.js';
import { Mamba, MambaMixer, mambaOptions } from '../../src/models/mamba.js';
import { TextGenerator } from '../../src/models/generate.js';
import { getModel } from '../../src/models/index.js';
import { withFrozenParameters } from '../../src/nn/export.js';
import { packageRoot } from '../../src/util/package-root.js';
import { assertClose, randn } from '../util/gradcheck.js';
import { charWindows } from './_text.js';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(20);
const VOCAB = ' .abcdefghijklmnopqrstuvwxyz';

const silu = (v: number): number => v / (1 + Math.exp(-v));
const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));

/** The mixer one step at a time in plain JS: u [B, T, dim] → [B, T, dim] (the paper's recurrence, no tricks). */
function sequentialMixer(m: MambaMixer, u: Float32Array, bn: number, t: number): number[] {
  const c = m.cfg;
  const [d, e, n, r, k] = [c.dim, m.inner, c.state, m.rank, c.convKernel];
  const w = (p: { data: { data: unknown } }) => p.data.data as Float32Array;
  const [inW, convW, convB, xW, dtW, dtB, aLog, dS, outW] = [
    w(m.inProj.weight),
    w(m.convWeight),
    w(m.convBias),
    w(m.xProj.weight),
    w(m.dtProj.weight),
    w(m.dtProj.bias!),
    w(m.aLog),
    w(m.dSkip),
    w(m.outProj.weight),
  ];
  const out: number[] = [];
  for (let b = 0; b < bn; b++) {
    const xs: number[][] = [];
    const zs: number[][] = [];
    for (let s = 0; s < t; s++) {
      const row = u.subarray((b * t + s) * d, (b * t + s + 1) * d);
      const xz = Array.from({ length: 2 * e }, (_, o) => row.reduce((acc, v, i) => acc + v * inW[o * d + i], 0));
      xs.push(xz.slice(0, e));
      zs.push(xz.slice(e));
    }
    const h = new Array<number>(e * n).fill(0);
    for (let s = 0; s < t; s++) {
      const x = Array.from({ length: e }, (_, ch) => {
        let acc = convB[ch];
        for (let j = 0; j < k; j++) {
          const src = s - (k - 1) + j;
          if (src >= 0) acc += convW[ch * k + j] * xs[src][ch];
        }
        return silu(acc);
      });
      const dbc = Array.from({ length: r + 2 * n }, (_, o) => x.reduce((acc, v, i) => acc + v * xW[o * e + i], 0));
      const y = new Array<number>(e).fill(0);
      for (let ch = 0; ch < e; ch++) {
        let pre = dtB[ch];
        for (let q = 0; q < r; q++) pre += dtW[ch * r + q] * dbc[q];
        const delta = softplus(pre);
        for (let q = 0; q < n; q++) {
          const a = -Math.exp(aLog[ch * n + q]);
          h[ch * n + q] = Math.exp(delta * a) * h[ch * n + q] + delta * dbc[r + q] * x[ch];
          y[ch] += h[ch * n + q] * dbc[r + n + q];
        }
        y[ch] = (y[ch] + dS[ch] * x[ch]) * silu(zs[s][ch]);
      }
      for (let o = 0; o < d; o++) out.push(y.reduce((acc, v, i) => acc + v * outW[o * e + i], 0));
    }
  }
  return out;
}

for (const scan of ['chunked', 'doubling', 'sequential'] as const)
  test(`Mamba mixer (${scan} scan) equals the step-by-step reference`, async () => {
    manualSeed(3);
    const cfg = mambaOptions.parse({ dim: 8, state: 4, expand: 2, dtRank: 2, scan, chunk: 4, dtMin: 0.05, dtMax: 0.5 });
    const m = new MambaMixer(cfg);
    const u = randn([2, 11, 8], 4, 'float32');
    const f = compile((x: L.Tensor) => withFrozenParameters(m, () => m.forward(x)));
    const y = await f(u);
    assert.deepEqual(y.shape, [2, 11, 8]);
    assertClose(y.data as Float32Array, sequentialMixer(m, u.data as Float32Array, 2, 11), 1e-5, 1e-4, scan);
  });

interface TorchFixture {
  config: { dim: number; state: number; expand: number; dtRank: number; convKernel: number };
  params: Record<string, { shape: number[]; data: number[] }>;
  u: { shape: number[]; data: number[] };
  ct: { shape: number[]; data: number[] };
  y: number[];
  grads: Record<string, number[]>;
}

test('Mamba mixer: forward and gradients match the PyTorch sequential-scan reference (bench/peers/torch_mamba.py)', async () => {
  const fx = JSON.parse(readFileSync(`${packageRoot()}/test/fixtures/mamba-mixer.json`, 'utf8')) as TorchFixture;
  const m = new MambaMixer(mambaOptions.parse({ ...fx.config, scan: 'chunked', chunk: 4 }));
  const state = Object.fromEntries(Object.entries(fx.params).map(([k, v]) => [k, L.float32(v.shape, v.data)]));
  m.loadStateDict(state);
  const names = Object.keys(fx.grads).filter((k) => k !== 'u');
  const f = compile((u: L.Tensor, ct: L.Tensor, ...ps: L.Tensor[]) =>
    bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => {
      const y = m.forward(u);
      const gs = gradients(L.sum(L.mul(y, ct)), [u, ...ps]);
      return [y, ...gs];
    }),
  );
  const [y, gu, ...gp] = await f(
    L.float32(fx.u.shape, fx.u.data),
    L.float32(fx.ct.shape, fx.ct.data),
    ...names.map((k) => state[k]),
  );
  assertClose(y.data as Float32Array, fx.y, 1e-5, 1e-4, 'y');
  assertClose(gu.data as Float32Array, fx.grads.u, 1e-5, 1e-3, 'dL/du');
  names.forEach((k, i) => assertClose(gp[i].data as Float32Array, fx.grads[k], 1e-5, 1e-3, `dL/d${k}`));
});

test('Mamba LM (tiny): trains — loss falls; cached decoding equals the full forward; generation with and without the state cache agree', async () => {
  manualSeed(0);
  assert.ok(getModel('mamba'));
  const model = new Mamba({ vocab: VOCAB.length, context: 16, dim: 32, layers: 2, state: 8, chunk: 8 });
  const data = charWindows(TEXT, VOCAB, 16, 64);
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 5e-3,
    epochs: 3,
    loss: (out, b) => lmLoss(out, b.y),
    callbacks: [{ name: 'rec', onBatchEnd: (_t, l) => void losses.push(l.loss) }],
  });
  await trainer.fit(new ArrayLoader(data, { batchSize: 16, shuffle: true, seed: 1 }));
  assert.ok(losses.at(-1)! < losses[0] * 0.8, `loss ${losses[0]} → ${losses.at(-1)}`);
  await trainer.release();

  // the full forward over 11 tokens vs a prefix of 4 then one token at a time, carrying the recurrent state
  const ids = [...'the quick b'].map((c) => VOCAB.indexOf(c));
  const v = VOCAB.length;
  const full = compile((x: L.Tensor) => withFrozenParameters(model, () => model.forward(x)));
  const fl = (await full(L.int64([1, ids.length], ids))).data as Float32Array;
  const e = 64;
  const step = compile((x: L.Tensor, ...st: L.Tensor[]) =>
    withFrozenParameters(model, () => {
      const r = model.decode(x, [
        { conv: st[0], ssm: st[1] },
        { conv: st[2], ssm: st[3] },
      ]);
      return [r.logits, ...r.states.flatMap((s) => [s.conv, s.ssm])];
    }),
  );
  let states: L.NDArray[] = [
    L.float32([1, e, 3], new Float32Array(e * 3)),
    L.float32([1, e, 8], new Float32Array(e * 8)),
  ];
  states = [...states, ...states];
  const got: number[] = [];
  for (const piece of [ids.slice(0, 4), ...ids.slice(4).map((i) => [i])]) {
    const [lg, ...st] = await step(L.int64([1, piece.length], piece), ...states);
    got.push(...(lg.data as Float32Array));
    states = st;
  }
  assertClose(got, Array.from(fl), 1e-4, 1e-3, 'cached vs full logits');
  assert.equal(got.length, ids.length * v);

  const gen = new TextGenerator(model);
  const outCached = await gen.generate(ids, { maxNewTokens: 5, temperature: 0 });
  const outFull = await gen.generate(ids, { maxNewTokens: 5, temperature: 0, cache: false });
  assert.deepEqual(outCached, outFull);
  // with the cache there is no context limit: a prompt longer than the context is fed in pieces
  const long = await gen.generate([...ids, ...ids], { maxNewTokens: 3, temperature: 0 });
  assert.equal(long.length, 3);
  await assert.rejects(gen.generate([...ids, ...ids], { maxNewTokens: 3, cache: false }), /context 16/);
});
