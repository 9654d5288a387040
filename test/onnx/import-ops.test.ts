// Ops the importer gained for ONNX conformance: finite-difference gradient checks through importOnnx (the ops are
// composed of lathe primitives, or are new ones like mod), refusals that name op, node and reason, and the N-D
// window ops refusing to differentiate instead of returning a wrong gradient. Values are checked against ONNX's
// expected outputs by test/onnx/conformance.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { ndarray, type NDArray } from '../../src/graph/ndarray.js';
import { gradients } from '../../src/autodiff/index.js';
import { compile } from '../../src/runtime/compile.js';
import { importOnnx, UnsupportedOnnxError } from '../../src/onnx/import.js';
import { AttributeType, type AttributeProto, type ModelProto } from '../../src/onnx/proto.js';
import { checkGrad, randn } from '../util/gradcheck.js';

const f = (name: string, v: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f: v });
const i = (name: string, v: number): AttributeProto => ({ name, type: AttributeType.INT, i: v });
const s = (name: string, v: string): AttributeProto => ({
  name,
  type: AttributeType.STRING,
  s: new TextEncoder().encode(v),
});

/** A one-node model over inputs X0..Xn-1 (dtype and shape as the arrays) with output Y. */
function oneNode(
  opType: string,
  inputs: readonly NDArray[],
  attribute: AttributeProto[] = [],
  outputs = ['Y'],
): ModelProto {
  const code = (d: string) => ({ float64: 11, float32: 1, int64: 7, bool: 9 })[d] ?? 1;
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: opType,
      node: [{ name: `my_${opType}`, opType, input: inputs.map((_, k) => `X${k}`), output: outputs, attribute }],
      initializer: [],
      input: inputs.map((a, k) => ({
        name: `X${k}`,
        type: { tensorType: { elemType: code(a.dtype), shape: { dim: a.shape.map((d) => ({ dimValue: d })) } } },
      })),
      output: [{ name: outputs[0] }],
      valueInfo: [],
    },
  };
}

const applied = (m: ModelProto, out = 'Y') => {
  const g = importOnnx(m);
  return (...xs: L.Tensor[]) => g.apply(Object.fromEntries(xs.map((x, k) => [`X${k}`, x])), {})[out];
};

const cases: [string, string, NDArray[], AttributeProto[]][] = [
  ['HardSwish', 'HardSwish', [randn([2, 5], 1, 'float64', 3)], []],
  ['HardSigmoid', 'HardSigmoid', [randn([2, 5], 2, 'float64', 3)], [f('alpha', 0.3), f('beta', 0.4)]],
  [
    'Clip with tensor bounds',
    'Clip',
    [randn([2, 5], 3, 'float64', 2), ndarray('float64', [], [-0.5]), ndarray('float64', [], [0.7])],
    [],
  ],
  ['PRelu', 'PRelu', [randn([2, 5], 4), randn([5], 5, 'float64', 0.5)], []],
  ['Selu (float32: ORT has no float64 Elu)', 'Selu', [randn([2, 5], 6, 'float32')], []],
  ['Celu', 'Celu', [randn([2, 5], 7)], [f('alpha', 0.7)]],
  ['Mish', 'Mish', [randn([2, 5], 8)], []],
  ['Softsign', 'Softsign', [randn([2, 5], 9)], []],
  ['Tan', 'Tan', [randn([2, 5], 10, 'float64', 1)], []],
  ['Sinh', 'Sinh', [randn([2, 5], 11)], []],
  ['Cosh', 'Cosh', [randn([2, 5], 12)], []],
  ['ReduceL2', 'ReduceL2', [randn([3, 4], 13)], [{ name: 'axes', type: AttributeType.INTS, ints: [1] }]],
  ['ReduceLogSumExp', 'ReduceLogSumExp', [randn([3, 4], 14)], [i('keepdims', 0)]],
  [
    'ReduceProd',
    'ReduceProd',
    [randn([3, 4], 15, 'float64', 1, 0.2)],
    [{ name: 'axes', type: AttributeType.INTS, ints: [0] }],
  ],
  ['InstanceNormalization', 'InstanceNormalization', [randn([2, 3, 4], 16), randn([3], 17), randn([3], 18)], []],
  ['DepthToSpace (CRD)', 'DepthToSpace', [randn([1, 8, 2, 3], 19)], [i('blocksize', 2), s('mode', 'CRD')]],
  [
    'Mod (fmod) in the dividend and the divisor',
    'Mod',
    [randn([2, 5], 20, 'float64', 4), randn([2, 5], 21, 'float64', 1, 3)],
    [i('fmod', 1)],
  ],
  ['Asin (run by ORT as it is, with its own VJP)', 'Asin', [randn([2, 5], 23, 'float32', 0.3)], []],
  ['Atanh (run by ORT as it is, with its own VJP)', 'Atanh', [randn([2, 5], 24, 'float32', 0.3)], []],
  ['GlobalMaxPool', 'GlobalMaxPool', [randn([1, 2, 3, 3], 22)], []],
  [
    'BatchNormalization (training_mode: batch statistics)',
    'BatchNormalization',
    [randn([3, 2, 2, 2], 71), randn([2], 72), randn([2], 73), randn([2], 74), ndarray('float64', [2], [0.5, 1.5])],
    [i('training_mode', 1)],
  ],
  // recurrent ops unrolled into lathe ops (src/onnx/import-rnn.ts): X [T 3, B 2, I 2], hidden 2
  [
    'LSTM (unrolled, reverse)',
    'LSTM',
    [
      randn([3, 2, 2], 60),
      randn([1, 8, 2], 61, 'float64', 0.5),
      randn([1, 8, 2], 62, 'float64', 0.5),
      randn([1, 16], 63, 'float64', 0.5),
    ],
    [i('hidden_size', 2), s('direction', 'reverse')],
  ],
  [
    'GRU (unrolled, bidirectional, linear_before_reset=0)',
    'GRU',
    [
      randn([3, 2, 2], 67),
      randn([2, 6, 2], 68, 'float64', 0.5),
      randn([2, 6, 2], 69, 'float64', 0.5),
      randn([2, 12], 70, 'float64', 0.5),
    ],
    [i('hidden_size', 2), s('direction', 'bidirectional')],
  ],
];
for (const [name, opType, inputs, attrs] of cases) {
  test(`imported ${name}: the gradient matches finite differences`, async () => {
    await checkGrad(name, applied(oneNode(opType, inputs, attrs)), inputs);
  });
}

