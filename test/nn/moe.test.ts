// nn.MoE: routing, capacity and token dropping against hand-computed cases; the layer's output against a direct
// per-token reference (each token through its chosen experts, weighted by its gates); the auxiliary losses against
// their formulas; gradients against finite differences; and a tiny MoE-GPT that trains through the Trainer with
// the balancing loss in its objective and the expert statistics in its metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as L from '../../src/graph/index.js';
import { Auxiliaries, bindParameters, manualSeed, MoE, withContext } from '../../src/nn/index.js';
import { compile } from '../../src/runtime/compile.js';
import { GPT, lmLoss } from '../../src/models/transformer.js';
import { TextGenerator } from '../../src/models/generate.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { adam } from '../../src/optim/index.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

const f64 = (shape: number[], v: number[]) => L.ndarray('float64', shape, v);

/** Binds `router` and leaves the experts at their initial weights (routing does not read them). */
const withRouter = <R>(m: MoE, router: L.Tensor, fn: () => R): R =>
  bindParameters(
    m,
    { ...Object.fromEntries(m.namedParameters().map(([k, p]) => [k, L.constant(p.data)])), router },
    fn,
  );

test('routing: first choices before second ones, by position; tokens past capacity are dropped', async () => {
  // 4 tokens, 2 experts, k = 1, capacity factor 1 → C = ⌈1·1·4/2⌉ = 2. Router = identity on 2 features, so the
  // expert is the larger feature: tokens 0, 1, 2 prefer expert 0 (token 2 overflows), token 3 prefers expert 1.
  const m = new MoE(2, { experts: 2, topK: 1, hidden: 3, capacityFactor: 1, bias: false });
  assert.equal(m.capacity(4, true), 2);
  const x = f64([1, 4, 2], [3, 0, 2, 0, 1, 0, 0, 5]);
  const router = f64([2, 2], [1, 0, 0, 1]);
  const f = compile((xt: L.Tensor, r: L.Tensor) =>
    withRouter(m, r, () => {
      m.train();
      const out = m.route(xt);
      return [out.kept, out.dispatch, out.experts];
    }),
  );
  const [kept, dispatch, experts] = await f(x, router);
  assert.deepEqual(Array.from(experts.data as BigInt64Array, Number), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(kept.data as Float64Array), [1, 1, 0, 1]);
  // dispatch [1, 4, E·C = 4]: token 0 → (e0, slot 0), token 1 → (e0, slot 1), token 2 → nowhere, token 3 → (e1, slot 0)
  assert.deepEqual(Array.from(dispatch.data as Float64Array), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
});

test('top-2 routing: every second choice waits behind all first choices', async () => {
  // 3 tokens, 3 experts, k = 2, factor 0.5 → C = ⌈0.5·2·3/3⌉ = 1: each expert takes one choice.
  const m = new MoE(3, { experts: 3, topK: 2, hidden: 2, capacityFactor: 0.5, bias: false });
  const x = f64([1, 3, 3], [5, 4, 0, 5, 0, 4, 0, 4, 5]); // first choices e0, e0, e2; second choices e1, e2, e1
  const f = compile((xt: L.Tensor, r: L.Tensor) =>
    withRouter(m, r, () => {
      m.train();
      const out = m.route(xt);
      return [out.kept, out.experts];
    }),
  );
  const [kept, experts] = await f(x, f64([3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]));
  assert.deepEqual(Array.from(experts.data as BigInt64Array, Number), [0, 1, 0, 2, 2, 1]);
  // first choices: token 0 → e0 kept, token 1 → e0 full, token 2 → e2 kept; second: token 0 → e1 kept,
  // token 1 → e2 full (token 2's first choice came first), token 2 → e1 full
  assert.deepEqual(Array.from(kept.data as Float64Array), [1, 1, 0, 0, 1, 0]);
});

/** Exact GELU via erf (Abramowitz–Stegun 7.1.26 is too coarse; use a series/continued-fraction-free form). */
function erf(x: number): number {
  // Maclaurin series converges fast for |x| < 3, which covers these tests.
  let sum = 0;
  let term = x;
  for (let n = 0; n < 80; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

// ORT has no float64 Erf (GELU): these run in float32.
test('forward equals each token through its chosen experts, weighted by its renormalised gates', async () => {
  const d = 3,
    E = 4,
    h = 5,
    S = 6;
  const m = new MoE(d, { experts: E, topK: 2, hidden: h, capacityFactor: 4 }); // capacity for everything: nothing dropped
  const p = {
    router: randn([d, E], 1, 'float32'),
    w1: randn([E, d, h], 2, 'float32', 0.5),
    b1: randn([E, 1, h], 3, 'float32', 0.1),
    w2: randn([E, h, d], 4, 'float32', 0.5),
    b2: randn([E, 1, d], 5, 'float32', 0.1),
  };
  const x = randn([2, S, d], 6, 'float32');
  const f = compile((xt: L.Tensor, r: L.Tensor, w1: L.Tensor, b1: L.Tensor, w2: L.Tensor, b2: L.Tensor) =>
    bindParameters(m, { router: r, w1, b1, w2, b2 }, () => (m.train(), m.forward(xt))),
  );
  const [y] = [await f(x, p.router, p.w1, p.b1, p.w2, p.b2)];
  const X = x.data as Float32Array;
  const at = (a: L.NDArray, i: number) => (a.data as Float32Array)[i];
  const expected: number[] = [];
  for (let t = 0; t < 2 * S; t++) {
    const logits = Array.from({ length: E }, (_, e) =>
      Array.from({ length: d }, (_, j) => X[t * d + j] * at(p.router, j * E + e)).reduce((a, b) => a + b),
    );
    const mx = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - mx));
    const probs = ex.map((v) => v / ex.reduce((a, b) => a + b));
    const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, 2);
    const gsum = probs[order[0]] + probs[order[1]];
    const out = new Array(d).fill(0);
    for (const e of order) {
      const hid = Array.from({ length: h }, (_, k) =>
        gelu(
          Array.from({ length: d }, (_, j) => X[t * d + j] * at(p.w1, (e * d + j) * h + k)).reduce((a, b) => a + b) +
            at(p.b1, e * h + k),
        ),
      );
      for (let j = 0; j < d; j++) {
        const v = hid.reduce((acc, hv, k) => acc + hv * at(p.w2, (e * h + k) * d + j), 0) + at(p.b2, e * d + j);
        out[j] += (probs[e] / gsum) * v;
      }
    }
    expected.push(...out);
  }
  assertClose(y.data as Float32Array, expected, 2e-6, 2e-5, 'moe forward');
});

