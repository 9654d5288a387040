// GCNConv, GATConv and SAGEConv against plain-torch references (PyTorch 1.13, float64; generator:
// test/nn/fixtures/gen_graph.py): a 6-node directed graph with a repeated edge and a node without in-edges. Outputs
// and the gradients of sum(y · w) with respect to x and every parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { bindParameters, GATConv, GCNConv, SAGEConv, withContext, type Module } from '../../src/nn/index.js';
import { compile } from '../../src/runtime/compile.js';
import { packageRoot } from '../../src/util/package-root.js';

interface Case {
  params: Record<string, number[]>;
  shapes: Record<string, number[]>;
  y: number[];
  yshape: number[];
  w: number[];
  dx: number[];
  grads: Record<string, number[]>;
}
const fx = JSON.parse(readFileSync(join(packageRoot(), 'test', 'nn', 'fixtures', 'graph.json'), 'utf8')) as {
  N: number;
  F: number;
  C: number;
  H: number;
  src: number[];
  dst: number[];
  x: number[];
  cases: Record<string, Case>;
};

const close = (a: ArrayLike<number>, b: readonly number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

const { N, F, C, H } = fx;
const layers: Record<string, () => Module> = {
  gcn: () => new GCNConv(F, C),
  gat_concat: () => new GATConv(F, C, { heads: H }),
  gat_mean: () => new GATConv(F, C, { heads: H, concat: false }),
  sage_mean: () => new SAGEConv(F, C, { aggr: 'mean' }),
  sage_max: () => new SAGEConv(F, C, { aggr: 'max' }),
};

for (const [name, make] of Object.entries(layers)) {
  test(`${name} matches the plain-torch reference: output and gradients`, async () => {
    const rec = fx.cases[name];
    const m = make();
    const names = m.namedParameters().map(([k]) => k);
    assert.deepEqual([...names].sort(), Object.keys(rec.params).sort(), 'parameter names');
    for (const [k, p] of m.namedParameters()) assert.deepEqual(p.data.shape, rec.shapes[k], `${k} shape`);
    const run = compile((x: L.Tensor, s: L.Tensor, d: L.Tensor, w: L.Tensor, ...ps: L.Tensor[]) =>
      withContext({ training: false }, () =>
        bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => {
          const y = m.forward(x, s, d);
          return [y, ...gradients(L.sum(L.mul(y, w)), [x, ...ps])];
        }),
      ),
    );
    // ORT has no float64 LeakyRelu kernel: GAT is checked in float32
    const [fl, tol] = name.startsWith('gat') ? ([L.float32, 2e-5] as const) : ([L.float64, 1e-9] as const);
    const [y, dx, ...dps] = await run(
      fl([N, F], fx.x),
      L.int64([fx.src.length], fx.src),
      L.int64([fx.dst.length], fx.dst),
      fl(rec.yshape, rec.w),
      ...names.map((k) => fl(rec.shapes[k], rec.params[k])),
    );
    assert.deepEqual(y.shape, rec.yshape);
    close(y.data as Float64Array, rec.y, tol, `${name} y`);
    close(dx.data as Float64Array, rec.dx, tol, `${name} dx`);
    names.forEach((k, i) => close(dps[i].data as Float64Array, rec.grads[k], tol, `${name} d${k}`));
  });
}

test('GATConv attention dropout is active in training only and keeps expectations', async () => {
  const m = new GATConv(F, C, { heads: H, dropout: 0.5 });
  const names = m.namedParameters().map(([k]) => k);
  const run = (training: boolean) =>
    compile((x: L.Tensor, s: L.Tensor, d: L.Tensor, ...ps: L.Tensor[]) =>
      withContext({ training, key: L.constant(L.int64([], [34])) }, () =>
        bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => m.forward(x, s, d)),
      ),
    );
  const args = [
    L.float32([N, F], fx.x),
    L.int64([fx.src.length], fx.src),
    L.int64([fx.dst.length], fx.dst),
    ...m.namedParameters().map(([, p]) => p.data),
  ];
  const a = (await run(false)(...args)).data as Float32Array;
  const b = (await run(true)(...args)).data as Float32Array;
  assert.equal(a.length, N * H * C);
  assert.ok(
    a.some((v, i) => Math.abs(v - b[i]) > 1e-6),
    'training output equals eval output: no dropout applied',
  );
});

test('sparseInput projects only the nonzeros: the same outputs as the dense path (GCN, GAT, SAGE-mean)', async () => {
  // a sparse input: about a third of the entries are zero
  const xs = fx.x.map((v, i) => (i % 3 === 1 ? 0 : v));
  for (const make of [
    (sparse: boolean) => new GCNConv(F, C, { sparseInput: sparse }),
    (sparse: boolean) => new GATConv(F, C, { heads: H, sparseInput: sparse }),
    (sparse: boolean) => new SAGEConv(F, C, { sparseInput: sparse }),
  ]) {
    const ys: Float32Array[] = [];
    const dense = make(false);
    for (const sparse of [false, true]) {
      const m = make(sparse);
      m.loadStateDict(dense.stateDict());
      const names = m.namedParameters().map(([k]) => k);
      const f = compile((x: L.Tensor, s: L.Tensor, d: L.Tensor, ...ps: L.Tensor[]) =>
        withContext({ training: false }, () =>
          bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => m.forward(x, s, d)),
        ),
      );
      ys.push(
        (
          await f(
            L.float32([N, F], xs),
            L.int64([fx.src.length], fx.src),
            L.int64([fx.dst.length], fx.dst),
            ...m.namedParameters().map(([, p]) => p.data),
          )
        ).data as Float32Array,
      );
    }
    close(ys[1], Array.from(ys[0]), 1e-5, `${dense.constructor.name} sparse vs dense`);
  }
});
