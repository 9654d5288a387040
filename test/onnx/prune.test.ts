// Dead-output pruning on emitted NodeProtos: optional outputs nothing reads are dropped (trailing ones omitted,
// middle ones named ""), dead nodes and their initializers removed, and what a backward reads is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as L from '../../src/graph/index.js';
import { maxPool2dWithIndices } from '../../src/graph/ops/pool.js';
import { emitModel } from '../../src/onnx/emit.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { OPTIONAL_OUTPUTS, pruneUnusedOutputs, unusedOutputs } from '../../src/onnx/prune.js';
import type { GraphProto, NodeProto } from '../../src/onnx/proto.js';
import { gradients } from '../../src/autodiff/grad.js';

const node = (opType: string, input: string[], output: string[]): NodeProto => ({
  opType,
  input,
  output,
  name: `${opType}_${output[0] || input[0]}`,
  attribute: [],
});
const graph = (nodes: NodeProto[], outputs: string[], inits: string[] = []): GraphProto => ({
  node: nodes,
  initializer: inits.map((name) => ({ name, dataType: 1, dims: [1], rawData: new Uint8Array(4) })),
  input: [],
  output: outputs.map((name) => ({ name })),
  valueInfo: [],
});
const ops = (g: GraphProto) => g.node.map((n) => `${n.opType}[${n.output.join(',')}]`);

test('the MaxPool of an inference graph has no Indices output', () => {
  const x = L.placeholder('x', 'float32', [2, 3, 8, 8]);
  const m = emitModel({ inputs: [x], outputs: { y: L.maxPool2d(x, 2) } });
  const pools = m.graph.node.filter((n) => n.opType === 'MaxPool');
  assert.equal(pools.length, 1);
  assert.deepEqual(pools[0].output, ['y']);
  assert.deepEqual(unusedOutputs(m.graph), []);
});

test('a training graph keeps the MaxPool Indices its backward (MaxUnpool) reads', () => {
  const x = L.placeholder('x', 'float32', [2, 3, 8, 8]);
  const [gx] = gradients(L.sum(L.maxPool2d(x, 2)), [x]);
  const m = emitModel({ inputs: [x], outputs: { gx } });
  const pool = m.graph.node.find((n) => n.opType === 'MaxPool')!;
  assert.equal(pool.output.length, 2);
  const unpool = m.graph.node.find((n) => n.opType === 'MaxUnpool')!;
  assert.ok(unpool.input.includes(pool.output[1]));
});

test('LayerNormalization in inference emits Y only; with gradients it keeps Mean and InvStdDev', () => {
  const x = L.placeholder('x', 'float32', [2, 5]);
  const w = L.placeholder('w', 'float32', [5]);
  const inf = emitModel({ inputs: [x, w], outputs: { y: L.layerNorm(x, w) } });
  assert.deepEqual(inf.graph.node.find((n) => n.opType === 'LayerNormalization')!.output, ['y']);
  const [gx] = gradients(L.sum(L.mul(L.layerNorm(x, w), L.layerNorm(x, w))), [x]);
  const tr = emitModel({ inputs: [x, w], outputs: { gx } });
  assert.equal(tr.graph.node.find((n) => n.opType === 'LayerNormalization')!.output.length, 3);
});

test('an unused middle optional output is named "", an unused trailing one omitted', () => {
  // LSTM with only Y_h read: Y (index 0) becomes "", Y_c (index 2) is dropped
  const g = graph([node('LSTM', ['x', 'w', 'r'], ['y', 'yh', 'yc']), node('Relu', ['yh'], ['out'])], ['out']);
  pruneUnusedOutputs(g);
  assert.deepEqual(g.node[0].output, ['', 'yh']);
  // the indices of MaxPool read, the values not: MaxPool's first output is required and stays
  const g2 = graph([node('MaxPool', ['x'], ['v', 'i']), node('Cast', ['i'], ['out'])], ['out']);
  pruneUnusedOutputs(g2);
  assert.deepEqual(g2.node[0].output, ['v', 'i']);
});

