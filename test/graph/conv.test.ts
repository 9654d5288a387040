import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { gradients } from '../../src/autodiff/index.js';
import { checkGrad, randn } from '../util/gradcheck.js';

// ORT's CPU Conv/ConvTranspose kernels are float32-only: check in float32 with stated tolerances.
const f32 = (shape: number[], seed: number) => randn(shape, seed, 'float32');
const tol = { eps: 1e-2, atol: 2e-2, rtol: 2e-2 };

describe('conv2d gradients (dX, dW, db)', () => {
  const cases: [string, L.Conv2dOptions, number[], number[]][] = [
    ['stride1 pad1', { padding: 1 }, [2, 3, 5, 5], [4, 3, 3, 3]],
    ['stride2 pad1', { stride: 2, padding: 1 }, [2, 3, 6, 6], [4, 3, 3, 3]],
    ['same', { padding: 'same' }, [1, 2, 5, 4], [3, 2, 3, 3]],
    ['same even kernel', { padding: 'same' }, [1, 2, 5, 5], [2, 2, 2, 2]],
    ['dilation2', { dilation: 2, padding: 2 }, [1, 2, 6, 6], [2, 2, 3, 3]],
    ['groups2', { groups: 2, padding: 1 }, [2, 4, 4, 4], [6, 2, 3, 3]],
    ['depthwise', { groups: 3, padding: 1, stride: 2 }, [1, 3, 5, 5], [3, 1, 3, 3]],
    ['depthwise stride1', { groups: 3, padding: 1 }, [2, 3, 5, 5], [3, 1, 3, 3]],
    ['depthwise multiplier2 stride2 unpadded', { groups: 2, stride: 2 }, [2, 2, 6, 6], [4, 1, 3, 3]],
    ['depthwise dilation2', { groups: 3, dilation: 2, padding: 2 }, [2, 3, 6, 6], [3, 1, 3, 3]],
    ['cin1', {}, [2, 1, 5, 5], [3, 1, 3, 3]],
  ];
  for (const [name, o, xs, ws] of cases) {
    test(name, () =>
      checkGrad(name, (x, w, b) => L.conv2d(x, w, b, o), [f32(xs, 1), f32(ws, 2), f32([ws[0]], 3)], tol),
    );
  }
  test('conv1d', () =>
    checkGrad(
      'conv1d',
      (x, w, b) => L.conv1d(x, w, b, { padding: 1, stride: 2 }),
      [f32([2, 3, 7], 4), f32([4, 3, 3], 5), f32([4], 6)],
      tol,
    ));
  test('convTranspose2d stride2 pad1 outpad1 groups2', () =>
    checkGrad(
      'ct',
      (x, w, b) => L.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
      [f32([1, 4, 3, 3], 7), f32([4, 3, 3, 3], 8), f32([6], 9)],
      tol,
    ));
  test('second order: gradient penalty through conv', () =>
    checkGrad(
      'gp',
      (x, w) => {
        const y = L.sum(L.square(L.conv2d(x, w, undefined, { padding: 1 })));
        const [gx] = gradients(y, [x]);
        return L.sum(L.square(gx));
      },
      [f32([1, 2, 4, 4], 10), f32([2, 2, 3, 3], 11)],
      tol,
    ));
  test('second order through a depthwise conv is refused with a clear error', () => {
    const x = L.placeholder('x', 'float32', [1, 2, 4, 4]);
    const w = L.placeholder('w', 'float32', [2, 1, 3, 3]);
    const [gw] = gradients(L.sum(L.square(L.conv2d(x, w, undefined, { padding: 1, groups: 2 }))), [w]);
    assert.throws(() => gradients(L.sum(L.square(gw)), [x]), /second-order gradients through a depthwise convolution/);
  });
});
