// If, Loop and Scan through importOnnx: an If on a run-time condition and a Loop run inside ORT with the outer values
// their bodies capture, and refuse to differentiate naming op and node; an If whose condition is known at import
// time is inlined and differentiates. ONNX's own If/Loop/Scan tests run in test/onnx/conformance.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { ndarray } from '../../src/graph/ndarray.js';
import { gradients } from '../../src/autodiff/index.js';
import { compile } from '../../src/runtime/compile.js';
import { importOnnx } from '../../src/onnx/import.js';
import {
  AttributeType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from '../../src/onnx/proto.js';
import { checkGrad } from '../util/gradcheck.js';

const f64 = (name: string, dims: number[] = [3]) => ({
  name,
  type: { tensorType: { elemType: 11, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});
const node = (opType: string, input: string[], output: string[], name = `n_${output[0]}`): NodeProto => ({
  name,
  opType,
  input,
  output,
  attribute: [],
});
const body = (nodes: NodeProto[], output: string, input: GraphProto['input'] = []): GraphProto => ({
  name: 'body',
  node: nodes,
  initializer: [],
  input,
  output: [{ name: output }],
  valueInfo: [],
});
const tensor = (name: string, dataType: number, dims: number[], rawData: ArrayBufferView): TensorProto => ({
  name,
  dataType,
  dims,
  rawData: new Uint8Array(rawData.buffer, rawData.byteOffset, rawData.byteLength),
});

/** Y = If(C) then X·W else X + W, with W an initializer (a parameter) both branches capture. */
function ifModel(cond?: boolean): ModelProto {
  const w = tensor('W', 11, [3], new Float64Array([2, -1, 0.5]));
  const c = cond === undefined ? [] : [tensor('C', 9, [], new Uint8Array([cond ? 1 : 0]))];
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'if',
      node: [
        {
          name: 'choose',
          opType: 'If',
          input: ['C'],
          output: ['Y'],
          attribute: [
            { name: 'then_branch', type: AttributeType.GRAPH, g: body([node('Mul', ['X', 'W'], ['t'])], 't') },
            { name: 'else_branch', type: AttributeType.GRAPH, g: body([node('Add', ['X', 'W'], ['e'])], 'e') },
          ],
        },
      ],
      initializer: [w, ...c],
      input: [
        f64('X'),
        ...(cond === undefined ? [{ name: 'C', type: { tensorType: { elemType: 9, shape: { dim: [] } } } }] : []),
      ],
      output: [f64('Y')],
      valueInfo: [],
    },
  };
}

test('an If on a run-time condition runs in ORT with the parameter its branches capture, and refuses to differentiate naming op and node', async () => {
  const g = importOnnx(ifModel());
  assert.deepEqual(
    g.inputs.map((i) => i.name),
    ['X', 'C'],
  );
  const run = (x: L.Tensor, c: L.Tensor, w: L.Tensor) => g.apply({ X: x, C: c }, { W: w }).Y;
  const x = ndarray('float64', [3], [1, 2, 3]);
  const w = g.params.W;
  const yes = await compile(run)(x, ndarray('bool', [], [1]), w);
  const no = await compile(run)(x, ndarray('bool', [], [0]), w);
  assert.deepEqual(Array.from(yes.data as Float64Array), [2, -2, 1.5]);
  assert.deepEqual(Array.from(no.data as Float64Array), [3, 1, 3.5]);
  assert.throws(
    () =>
      compile((a: L.Tensor, c: L.Tensor, b: L.Tensor) => gradients(L.sum(run(a, c, b)), [b])[0]).model(
        x,
        ndarray('bool', [], [1]),
        w,
      ),
    /If node choose: its body runs inside ORT, which lathe does not differentiate through/,
  );
});

test('an If whose condition is known at import time is inlined: the chosen branch runs and differentiates', async () => {
  for (const cond of [true, false]) {
    const g = importOnnx(ifModel(cond));
    assert.deepEqual(
      g.inputs.map((i) => i.name),
      ['X'],
    );
    const run = (x: L.Tensor, w: L.Tensor) => g.apply({ X: x }, { W: w }).Y;
    const y = await compile(run)(ndarray('float64', [3], [1, 2, 3]), g.params.W);
    assert.deepEqual(Array.from(y.data as Float64Array), cond ? [2, -2, 1.5] : [3, 1, 3.5]);
    await checkGrad(`If(${cond})`, run, [ndarray('float64', [3], [0.3, -0.7, 1.1]), g.params.W]);
  }
});

test('a Loop with a run-time trip count carries a value, scans it out, and reads an outer parameter', async () => {
  // v_k = v_{k-1} + W for M steps; scan output: each v_k; body values untyped (found by lowering the body)
  const w = tensor('W', 11, [3], new Float64Array([1, 10, 100]));
  const loopBody: GraphProto = {
    name: 'loop_body',
    node: [
      node('Add', ['v_in', 'W'], ['v_out']),
      node('Identity', ['cond_in'], ['cond_out']),
      node('Identity', ['v_out'], ['scan']),
    ],
    initializer: [],
    input: [
      { name: 'iter', type: { tensorType: { elemType: 7, shape: { dim: [] } } } },
      { name: 'cond_in', type: { tensorType: { elemType: 9, shape: { dim: [] } } } },
      { name: 'v_in' },
    ],
    output: [{ name: 'cond_out' }, { name: 'v_out' }, { name: 'scan' }],
    valueInfo: [],
  };
  const m: ModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'loop',
      node: [
        {
          name: 'repeat',
          opType: 'Loop',
          input: ['M', '', 'X'],
          output: ['V', 'S'],
          attribute: [{ name: 'body', type: AttributeType.GRAPH, g: loopBody }],
        },
      ],
      initializer: [w],
      input: [{ name: 'M', type: { tensorType: { elemType: 7, shape: { dim: [] } } } }, f64('X')],
      output: [f64('V'), { name: 'S' }],
      valueInfo: [],
    },
  };
  const g = importOnnx(m);
  const out = await compile((steps: L.Tensor, x: L.Tensor, p: L.Tensor) => {
    const r = g.apply({ M: steps, X: x }, { W: p });
    return L.concat([r.V, L.reshape(r.S, [-1])], 0);
  })(ndarray('int64', [], [2]), ndarray('float64', [3], [0, 0, 0]), g.params.W);
  assert.deepEqual(Array.from(out.data as Float64Array), [2, 20, 200, 1, 10, 100, 2, 20, 200]);
});