test('every op in the optional-outputs table drops what nothing reads', () => {
  for (const [op, optional] of Object.entries(OPTIONAL_OUTPUTS)) {
    const count = Math.max(...optional, 0) + 1;
    const outs = Array.from({ length: count }, (_, i) => `o${i}`);
    const required = outs.map((_, i) => i).filter((i) => !optional.includes(i));
    const reader = required.length ? required[0] : optional[optional.length - 1];
    const g = graph([node(op, ['x'], outs), node('Identity', [`o${reader}`], ['out'])], ['out']);
    pruneUnusedOutputs(g);
    const expected = outs.slice(0, reader + 1).map((o, i) => (i === reader || !optional.includes(i) ? o : ''));
    assert.deepEqual(g.node[0].output, expected, op);
  }
});

test('dead nodes go, transitively, with the initializers only they read; required outputs of live nodes stay', () => {
  const g = graph(
    [
      node('Mul', ['x', 'c1'], ['a']),
      node('Relu', ['a'], ['dead1']),
      node('Neg', ['dead1'], ['dead2']),
      node('TopK', ['x', 'k'], ['vals', 'idx']),
      node('Add', ['a', 'vals'], ['out']),
    ],
    ['out'],
    ['c1', 'k', 'unused'],
  );
  const r = pruneUnusedOutputs(g);
  assert.deepEqual(ops(g), ['Mul[a]', 'TopK[vals,idx]', 'Add[out]']);
  assert.deepEqual(
    g.initializer.map((t) => t.name),
    ['c1', 'k'],
  );
  assert.equal(r.nodes, 2);
  // TopK's Indices are a required output: unread, but not droppable, so not reported as removable work
  assert.deepEqual(unusedOutputs(g), []);
});

test('values a subgraph reads from the outer scope stay alive', () => {
  const body = graph([node('Add', ['s', 'outer'], ['s2'])], ['s2']);
  const loop: NodeProto = { ...node('Loop', ['n', '', 's0'], ['sN']), attribute: [{ name: 'body', type: 5, g: body }] };
  const g = graph([node('Relu', ['x'], ['outer']), loop], ['sN']);
  pruneUnusedOutputs(g);
  assert.deepEqual(ops(g), ['Relu[outer]', 'Loop[sN]']);
});

test('a pruned max-pool model runs in ORT and matches the pooled values', async () => {
  const x = L.placeholder('x', 'float32', ['batch', 2, 4, 4]);
  const [y] = maxPool2dWithIndices(x, 2);
  const m = emitModel({ inputs: [x], outputs: { y } });
  const s = await ort.InferenceSession.create(encodeModel(m));
  const data = Float32Array.from({ length: 32 }, (_, i) => (i * 7) % 11);
  const out = await s.run({ x: new ort.Tensor('float32', data, [1, 2, 4, 4]) });
  const expected: number[] = [];
  for (let c = 0; c < 2; c++)
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++) {
        let best = -Infinity;
        for (let a = 0; a < 2; a++)
          for (let b = 0; b < 2; b++) best = Math.max(best, data[c * 16 + (2 * i + a) * 4 + 2 * j + b]);
        expected.push(best);
      }
  assert.deepEqual(Array.from(out.y.data as Float32Array), expected);
});

test('a Split with a piece nobody reads becomes Slices of the pieces that are read, with the same values', async () => {
  const x = L.placeholder('x', 'float32', [2, 6]);
  const [a, , c] = L.split(x, [1, 2, 3], 1);
  const m = emitModel({ inputs: [x], outputs: { y: L.concat([c, a], 1) } });
  assert.deepEqual(
    m.graph.node.map((n) => n.opType),
    ['Slice', 'Slice', 'Concat'],
  );
  assert.deepEqual(unusedOutputs(m.graph), []);
  const s = await ort.InferenceSession.create(encodeModel(m));
  const out = await s.run({
    x: new ort.Tensor(
      'float32',
      Float32Array.from({ length: 12 }, (_, i) => i),
      [2, 6],
    ),
  });
  assert.deepEqual(Array.from(out.y.data as Float32Array), [3, 4, 5, 0, 9, 10, 11, 6]);
  // all pieces read: one Split stays
  const [p, q] = L.split(x, 2, 1);
  assert.deepEqual(
    emitModel({ inputs: [x], outputs: { y: L.add(p, q) } }).graph.node.map((n) => n.opType),
    ['Split', 'Add'],
  );
});