test('imported NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (weights, ignore_index, mean): gradients match finite differences', async () => {
  const x = randn([4, 3], 30);
  const t = ndarray('int64', [4], [0, 2, 1, 2]);
  const w = ndarray('float64', [3], [0.5, 1, 2]);
  for (const opType of ['NegativeLogLikelihoodLoss', 'SoftmaxCrossEntropyLoss']) {
    const m = oneNode(opType, [x, t, w], [i('ignore_index', 1), s('reduction', 'mean')]);
    await checkGrad(opType, applied(m), [x, t, w], { wrt: [0, 2] });
  }
});

test('a MaxPool with only kernel_shape strides by 1, as ONNX defines (not by the kernel size)', async () => {
  const x = randn([1, 1, 4, 4], 40, 'float32');
  const y = await compile(
    applied(oneNode('MaxPool', [x], [{ name: 'kernel_shape', type: AttributeType.INTS, ints: [2, 2] }])),
  )(x);
  assert.deepEqual(y.shape, [1, 1, 3, 3]);
});

test('refusals are UnsupportedOnnxErrors naming the op, the node and the reason', () => {
  const x = randn([1, 2, 4], 41, 'float32');
  const ratio = ndarray('float32', [], [0.5]);
  const training = ndarray('bool', [], [1]);
  const refused: [ModelProto, NDArray[], RegExp][] = [
    [
      oneNode('Dropout', [x, ratio, training]),
      [x, ratio, training],
      /node my_Dropout \(Dropout\): training_mode is true or not a constant/,
    ],
    [
      oneNode('SplitToSequence', [x]),
      [x],
      /node my_SplitToSequence \(SplitToSequence\): ONNX op SplitToSequence is not supported/,
    ],
  ];
  for (const [m, feeds, message] of refused) {
    assert.throws(
      () => compile(applied(m)).model(...feeds),
      (err: Error) => err instanceof UnsupportedOnnxError && message.test(err.message),
    );
  }
});

test('a 3-D convolution runs but refuses to differentiate instead of returning a wrong gradient', async () => {
  const x = randn([1, 1, 3, 3, 3], 42, 'float32');
  const w = randn([2, 1, 2, 2, 2], 43, 'float32');
  const conv = applied(oneNode('Conv', [x, w]));
  const y = await compile(conv)(x, w);
  assert.deepEqual(y.shape, [1, 2, 2, 2, 2]);
  assert.throws(
    () => compile((a: L.Tensor, b: L.Tensor) => gradients(L.sum(conv(a, b)), [a])[0]).model(x, w),
    /gradient of an N-D \(3-D\) window op is not implemented/,
  );
});
