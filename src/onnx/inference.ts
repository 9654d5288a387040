// Inference rewrites of an emitted ONNX graph: where the training trace chose a form for its backward, an exported
// inference model takes the form a hand-written inference graph has.
//  - foldBatchNorm: Conv → BatchNormalization (eval, constant weights) becomes one Conv with scaled weights and a
//    bias, W' = W·s, B' = (B − μ)·s + β with s = γ/√(σ² + ε), computed in float64 and rounded once.
//  - reluBeforePool: Conv → MaxPool → Relu/Clip becomes Conv → Relu/Clip → MaxPool. The training trace pools first
//    (the ReLU mask then runs on the pooled quarter of the tensor in the backward); for inference ORT fuses Conv +
//    Relu/Clip into one kernel. Both orders give identical values (max and ReLU/Clip are monotone).
// Both run after dead-output pruning (prune.ts) and only touch values with one consumer, so a training graph, whose
// backward reads the MaxPool indices and the conv output, never matches.
import { tensorToTypedArray } from './decode.js';
import { pruneUnusedOutputs } from './prune.js';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from './proto.js';

/**
 * Which inference rewrites to apply to an exported model (see `ExportOptions.inference`); each is on unless set to
 * false.
 */
export interface InferencePasses {
  /** Fold eval BatchNormalization into the preceding Conv (default true). */
  readonly foldBatchNorm?: boolean;
  /** Apply ReLU (or Clip) before MaxPool when the pool follows a Conv, so ORT fuses Conv + activation (default true). */
  readonly reluBeforePool?: boolean;
}

interface Uses {
  readonly consumers: Map<string, NodeProto[]>;
  readonly graphOutputs: Set<string>;
}

function uses(graph: GraphProto): Uses {
  const consumers = new Map<string, NodeProto[]>();
  for (const n of graph.node) for (const i of n.input) if (i !== '') consumers.set(i, [...(consumers.get(i) ?? []), n]);
  return { consumers, graphOutputs: new Set(graph.output.map((o) => o.name)) };
}

/** The one node that reads `value`, when exactly one does and it is not a graph output. */
function soleConsumer(u: Uses, value: string): NodeProto | undefined {
  const c = u.consumers.get(value);
  return c?.length === 1 && !u.graphOutputs.has(value) ? c[0] : undefined;
}

const attrNumber = (n: NodeProto, name: string): number | undefined => {
  const a = n.attribute.find((x) => x.name === name);
  return a === undefined ? undefined : (a.f ?? (a.i === undefined ? undefined : Number(a.i)));
};

function float32Initializers(graph: GraphProto): Map<string, TensorProto> {
  const m = new Map<string, TensorProto>();
  for (const t of graph.initializer) if (t.name && t.dataType === 1 && t.dataLocation !== 1) m.set(t.name, t);
  return m;
}

/** Folds every Conv → BatchNormalization pair with constant parameters; returns how many it folded. */
export function foldBatchNorm(graph: GraphProto): number {
  const u = uses(graph);
  const inits = float32Initializers(graph);
  const removed = new Set<NodeProto>();
  let folded = 0;
  for (const conv of graph.node) {
    if (conv.opType !== 'Conv' || (conv.domain ?? '') !== '' || conv.output.length !== 1) continue;
    const bn = soleConsumer(u, conv.output[0]);
    if (bn?.opType !== 'BatchNormalization' || (bn.domain ?? '') !== '' || bn.input[0] !== conv.output[0]) continue;
    if ((attrNumber(bn, 'training_mode') ?? 0) !== 0 || bn.output.filter((o) => o !== '').length !== 1) continue;
    const w = inits.get(conv.input[1]);
    const b = conv.input[2] ? inits.get(conv.input[2]) : undefined;
    const [gamma, beta, mu, v] = bn.input.slice(1, 5).map((name) => inits.get(name));
    if (!w || (conv.input[2] && !b) || !gamma || !beta || !mu || !v) continue;
    const eps = attrNumber(bn, 'epsilon') ?? 1e-5;
    const cout = w.dims[0];
    const [W, G, Bt, M, V] = [w, gamma, beta, mu, v].map((t) => tensorToTypedArray(t) as Float32Array);
    if ([G, Bt, M, V].some((a) => a.length !== cout)) continue;
    const B = b ? (tensorToTypedArray(b) as Float32Array) : undefined;
    const per = W.length / cout;
    const w2 = new Float32Array(W.length);
    const b2 = new Float32Array(cout);
    for (let c = 0; c < cout; c++) {
      const s = G[c] / Math.sqrt(V[c] + eps);
      for (let k = 0; k < per; k++) w2[c * per + k] = W[c * per + k] * s;
      b2[c] = ((B ? B[c] : 0) - M[c]) * s + Bt[c];
    }
    const wName = `${conv.input[1]}_bnfold_${folded}`;
    const bName = `${bn.input[2]}_bnfold_${folded}`;
    graph.initializer.push(raw(wName, w.dims, w2), raw(bName, [cout], b2));
    conv.input = [conv.input[0], wName, bName];
    conv.output = [bn.output[0]];
    removed.add(bn);
    folded++;
  }
  graph.node = graph.node.filter((n) => !removed.has(n));
  return folded;
}

const raw = (name: string, dims: readonly number[], a: Float32Array): TensorProto => ({
  name,
  dataType: 1,
  dims: [...dims],
  rawData: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
});

/** Swaps Conv → MaxPool → Relu/Clip into Conv → Relu/Clip → MaxPool; returns how many it swapped. */
export function reluBeforePool(graph: GraphProto): number {
  const u = uses(graph);
  const at = new Map(graph.node.map((n, i) => [n, i]));
  const producer = new Map(graph.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  let swapped = 0;
  for (const pool of [...graph.node]) {
    if (pool.opType !== 'MaxPool' || (pool.domain ?? '') !== '' || pool.output.length !== 1) continue;
    const conv = producer.get(pool.input[0]);
    if (conv?.opType !== 'Conv' || soleConsumer(u, pool.input[0]) !== pool) continue;
    const act = soleConsumer(u, pool.output[0]);
    if (
      !act ||
      (act.opType !== 'Relu' && act.opType !== 'Clip') ||
      (act.domain ?? '') !== '' ||
      act.input[0] !== pool.output[0]
    )
      continue;
    const mid = `${act.output[0]}_prepool`;
    const newAct: NodeProto = { ...act, input: [pool.input[0], ...act.input.slice(1)], output: [mid] };
    const newPool: NodeProto = { ...pool, input: [mid], output: [act.output[0]] };
    // the activation takes the pool's place, the pool the activation's: both stay after their inputs' producers
    graph.node[at.get(pool)!] = newAct;
    graph.node[at.get(act)!] = newPool;
    swapped++;
  }
  return swapped;
}

/** Applies the inference rewrites to a model in place (pruning first and after), and returns it. */
export function optimizeForInference(model: ModelProto, passes: InferencePasses = {}): ModelProto {
  const g = model.graph;
  pruneUnusedOutputs(g);
  if (passes.foldBatchNorm ?? true) foldBatchNorm(g);
  if (passes.reluBeforePool ?? true) reluBeforePool(g);
  pruneUnusedOutputs(g);
  return model;
}
