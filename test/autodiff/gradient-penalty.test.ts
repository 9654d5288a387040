// Grad-of-grad through a DCGAN-style critic (4×4 stride-2 convs, LeakyReLU 0.2, a linear head): WGAN-GP's gradient
// penalty and its gradients with respect to the critic's weights match PyTorch 1.13
// (test/fixtures/gan/gradient_penalty.json, made by make_gradient_penalty.py there) and central differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { compile } from '../../src/runtime/compile.js';
import { checkGrad, randn, assertClose } from '../util/gradcheck.js';

function critic(x: L.Tensor, w1: L.Tensor, w2: L.Tensor, wl: L.Tensor): L.Tensor {
  let h = L.leakyRelu(L.conv2d(x, w1, undefined, { stride: 2, padding: 1 }), 0.2); // [B, 4, H/2, W/2]
  h = L.leakyRelu(L.conv2d(h, w2, undefined, { stride: 2, padding: 1 }), 0.2); // [B, 8, H/4, W/4]
  return L.matmul(L.reshape(h, [h.shape[0], -1]), L.transpose(wl)); // [B, 1]
}

/** λ·mean((‖∇_x̂ Σ D(x̂)‖₂ − 1)²) at x̂ = α·real + (1 − α)·fake, λ = 10. */
function gradientPenalty(
  real: L.Tensor,
  fake: L.Tensor,
  alpha: L.Tensor,
  w1: L.Tensor,
  w2: L.Tensor,
  wl: L.Tensor,
): L.Tensor {
  const xHat = L.add(L.mul(alpha, real), L.mul(L.sub(1, alpha), fake));
  const [g] = gradients(L.sum(critic(xHat, w1, w2, wl)), [xHat]); // [B, 1, H, W]
  const norm = L.sqrt(L.sum(L.square(L.reshape(g, [g.shape[0], -1])), [1])); // [B]
  return L.mul(L.mean(L.square(L.sub(norm, 1))), 10);
}

test('WGAN-GP penalty and its weight gradients (second order) match PyTorch 1.13 for the same weights', async () => {
  const fx = JSON.parse(readFileSync('test/fixtures/gan/gradient_penalty.json', 'utf8')) as Record<
    string,
    number[] | number
  >;
  const arr = (k: string, shape: number[]) => L.float32(shape, fx[k] as number[]);
  const inputs = [
    arr('real', [3, 1, 8, 8]),
    arr('fake', [3, 1, 8, 8]),
    arr('alpha', [3, 1, 1, 1]),
    arr('w1', [4, 1, 4, 4]),
    arr('w2', [8, 4, 4, 4]),
    arr('wl', [1, 32]),
  ];
  const f = compile((real: L.Tensor, fake: L.Tensor, alpha: L.Tensor, w1: L.Tensor, w2: L.Tensor, wl: L.Tensor) => {
    const gp = gradientPenalty(real, fake, alpha, w1, w2, wl);
    return [gp, ...gradients(gp, [w1, w2, wl])];
  });
  const [gp, g1, g2, gl] = await f(...inputs);
  const want = fx.gp as number;
  assert.ok(Math.abs(Number(gp.data[0]) - want) < 1e-4 * Math.abs(want), `gp ${gp.data[0]} vs PyTorch ${want}`);
  const scale = (k: string) => Math.max(...(fx[k] as number[]).map(Math.abs));
  assertClose(g1.data as Float32Array, fx.grad_w1 as number[], 2e-5 * scale('grad_w1'), 1e-3, 'dgp/dw1');
  assertClose(g2.data as Float32Array, fx.grad_w2 as number[], 2e-5 * scale('grad_w2'), 1e-3, 'dgp/dw2');
  assertClose(gl.data as Float32Array, fx.grad_wl as number[], 2e-5 * scale('grad_wl'), 1e-3, 'dgp/dwl');
});

test('WGAN-GP penalty: second-order gradients match central differences', () =>
  checkGrad(
    'gp',
    (real, fake, alpha, w1, w2, wl) => gradientPenalty(real, fake, alpha, w1, w2, wl),
    [
      randn([2, 1, 8, 8], 1, 'float32'),
      randn([2, 1, 8, 8], 2, 'float32'),
      L.float32([2, 1, 1, 1], [0.3, 0.8]),
      randn([2, 1, 4, 4], 3, 'float32', 0.5),
      randn([3, 2, 4, 4], 4, 'float32', 0.4),
      randn([1, 12], 5, 'float32', 0.5),
    ],
    { wrt: [3, 4, 5], eps: 1e-2, atol: 3e-2, rtol: 3e-2 },
  ));
