// Dead-output elimination over an emitted ONNX graph: outputs that nothing consumes are dropped where the op's spec
// makes them optional, and nodes none of whose outputs are consumed are removed, with the initializers only they
// read. A graph then carries no work that nobody asked for: an inference export of a max pool is a MaxPool without
// its Indices output (ORT otherwise runs its scalar indices kernel: 5× slower for the quickstart CNN), a LayerNorm
// without Mean/InvStdDev. Training graphs keep what their backward reads, because the backward reads it.
import { tensorToTypedArray } from './decode.js';
import type { GraphProto, NodeProto, TensorProto } from './proto.js';

/**
 * ONNX ops (default domain) and the indices of their optional outputs, from the operator specs (opset 21). A
 * trailing optional output may be omitted; an optional output before a used one is named "".
 */
export const OPTIONAL_OUTPUTS: Readonly<Record<string, readonly number[]>> = {
  MaxPool: [1], // Indices
  Dropout: [1], // mask
  BatchNormalization: [1, 2], // running_mean, running_var (training_mode)
  LayerNormalization: [1, 2], // Mean, InvStdDev
  LSTM: [0, 1, 2], // Y, Y_h, Y_c
  GRU: [0, 1], // Y, Y_h
  RNN: [0, 1], // Y, Y_h
  Unique: [1, 2, 3], // indices, inverse_indices, counts
  SoftmaxCrossEntropyLoss: [1], // log_prob
};

/** Names a graph reads from its enclosing scope: every node input, in subgraphs too. */
function readNames(graph: GraphProto, into: Set<string>): void {
  for (const n of graph.node) {
    for (const i of n.input) if (i !== '') into.add(i);
    for (const a of n.attribute) {
      if (a.g) readNames(a.g, into);
      for (const g of a.graphs ?? []) readNames(g, into);
    }
  }
}

function subgraphReads(n: NodeProto): Set<string> {
  const s = new Set<string>();
  for (const a of n.attribute) {
    if (a.g) readNames(a.g, s);
    for (const g of a.graphs ?? []) readNames(g, s);
  }
  return s;
}

/**
 * Removes unconsumed optional outputs and dead nodes in place (nodes must be in topological order, as emitted).
 * Returns how many outputs and nodes were removed.
 */
export function pruneUnusedOutputs(graph: GraphProto): { outputs: number; nodes: number } {
  const used = new Set<string>(graph.output.map((o) => o.name));
  const kept: NodeProto[] = [];
  let outputs = 0;
  let nodes = 0;
  // walking backwards, every consumer of a value has been visited before its producer
  for (let k = graph.node.length - 1; k >= 0; k--) {
    const n = graph.node[k];
    if (!n.output.some((o) => o !== '' && used.has(o))) {
      nodes++;
      continue;
    }
    const optional = (n.domain ?? '') === '' ? (OPTIONAL_OUTPUTS[n.opType] ?? []) : [];
    if (optional.length) {
      const out = n.output.map((o, i) => (o !== '' && optional.includes(i) && !used.has(o) ? '' : o));
      while (out.length && out[out.length - 1] === '') out.pop();
      outputs += n.output.filter((o) => o !== '').length - out.filter((o) => o !== '').length;
      n.output = out;
    }
    const pieces = n.opType === 'Split' && (n.domain ?? '') === '' ? splitAsSlices(graph, n, used) : undefined;
    for (const m of pieces ?? [n]) {
      for (const i of m.input) if (i !== '') used.add(i);
      for (const i of subgraphReads(m)) used.add(i);
      kept.push(m);
    }
    if (pieces) outputs += n.output.length - pieces.length;
  }
  kept.reverse();
  graph.node = kept;
  graph.initializer = graph.initializer.filter((t) => t.name === undefined || used.has(t.name));
  return { outputs, nodes };
}

/**
 * Every output of a Split is required, so a Split with pieces nobody reads (an LSTM's forget gate at the first step,
 * when there is no cell state yet) becomes one Slice per piece that is read. Needs the sizes as an initializer.
 */
function splitAsSlices(graph: GraphProto, n: NodeProto, used: ReadonlySet<string>): NodeProto[] | undefined {
  if (n.output.every((o) => used.has(o)) || n.input.length < 2) return undefined;
  const sizesInit = graph.initializer.find((t) => t.name === n.input[1]);
  if (sizesInit?.dataType !== 7) return undefined;
  const sizes = Array.from(tensorToTypedArray(sizesInit) as BigInt64Array, Number);
  if (sizes.length !== n.output.length) return undefined;
  const axis = Number(n.attribute.find((a) => a.name === 'axis')?.i ?? 0);
  const slices: NodeProto[] = [];
  let start = 0;
  sizes.forEach((size, k) => {
    const out = n.output[k];
    if (used.has(out)) {
      const c = (suffix: string, v: number): string => {
        const name = `${out}_${suffix}`;
        graph.initializer.push(int64(name, v));
        return name;
      };
      slices.push({
        opType: 'Slice',
        input: [n.input[0], c('start', start), c('end', start + size), c('axis', axis)],
        output: [out],
        name: `${n.name ?? 'Split'}_${k}`,
        attribute: [],
      });
    }
    start += size;
  });
  return slices.reverse(); // kept is built backwards
}

const int64 = (name: string, v: number): TensorProto => ({
  name,
  dataType: 7,
  dims: [1],
  rawData: new Uint8Array(BigInt64Array.of(BigInt(v)).buffer),
});

/** Node outputs (by node name and output) that no node and no graph output reads: empty for a pruned graph. */
export function unusedOutputs(graph: GraphProto): string[] {
  const used = new Set<string>(graph.output.map((o) => o.name));
  readNames(graph, used);
  const out: string[] = [];
  for (const n of graph.node) {
    const dead = n.output.every((o) => o === '' || !used.has(o));
    const optional = (!n.domain && OPTIONAL_OUTPUTS[n.opType]) || [];
    // a required output nothing reads (TopK's Values when only its Indices are used) cannot be dropped: not reported
    n.output.forEach((o, i) => {
      if (o !== '' && !used.has(o) && (dead || optional.includes(i))) out.push(`${n.opType} ${n.name ?? ''} → ${o}`);
    });
  }
  return out;
}
