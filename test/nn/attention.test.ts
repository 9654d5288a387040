// MultiHeadAttention against torch.nn.MultiheadAttention (PyTorch 1.13, float64 reference; generator:
// test/nn/fixtures/gen_attention.py): self-attention with causal + key-padding masks, and cross-attention over a
// padded memory. Outputs and gradients of sum(y · w) with respect to inputs and projection weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { bindParameters, withContext } from '../../src/nn/index.js';
import { MultiHeadAttention } from '../../src/nn/layers/attention.js';
import { compile } from '../../src/runtime/compile.js';
import { packageRoot } from '../../src/util/package-root.js';

interface Rec {
  in_proj_weight: number[];
  in_proj_bias: number[];
  out_weight: number[];
  out_bias: number[];
  x: number[];
  w: number[];
  lengths: number[];
  y: number[];
  dx: number[];
  d_in_proj_weight: number[];
  d_out_weight: number[];
  memory?: number[];
  dmemory?: number[];
}
const fx = JSON.parse(readFileSync(join(packageRoot(), 'test', 'nn', 'fixtures', 'attention.json'), 'utf8')) as {
  B: number;
  T: number;
  S: number;
  E: number;
  H: number;
  self: Rec;
  cross: Rec;
};

const close = (a: ArrayLike<number>, b: readonly number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

for (const kind of ['self', 'cross'] as const) {
  test(`MultiHeadAttention (${kind}${kind === 'self' ? ', causal + key padding' : ', padded memory'}) matches PyTorch: output and gradients`, async () => {
    const { B, T, S, E, H } = fx;
    const rec = fx[kind];
    const cross = kind === 'cross';
    const m = new MultiHeadAttention(E, { heads: H, cross });
    const L_ = cross ? S : T;
    const keep = L.float32(
      [B, L_],
      Array.from({ length: B * L_ }, (_, i) => (i % L_ < rec.lengths[Math.floor(i / L_)] ? 1 : 0)),
    );
    // PyTorch packs [q; k; v] in in_proj_weight; ours is the same for self-attention and split q | kv for cross.
    const params: Record<string, L.NDArray> = cross
      ? {
          qkv: L.float32([E, E], rec.in_proj_weight.slice(0, E * E)),
          qkvBias: L.float32([E], rec.in_proj_bias.slice(0, E)),
          kvProj: L.float32([2 * E, E], rec.in_proj_weight.slice(E * E)),
          kvProjBias: L.float32([2 * E], rec.in_proj_bias.slice(E)),
          out: L.float32([E, E], rec.out_weight),
          outBias: L.float32([E], rec.out_bias),
        }
      : {
          qkv: L.float32([3 * E, E], rec.in_proj_weight),
          qkvBias: L.float32([3 * E], rec.in_proj_bias),
          out: L.float32([E, E], rec.out_weight),
          outBias: L.float32([E], rec.out_bias),
        };
    const names = m.namedParameters().map(([k]) => k);
    assert.deepEqual([...names].sort(), Object.keys(params).sort(), 'parameter names');
    const run = compile((x: L.Tensor, mem: L.Tensor, kp: L.Tensor, w: L.Tensor, ...ps: L.Tensor[]) =>
      withContext({ training: false }, () =>
        bindParameters(m, Object.fromEntries(names.map((k, i) => [k, ps[i]])), () => {
          const y = cross ? m.attend(x, mem, { keyPadding: kp }).y : m.attend(x, x, { causal: true, keyPadding: kp }).y;
          const loss = L.sum(L.mul(y, w));
          const wrt = [
            x,
            ps[names.indexOf('qkv')],
            ps[names.indexOf('out')],
            ...(cross ? [mem, ps[names.indexOf('kvProj')]] : []),
          ];
          const [dx, dqkv, dout, dmem, dkv] = gradients(loss, wrt);
          return { y, dx, dqkv, dout, ...(cross ? { dmem, dkv } : {}) };
        }),
      ),
    );
    const x = L.float32([B, T, E], rec.x);
    const mem = cross ? L.float32([B, S, E], rec.memory!) : x;
    const out = await run(x, mem, keep, L.float32([B, T, E], rec.w), ...names.map((k) => params[k]));
    close(out.y.data as Float32Array, rec.y, 1e-4, 'y');
    close(out.dx.data as Float32Array, rec.dx, 1e-4, 'dx');
    close(out.dout.data as Float32Array, rec.d_out_weight, 1e-4, 'dW_out');
    if (cross) {
      close(out.dmem.data as Float32Array, rec.dmemory!, 1e-4, 'dmemory');
      close(out.dqkv.data as Float32Array, rec.d_in_proj_weight.slice(0, E * E), 1e-4, 'dW_q');
      close(out.dkv.data as Float32Array, rec.d_in_proj_weight.slice(E * E), 1e-4, 'dW_kv');
    } else close(out.dqkv.data as Float32Array, rec.d_in_proj_weight, 1e-4, 'dW_qkv');
  });
}
