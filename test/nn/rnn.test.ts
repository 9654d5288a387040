import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { bindParameters, withContext } from '../../src/nn/index.js';
import { GRU, LSTM } from '../../src/nn/layers/rnn.js';
import { compile } from '../../src/runtime/compile.js';
import { packageRoot } from '../../src/util/package-root.js';

interface Rec {
  params: Record<string, number[]>;
  x: number[];
  w: number[];
  y: number[];
  dx: number[];
  dw_ih_l0: number[];
  h: number[];
  c?: number[];
}
const fx = JSON.parse(readFileSync(join(packageRoot(), 'test', 'nn', 'fixtures', 'rnn.json'), 'utf8')) as {
  B: number;
  T: number;
  I: number;
  H: number;
  lengths: number[];
  lstm: Rec;
  gru: Rec;
};

const close = (a: ArrayLike<number>, b: readonly number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

for (const kind of ['lstm', 'gru'] as const) {
  test(`${kind.toUpperCase()} (2 layers, bidirectional, padded batch) matches PyTorch: outputs, final states, gradients`, async () => {
    const { B, T, I, H, lengths } = fx;
    const rec = fx[kind];
    const m =
      kind === 'lstm'
        ? new LSTM(I, H, { layers: 2, bidirectional: true })
        : new GRU(I, H, { layers: 2, bidirectional: true });
    const names = m.namedParameters().map(([k]) => k);
    const torchName = (k: string) => {
      const [, idx, field] = /cells\.(\d+)\.(\w+)/.exec(k)!;
      const l = Math.floor(Number(idx) / 2);
      const rev = Number(idx) % 2 ? '_reverse' : '';
      const f = { weightIh: 'weight_ih', weightHh: 'weight_hh', biasIh: 'bias_ih', biasHh: 'bias_hh' }[field]!;
      return `${f}_l${l}${rev}`;
    };
    const mask = L.float32(
      [B, T],
      Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)] ? 1 : 0)),
    );
    const run = compile((x: L.Tensor, mk: L.Tensor, w: L.Tensor, ...ps: L.Tensor[]) =>
      withContext({ training: false }, () =>
        bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => {
          const r = m.run(x, { mask: mk });
          const loss = L.sum(L.mul(r.output, w));
          const [dx, dw] = gradients(loss, [x, ps[0]]);
          return { y: r.output, h: r.h, ...(r.c ? { c: r.c } : {}), dx, dw };
        }),
      ),
    );
    const params = names.map((k) => {
      const t = rec.params[torchName(k)];
      const shape = m.namedParameters().find(([n]) => n === k)![1].data.shape;
      return L.float32(shape, t);
    });
    const out = await run(L.float32([B, T, I], rec.x), mask, L.float32([B, T, 2 * H], rec.w), ...params);
    close(out.y.data as Float32Array, rec.y, 1e-4, 'output');
    close(out.h.data as Float32Array, rec.h, 1e-4, 'h');
    if (rec.c) close(out.c.data as Float32Array, rec.c, 1e-4, 'c');
    close(out.dx.data as Float32Array, rec.dx, 1e-4, 'dx');
    close(out.dw.data as Float32Array, rec.dw_ih_l0, 1e-4, 'dW_ih_l0');
  });
}