test('the auxiliary losses and statistics equal their formulas', async () => {
  const d = 2,
    E = 2;
  const m = new MoE(d, { experts: E, topK: 1, hidden: 2, capacityFactor: 1, balanceWeight: 1, zLossWeight: 1 });
  const x = f64([1, 4, 2], [3, 0, 2, 0, 1, 0, 0, 5]);
  const router = f64([2, 2], [1, 0, 0, 1]);
  const f = compile((xt: L.Tensor, r: L.Tensor) => {
    const aux = new Auxiliaries();
    return withContext({ training: true, auxiliaries: aux }, () =>
      withRouter(m, r, () => {
        m.train();
        m.route(xt);
        const [[, [bal]], [, [z]]] = aux.losses();
        const [[, [cv]], [, [dropped]]] = aux.metrics();
        return [bal, z, cv, dropped];
      }),
    );
  });
  const [bal, z, cv, dropped] = (await f(x, router)).map((a) => Number(a.data[0]));
  const rows = [
    [3, 0],
    [2, 0],
    [1, 0],
    [0, 5],
  ];
  const probs = rows.map((r) => {
    const e = r.map(Math.exp);
    return e.map((v) => v / (e[0] + e[1]));
  });
  const fe = [3 / 4, 1 / 4]; // first choices: e0, e0, e0, e1
  const P = [0, 1].map((e) => probs.reduce((a, p) => a + p[e], 0) / 4);
  assert.ok(Math.abs(bal - E * (fe[0] * P[0] + fe[1] * P[1])) < 1e-12, `balance ${bal}`);
  const lse = rows.map((r) => Math.log(Math.exp(r[0]) + Math.exp(r[1])));
  assert.ok(Math.abs(z - lse.reduce((a, v) => a + v * v, 0) / 4) < 1e-12, `z-loss ${z}`);
  assert.ok(Math.abs(cv - 0.5) < 1e-12, `load cv ${cv}`); // loads 0.75 and 0.25 around mean 0.5: std 0.25
  assert.equal(dropped, 0.25); // token 2 overflowed expert 0
});

