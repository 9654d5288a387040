import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { compile } from '../../src/runtime/compile.js';
import { checkGrad, randn } from '../util/gradcheck.js';

const x = randn([2, 3, 4], 21);

describe('movement ops: gradients', () => {
  test('reshape / flatten', () => checkGrad('reshape', (t) => L.mul(L.reshape(t, [4, -1]), L.reshape(t, [4, 6])), [x]));
  test('flatten', () => checkGrad('flatten', (t) => L.flatten(t, 1), [x]));
  test('transpose', () => checkGrad('transpose', (t) => L.transpose(t, [2, 0, 1]), [x]));
  test('transpose of a transpose', () =>
    checkGrad('transpose2', (t) => L.mul(L.transpose(L.transpose(t, [2, 0, 1]), [0, 2, 1]), 2), [x]));
  test('squeeze / unsqueeze', () => checkGrad('unsqueeze', (t) => L.squeeze(L.unsqueeze(t, [0, -1])), [x]));
  test('expand', () => checkGrad('expand', (t) => L.expand(t, [5, 2, 3, 4]), [x]));
  test('concat', () => checkGrad('concat', (a, b) => L.concat([a, b, a], 1), [x, randn([2, 1, 4], 22)]));
  test('stack', () => checkGrad('stack', (a, b) => L.stack([a, b], -1), [x, randn([2, 3, 4], 23)]));
  test('split (one piece unused)', () => checkGrad('split', (t) => L.split(t, [1, 3], 2)[1], [x]));
  test('slice negative and strided', () =>
    checkGrad('slice', (t) => L.slice(t, { starts: [-2, 3], ends: [100, 0], axes: [1, 2], steps: [1, -2] }), [x]));
  test('slice step 2', () => checkGrad('slice2', (t) => L.sliceAxis(t, 2, 0, 4, 2), [x]));
  test('pad constant', () => checkGrad('padc', (t) => L.pad(t, [0, 1, 2, 0, 0, 1], 'constant', 0.5), [x]));
  test('pad reflect', () => checkGrad('padr', (t) => L.pad(t, [0, 2, 1, 0, 1, 2], 'reflect'), [x]));
  test('pad edge', () => checkGrad('pade', (t) => L.pad(t, [0, 0, 2, 0, 1, 0], 'edge'), [x]));
  test('tile', () => checkGrad('tile', (t) => L.tile(t, [2, 1, 3]), [x]));
});

describe('trace-time shape errors name the op and both shapes', () => {
  test('matmul inner dims', () => {
    const f = compile((a: L.Tensor, b: L.Tensor) => L.matmul(a, b), {
      inputs: [
        { dtype: 'float32', shape: ['batch', 128] },
        { dtype: 'float32', shape: [64, 10] },
      ],
    });
    assert.throws(
      () => f.model(L.float32([2, 128]), L.float32([64, 10])),
      /matmul: inner dimensions differ: x \[batch,128\] vs w \[64,10\]/,
    );
  });
  test('broadcast', () => {
    assert.throws(
      () => compile((a: L.Tensor, b: L.Tensor) => L.add(a, b)).model(L.float32([2, 3]), L.float32([4])),
      /add: shapes do not broadcast: \[2,3\] vs \[4\]/,
    );
  });
  test('dtype mismatch', () => {
    assert.throws(
      () => compile((a: L.Tensor, b: L.Tensor) => L.mul(a, b)).model(L.float32([2]), L.int64([2])),
      /mul: dtypes differ: float32 vs int64/,
    );
  });
  test('bad axis', () => {
    assert.throws(
      () => compile((a: L.Tensor) => L.sum(a, 3)).model(L.float32([2, 3])),
      /sum: axis 3 is out of range for a tensor of rank 2/,
    );
  });
  test('reshape element count', () => {
    assert.throws(
      () => compile((a: L.Tensor) => L.reshape(a, [4, 2])).model(L.float32([2, 3])),
      /reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/,
    );
  });
});

test('symbolic batch: one session serves every batch size', async () => {
  const f = compile((a: L.Tensor) => L.sum(L.reshape(L.transpose(a, [0, 2, 1]), ['batch', -1]), 1), {
    inputs: [{ dtype: 'float32', shape: ['batch', 2, 3] }],
  });
  for (const n of [1, 3, 5]) {
    const y = await f(
      L.float32(
        [n, 2, 3],
        Array.from({ length: n * 6 }, (_, i) => i),
      ),
    );
    assert.deepEqual(y.shape, [n]);
    assert.equal(
      Number(y.data[n - 1]),
      Array.from({ length: 6 }, (_, i) => (n - 1) * 6 + i).reduce((p, q) => p + q, 0),
    );
  }
  assert.equal(f.cacheSize, 1);
});

describe('movement ops: trace-time simplification', () => {
  const t = L.placeholder('t', 'float32', [2, 3, 4]);
  test('a transpose of a transpose is one transpose, or the source itself', () => {
    const once = L.transpose(L.transpose(t, [2, 0, 1]), [0, 2, 1]);
    assert.equal(once.node.prim.name, 'transpose');
    assert.equal(once.node.inputs[0], t);
    assert.deepEqual(once.shape, [4, 3, 2]);
    assert.equal(L.transpose(L.transpose(t, [2, 0, 1]), [1, 2, 0]), t);
  });
  test('a reshape to the same static shape and a slice of everything are the tensor itself', () => {
    assert.equal(L.reshape(t, [2, 3, 4]), t);
    assert.equal(L.reshape(t, [2, -1, 4]), t);
    assert.notEqual(L.reshape(t, [6, 4]), t);
    assert.equal(L.sliceAxis(t, 1, 0, 3), t);
    assert.equal(L.sliceAxis(t, 2, -4), t);
    assert.notEqual(L.sliceAxis(t, 1, 0, 2), t);
  });
});
