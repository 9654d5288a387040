// Structured channel pruning on a residual block: the groups found (the stem conv and the block's second conv share a
// channel space through the Add), shapes consistent after removal, and the pruned model equal to the original with the
// pruned channels zeroed; a group that reaches a Concat is left whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { encodeModel, typedArrayToTensor } from '../../src/onnx/encode.js';
import { tensorToTypedArray } from '../../src/onnx/decode.js';
import type { AttributeProto, ModelProto, NodeProto, TensorProto } from '../../src/onnx/proto.js';
import { pruneChannels, zeroPrunedChannels } from '../../src/compress/channel-prune.js';
import { CompressError } from '../../src/compress/errors.js';
import { randn } from '../util/gradcheck.js';

const ints = (name: string, v: number[]): AttributeProto => ({ name, type: 7, ints: v });
const int = (name: string, v: number): AttributeProto => ({ name, type: 2, i: v });
let seed = 10;
const w = (name: string, dims: number[], scale = 0.4, offset = 0): TensorProto =>
  typedArrayToTensor(name, randn(dims, seed++, 'float32', scale, offset).data as Float32Array, dims);
const pos = (name: string, dims: number[]): TensorProto =>
  typedArrayToTensor(
    name,
    Float32Array.from(randn(dims, seed++, 'float32').data as Float32Array, (v) => 0.5 + Math.abs(v)),
    dims,
  );

function conv(
  name: string,
  x: string,
  cin: number,
  cout: number,
  out: string,
): { node: NodeProto; inits: TensorProto[] } {
  return {
    node: {
      opType: 'Conv',
      name,
      input: [x, `${name}.w`, `${name}.b`],
      output: [out],
      attribute: [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])],
    },
    inits: [w(`${name}.w`, [cout, cin, 3, 3]), w(`${name}.b`, [cout], 0.1)],
  };
}
function bn(name: string, x: string, c: number, out: string): { node: NodeProto; inits: TensorProto[] } {
  return {
    node: {
      opType: 'BatchNormalization',
      name,
      input: [x, `${name}.s`, `${name}.b`, `${name}.m`, `${name}.v`],
      output: [out],
      attribute: [],
    },
    inits: [pos(`${name}.s`, [c]), w(`${name}.b`, [c], 0.2), w(`${name}.m`, [c], 0.1), pos(`${name}.v`, [c])],
  };
}
const relu = (name: string, x: string, out: string): NodeProto => ({
  opType: 'Relu',
  name,
  input: [x],
  output: [out],
  attribute: [],
});

/** stem conv → BN → ReLU = a; a → conv1 → BN → ReLU → conv2 → BN → Add(a) → ReLU → GAP → Flatten → Gemm. */
function residual(extraConcat = false, flatten: 'Flatten' | 'Reshape' = 'Flatten'): ModelProto {
  const parts = [
    conv('stem', 'x', 3, 8, 's0'),
    bn('bn0', 's0', 8, 's1'),
    conv('conv1', 'a', 8, 6, 'c1'),
    bn('bn1', 'c1', 6, 'c1n'),
    conv('conv2', 'c1r', 6, 8, 'c2'),
    bn('bn2', 'c2', 8, 'c2n'),
  ];
  const node: NodeProto[] = [
    parts[0].node,
    parts[1].node,
    relu('r0', 's1', 'a'),
    parts[2].node,
    parts[3].node,
    relu('r1', 'c1n', 'c1r'),
    parts[4].node,
    parts[5].node,
    { opType: 'Add', name: 'add', input: ['c2n', 'a'], output: ['sum'], attribute: [] },
    relu('r2', 'sum', 'h'),
    { opType: 'GlobalAveragePool', name: 'gap', input: ['h'], output: ['p'], attribute: [] },
    flatten === 'Flatten'
      ? { opType: 'Flatten', name: 'flat', input: ['p'], output: ['f'], attribute: [int('axis', 1)] }
      : { opType: 'Reshape', name: 'flat', input: ['p', 'shape'], output: ['f'], attribute: [] },
    { opType: 'Gemm', name: 'fc', input: ['f', 'fc.w', 'fc.b'], output: ['logits'], attribute: [int('transB', 1)] },
  ];
  const inits = [
    ...parts.flatMap((p) => p.inits),
    w('fc.w', [5, 8]),
    w('fc.b', [5], 0.1),
    typedArrayToTensor('shape', BigInt64Array.from([-1n, 8n]), [2]),
  ];
  const outputs = [{ name: 'logits', type: { tensorType: { elemType: 1 } } }];
  if (extraConcat) {
    node.splice(6, 0, {
      opType: 'Concat',
      name: 'cat',
      input: ['c1r', 'c1r'],
      output: ['cat'],
      attribute: [int('axis', 1)],
    });
    outputs.push({ name: 'cat', type: { tensorType: { elemType: 1 } } });
  }
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'res',
      node,
      initializer: inits,
      valueInfo: [],
      input: [
        {
          name: 'x',
          type: {
            tensorType: {
              elemType: 1,
              shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }, { dimValue: 8 }, { dimValue: 8 }] },
            },
          },
        },
      ],
      output: outputs,
    },
  };
}