test('gradients of the MoE (router through the gates, experts, inputs) match finite differences', async () => {
  const d = 3,
    E = 3,
    h = 4,
    S = 4;
  const m = new MoE(d, { experts: E, topK: 2, hidden: h, capacityFactor: 1 });
  const f = (xt: L.Tensor, r: L.Tensor, w1: L.Tensor, b1: L.Tensor, w2: L.Tensor, b2: L.Tensor) =>
    bindParameters(m, { router: r, w1, b1, w2, b2 }, () => (m.train(), m.forward(xt)));
  await checkGrad('moe', f, [
    randn([2, S, d], 11, 'float32'),
    randn([d, E], 12, 'float32', 2),
    randn([E, d, h], 13, 'float32', 0.5),
    randn([E, 1, h], 14, 'float32', 0.1),
    randn([E, h, d], 15, 'float32', 0.5),
    randn([E, 1, d], 16, 'float32', 0.1),
  ]);
});

test('bad options are refused by name', () => {
  assert.throws(() => new MoE(4, { experts: 1 }), /experts must be an integer >= 2/);
  assert.throws(() => new MoE(4, { experts: 4, topK: 3 as 1 }), /topK must be 1 or 2/);
  assert.throws(() => new MoE(4, { experts: 4, capacityFactor: 0 }), /capacityFactor must be > 0/);
});

test('an MoE-GPT trains through the Trainer: loss falls, balancing joins the objective, expert load is reported', async () => {
  manualSeed(3);
  const model = new GPT({ vocab: 8, context: 8, dim: 16, layers: 1, heads: 2, moe: { experts: 4, topK: 2 } });
  // a repeating sequence: predictable, so the loss must fall
  const seq = Array.from({ length: 64 * 9 }, (_, i) => i % 8);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let r = 0; r < 64; r++) for (let t = 0; t < 8; t++) xs.push(seq[r * 9 + t]), ys.push(seq[r * 9 + t + 1]);
  const x = L.ndarray('int64', [64, 8], xs);
  const y = L.ndarray('int64', [64, 8], ys);
  const batches: Record<string, number>[] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: 1e-2,
    epochs: 6,
    loss: (o, b) => lmLoss(o, b.y),
    seed: 1,
    callbacks: [
      { name: 'record', onBatchEnd: (_t, logs) => void batches.push({ loss: logs.loss, ...(logs.metrics ?? {}) }) },
    ],
  });
  await trainer.fit(new ArrayLoader({ x, y }, { batchSize: 16, shuffle: true, seed: 1 }));
  const first = batches[0];
  const last = batches[batches.length - 1];
  for (const k of ['moe_balance_loss', 'moe_z_loss', 'moe_load_cv', 'moe_dropped'])
    assert.ok(Number.isFinite(first[k]), `${k} reported: ${JSON.stringify(first)}`);
  assert.ok(last.loss < first.loss * 0.5, `loss fell: ${first.loss} → ${last.loss}`);
  assert.ok(
    first.moe_balance_loss > 0.01 && first.moe_balance_loss < 0.05,
    `balance loss ≈ 0.01·k at init: ${first.moe_balance_loss}`,
  );
  assert.ok(last.moe_dropped >= 0 && last.moe_dropped < 1);
  await trainer.release();

  // generation: incremental decoding (KV cache, one token per step) gives the same greedy tokens as full forwards,
  // and the trained model continues the pattern
  const gen = new TextGenerator(model);
  const prompt = [0, 1, 2];
  const cached = await gen.generate(prompt, { maxNewTokens: 5, temperature: 0 });
  assert.deepEqual(cached, await gen.generate(prompt, { maxNewTokens: 5, temperature: 0, cache: false }));
  assert.deepEqual(cached.slice(0, 4), [3, 4, 5, 6]);
});

test('MoE traces in a program that imports lathe/nn alone (no Tensor method chaining installed)', () => {
  // A fresh process that imports only the nn layer and the leaf ops: MoE must not rely on graph/index's methods.
  const code = `
    import { bindParameters, MoE } from ${JSON.stringify(new URL('../../src/nn/index.js', import.meta.url).href)};
    import { constant } from ${JSON.stringify(new URL('../../src/graph/ops/leaf.js', import.meta.url).href)};
    import { ndarray } from ${JSON.stringify(new URL('../../src/graph/ndarray.js', import.meta.url).href)};
    const m = new MoE(4, { experts: 4, topK: 2 });
    const params = Object.fromEntries(m.namedParameters().map(([k, p]) => [k, constant(p.data)]));
    const y = bindParameters(m, params, () => m.forward(constant(ndarray('float32', [2, 3, 4], new Float32Array(24)))));
    console.log(JSON.stringify(y.shape));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '[2,3,4]');
});
