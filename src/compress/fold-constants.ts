// Constant folding before quantization: a weight that reaches its MatMul/Gemm through ops on constants (the LSTM's
// gate-scaled, transposed recurrent weights: Transpose(Mul(W, c))) is computed once, by ONNX Runtime itself, and
// becomes an initializer, so the quantizer sees a constant weight it can store as int8.
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { typedArrayToTensor } from '../onnx/encode.js';
import { createSession } from '../runtime/session.js';

/** Ops never folded: random, or with subgraphs. */
const NOT_FOLDED = new Set([
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
  'Loop',
  'Scan',
  'If',
]);

/** Returns a copy of `model` whose float/int constant subexpressions read by other nodes are initializers. */
export async function foldConstants(model: ModelProto): Promise<ModelProto> {
  const g = model.graph;
  const constant = new Set(g.initializer.map((t) => t.name!).filter((n) => !g.input.some((i) => i.name === n)));
  const folded: NodeProto[] = [];
  for (const n of g.node) {
    if (
      (n.domain ?? '') !== '' ||
      NOT_FOLDED.has(n.opType) ||
      n.input.length === 0 ||
      !n.input.every((i) => i === '' || constant.has(i))
    )
      continue;
    folded.push(n);
    for (const o of n.output) if (o) constant.add(o);
  }
  if (folded.length === 0) return model;
  const foldedSet = new Set(folded);
  const producedByFold = new Set(folded.flatMap((n) => n.output));
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const needed = [
    ...new Set(
      g.node
        .filter((n) => !foldedSet.has(n))
        .flatMap((n) => n.input)
        .filter((i) => producedByFold.has(i)),
    ),
  ].filter((i) => !graphOutputs.has(i));
  if (needed.length === 0) return model;
  const sub: ModelProto = {
    ...model,
    metadataProps: [],
    graph: { ...g, node: folded, input: [], output: needed.map((name) => ({ name })), valueInfo: [] },
  };
  const session = await createSession(sub, { threads: 1, optimization: 'disabled' });
  let values: Awaited<ReturnType<typeof session.run>>;
  try {
    values = await session.run({});
  } finally {
    await session.release();
  }
  const inits: TensorProto[] = needed.map((name) =>
    typedArrayToTensor(name, values[name].data as Float32Array, values[name].dims),
  );
  const keep = g.node.filter((n) => !foldedSet.has(n) || n.output.some((o) => graphOutputs.has(o)));
  return { ...model, graph: { ...g, node: keep, initializer: [...g.initializer, ...inits] } };
}