async function run(m: ModelProto, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m));
  try {
    return (await s.run({ x: new ort.Tensor('float32', x, [4, 3, 8, 8]) })).logits.data as Float32Array;
  } finally {
    await s.release();
  }
}

for (const flatten of ['Flatten', 'Reshape'] as const)
  test(`channel pruning of a residual block (${flatten} to the classifier): groups through the Add, smaller dense weights, equal to the zeroed original`, async () => {
    const m = residual(false, flatten);
    const r = pruneChannels(m, { ratio: 0.5 });
    assert.equal(r.groups.length, 2, JSON.stringify(r.groups));
    const joint = r.groups.find((g) => g.producers.length === 2)!;
    assert.deepEqual(
      [...joint.producers].sort(),
      ['conv2', 'stem'],
      'the residual Add prunes the stem and conv2 together',
    );
    assert.equal(joint.removed.length, 4);
    assert.equal(r.groups.find((g) => g.producers[0] === 'conv1')!.removed.length, 3);
    const dims = new Map(r.model.graph.initializer.map((t) => [t.name, t.dims.map(Number)] as const));
    assert.deepEqual(dims.get('stem.w'), [4, 3, 3, 3]);
    assert.deepEqual(dims.get('conv1.w'), [3, 4, 3, 3]);
    assert.deepEqual(dims.get('conv2.w'), [4, 3, 3, 3]);
    assert.deepEqual(dims.get('bn2.v'), [4]);
    assert.deepEqual(dims.get('fc.w'), [5, 4]);
    const x = randn([4, 3, 8, 8], 99, 'float32').data as Float32Array;
    const pruned = await run(r.model, x);
    const zeroed = await run(zeroPrunedChannels(m, { ratio: 0.5 }), x);
    const original = await run(m, x);
    for (let i = 0; i < pruned.length; i++)
      assert.ok(Math.abs(pruned[i] - zeroed[i]) < 1e-5, `logit ${i}: ${pruned[i]} vs ${zeroed[i]}`);
    assert.ok(
      original.some((v, i) => Math.abs(v - zeroed[i]) > 1e-3),
      'zeroing channels changed the model (the test can fail)',
    );
    // the removed channels are those with the smallest summed L1 filter norm over the group's convs
    const l1 = (name: string, c: number) =>
      Array.from({ length: c }, (_, k) => {
        const t = m.graph.initializer.find((i) => i.name === name)!;
        const d = Float32Array.from(randnOf(t));
        const per = d.length / c;
        return d.subarray(k * per, (k + 1) * per).reduce((a, v) => a + Math.abs(v), 0);
      });
    const score = l1('stem.w', 8).map((v, k) => v + l1('conv2.w', 8)[k]);
    const expected = score
      .map((v, k) => [v, k] as const)
      .sort((a, b) => a[0] - b[0])
      .slice(0, 4)
      .map(([, k]) => k)
      .sort((a, b) => a - b);
    assert.deepEqual(joint.removed, expected);
  });

const randnOf = (t: TensorProto): Float32Array => tensorToTypedArray(t) as Float32Array;

test('channel pruning leaves a group whole when it reaches a Concat or a graph output; bad ratio is an error', () => {
  const r = pruneChannels(residual(true), { ratio: 0.5 });
  assert.deepEqual(
    r.groups.map((g) => [...g.producers].sort()),
    [['conv2', 'stem']],
  );
  assert.equal(r.kept.length, 1);
  assert.match(r.kept[0].reason, /cat \(Concat\) cannot follow a channel removal/);
  assert.throws(
    () => pruneChannels(residual(), { ratio: 1 }),
    (e: Error) => e instanceof CompressError && /prune\.ratio/.test(e.message),
  );
});

test('channel pruning with `multiple`: every group keeps a multiple of it (the nearest to the ratio)', () => {
  const m = residual(false, 'Flatten');
  const plain = pruneChannels(m, { ratio: 0.3 });
  assert.deepEqual(plain.groups.map((g) => [g.channels, g.removed.length]).sort(), [
    [6, 1],
    [8, 2],
  ]);
  const rounded = pruneChannels(m, { ratio: 0.3, multiple: 4 });
  assert.deepEqual(
    rounded.groups.map((g) => [g.channels, g.channels - g.removed.length]).sort(),
    [
      [6, 4],
      [8, 4],
    ],
    'kept 4 of 6 and 4 of 8',
  );
  const dims = new Map(rounded.model.graph.initializer.map((t) => [t.name, t.dims.map(Number)] as const));
  assert.deepEqual(dims.get('conv1.w'), [4, 4, 3, 3]);
});
