// The fused LSTM/GRU sequences' hand-written VJPs (src/nn/layers/rnn-fused.ts) against central differences in
// float64: every parameter, the input and the initial states, through the outputs and both final states; with and
// without masks, bias, initial states; both directions; two layers.
import { test } from 'node:test';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { bindParameters, withContext } from '../../src/nn/index.js';
import { GRU, LSTM, type RNNConfig } from '../../src/nn/layers/rnn.js';
import { compile } from '../../src/runtime/compile.js';
import { assertClose, checkGrad, randn } from '../util/gradcheck.js';

const B = 2;
const T = 3;
const I = 2;
const H = 2;

interface Case {
  readonly name: string;
  readonly cfg: RNNConfig;
  readonly mask?: boolean;
  readonly init?: boolean;
}
const cases: readonly Case[] = [
  { name: '1 layer, no bias, zero initial state', cfg: { bias: false } },
  {
    name: '2 layers, bidirectional, padded batch, initial states',
    cfg: { layers: 2, bidirectional: true },
    mask: true,
    init: true,
  },
];

for (const kind of ['lstm', 'gru'] as const) {
  for (const c of cases) {
    test(`${kind.toUpperCase()} gradients match finite differences (${c.name})`, async () => {
      const m = kind === 'lstm' ? new LSTM(I, H, c.cfg) : new GRU(I, H, c.cfg);
      const names = m.namedParameters().map(([k]) => k);
      const params = m.namedParameters().map(([, p], i) => randn(p.data.shape, 10 + i, 'float64', 0.6));
      const states = m.layers * m.dirs;
      const inputs = [
        randn([B, T, I], 1),
        ...(c.init ? [randn([states, B, H], 2, 'float64', 0.5), randn([states, B, H], 3, 'float64', 0.5)] : []),
        ...params,
      ];
      const mask = L.float64([B, T], [1, 1, 1, 1, 1, 0]); // lengths 3 and 2
      const f = (x: L.Tensor, ...rest: L.Tensor[]) => {
        const [h0, c0] = c.init ? rest : [];
        const ps = c.init ? rest.slice(2) : rest;
        return withContext({ training: false }, () =>
          bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => {
            const r = m.run(x, {
              mask: c.mask ? L.constant(mask) : undefined,
              h0,
              c0: kind === 'lstm' ? c0 : undefined,
            });
            const parts = [r.output, r.h, ...(r.c ? [r.c] : [])].map((t) => L.reshape(t, [-1]));
            return L.concat(parts, 0);
          }),
        );
      };
      // the GRU has no cell state: its c0 input is unused (zero gradient), so leave it out of the check
      const wrt = inputs.map((_, i) => i).filter((i) => !(kind === 'gru' && c.init && i === 2));
      await checkGrad(`${kind} ${c.name}`, f, inputs, { wrt });
    });
  }
}

test('LSTM/GRU with a symbolic batch: one session serves every batch size, same values and gradients as static shapes', async () => {
  for (const kind of ['lstm', 'gru'] as const) {
    const m = kind === 'lstm' ? new LSTM(I, H, { bidirectional: true }) : new GRU(I, H, { bidirectional: true });
    const names = m.namedParameters().map(([k]) => k);
    const f = (x: L.Tensor, mk: L.Tensor, ...ps: L.Tensor[]) =>
      withContext({ training: false }, () =>
        bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => {
          const loss = L.sum(L.square(m.run(x, { mask: mk }).output));
          return [loss, ...gradients(loss, [x, ...ps])];
        }),
      );
    const params = m.namedParameters().map(([, p]) => p.data);
    const symbolic = compile(f, {
      inputs: [
        { dtype: 'float32', shape: ['batch', T, I] },
        { dtype: 'float32', shape: ['batch', T] },
        ...params.map((p) => ({ dtype: p.dtype, shape: p.shape })),
      ],
    });
    for (const b of [2, 3]) {
      const x = randn([b, T, I], b, 'float32');
      const mk = L.float32(
        [b, T],
        Array.from({ length: b * T }, (_, i) => (i % T < T - (Math.floor(i / T) % 2) ? 1 : 0)),
      );
      const [got, want] = [await symbolic(x, mk, ...params), await compile(f)(x, mk, ...params)];
      got.forEach((g, i) =>
        assertClose(g.data as Float32Array, want[i].data as Float32Array, 1e-6, 1e-5, `${kind} batch ${b} output ${i}`),
      );
    }
  }
});
