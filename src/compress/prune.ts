// Unstructured magnitude pruning of an ONNX model: the smallest-magnitude weights of its Conv, Gemm and MatMul layers
// set to exactly zero, to a target sparsity over all of them together (global) or in each layer (layerwise). The
// result is the same dense graph with zeros in it: smaller only once compressed (the report gives the gzip size), and
// no faster in ONNX Runtime, whose CPU kernels are dense — so it makes no speed claim.
import { tensorToTypedArray } from '../onnx/decode.js';
import { typedArrayToTensor } from '../onnx/encode.js';
import type { ModelProto, TensorProto } from '../onnx/proto.js';
import { CompressError } from './errors.js';

/** Op types whose constant float weights (rank ≥ 2) {@link pruneMagnitude} prunes. */
export const PRUNABLE_OPS: readonly string[] = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];

/**
 * Options of {@link pruneMagnitude}: the target sparsity, global or per-layer threshold (default `global`), and
 * nodes to leave alone. {@link pruneMagnitude} throws a CompressError for a sparsity outside [0, 1) or an unknown
 * node.
 */
export interface MagnitudePruneOptions {
  /** Fraction of the prunable weights set to zero, in [0, 1). */
  readonly sparsity: number;
  /** 'global': one magnitude threshold over every prunable weight; 'layerwise': the sparsity in each layer. */
  readonly scope?: 'global' | 'layerwise';
  /** Node names whose weights are left alone. */
  readonly excludeNodes?: readonly string[];
}

/**
 * One pruned weight in the report: the initializer, the node reading it, its op type, its parameter count, and its
 * zeros and sparsity (fraction 0–1) after pruning.
 */
export interface PrunedLayer {
  /** The weight initializer (a weight read by several nodes is one row, named after its first reader). */
  readonly weight: string;
  readonly node: string;
  readonly opType: string;
  readonly params: number;
  /** Weights that are zero after pruning (including any that were zero before). */
  readonly zeros: number;
  readonly sparsity: number;
}

/**
 * What {@link pruneMagnitude} returns: the pruned model (same graph, zeros in the weights), each pruned layer, the
 * sparsity reached over all prunable weights (fraction 0–1) and their parameter count.
 */
export interface MagnitudePruneResult {
  readonly model: ModelProto;
  readonly layers: readonly PrunedLayer[];
  /** Zeros over all prunable weights after pruning. */
  readonly sparsity: number;
  readonly params: number;
}

/** The float32 weight initializers of the prunable layers, each once, with its first reader. */
function prunableWeights(
  model: ModelProto,
  exclude: ReadonlySet<string>,
): { name: string; node: string; opType: string; tensor: TensorProto }[] {
  const inits = new Map(model.graph.initializer.map((t) => [t.name!, t] as const));
  const seen = new Set<string>();
  const out: { name: string; node: string; opType: string; tensor: TensorProto }[] = [];
  model.graph.node.forEach((n, i) => {
    if (!PRUNABLE_OPS.includes(n.opType) || exclude.has(n.name ?? '')) return;
    // the weight is input 1 of Conv/ConvTranspose/Gemm; either operand of a MatMul may be the constant one
    const candidates = n.opType === 'MatMul' ? [n.input[1], n.input[0]] : [n.input[1]];
    const w = candidates.find((c) => c !== undefined && inits.has(c));
    if (!w || seen.has(w)) return;
    const t = inits.get(w)!;
    if (t.dataType !== 1 || t.dims.length < 2) return;
    seen.add(w);
    out.push({ name: w, node: n.name || `${n.opType}_${i}`, opType: n.opType, tensor: t });
  });
  return out;
}

/**
 * The magnitude below which `k` of `values` fall when sorted by |v| (ties broken by position), as the set of
 * indices to zero: exactly `k` of them.
 */
function smallest(mags: Float32Array, k: number): Uint32Array {
  const idx = new Uint32Array(mags.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => mags[a] - mags[b] || a - b);
  return idx.subarray(0, k);
}

/** Zeroes the smallest-magnitude weights of `model` to `opts.sparsity` (a new model; the input is not changed). */
export function pruneMagnitude(model: ModelProto, opts: MagnitudePruneOptions): MagnitudePruneResult {
  const s = opts.sparsity;
  if (!(s >= 0 && s < 1)) throw new CompressError(`prune.sparsity: expected a fraction in [0, 1), got ${s}`);
  const scope = opts.scope ?? 'global';
  const exclude = new Set(opts.excludeNodes ?? []);
  const known = new Set(model.graph.node.map((n) => n.name));
  for (const e of exclude) if (!known.has(e)) throw new CompressError(`prune.exclude: node "${e}" is not in the model`);
  const weights = prunableWeights(model, exclude);
  if (!weights.length)
    throw new CompressError(
      `nothing to prune: the model has no ${PRUNABLE_OPS.join('/')} node with a constant float weight of rank ≥ 2 (ops: ${[...new Set(model.graph.node.map((n) => n.opType))].join(', ')})`,
    );
  const data = weights.map((w) => Float32Array.from(tensorToTypedArray(w.tensor) as Float32Array));
  if (scope === 'layerwise') {
    for (const d of data) {
      const mags = d.map(Math.abs);
      for (const i of smallest(mags, Math.floor(s * d.length))) d[i] = 0;
    }
  } else {
    const total = data.reduce((a, d) => a + d.length, 0);
    const mags = new Float32Array(total);
    const owner = new Uint32Array(total);
    let o = 0;
    data.forEach((d, j) => {
      for (let i = 0; i < d.length; i++, o++) {
        mags[o] = Math.abs(d[i]);
        owner[o] = j;
      }
    });
    const starts = data.map((_, j) => data.slice(0, j).reduce((a, d) => a + d.length, 0));
    for (const g of smallest(mags, Math.floor(s * total))) data[owner[g]][g - starts[owner[g]]] = 0;
  }
  const replaced = new Map(
    weights.map((w, j) => [w.name, typedArrayToTensor(w.name, data[j], w.tensor.dims)] as const),
  );
  const layers: PrunedLayer[] = weights.map((w, j) => {
    const zeros = data[j].reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
    return {
      weight: w.name,
      node: w.node,
      opType: w.opType,
      params: data[j].length,
      zeros,
      sparsity: zeros / data[j].length,
    };
  });
  const params = layers.reduce((a, l) => a + l.params, 0);
  const zeros = layers.reduce((a, l) => a + l.zeros, 0);
  return {
    model: {
      ...model,
      graph: { ...model.graph, initializer: model.graph.initializer.map((t) => replaced.get(t.name!) ?? t) },
    },
    layers,
    sparsity: zeros / params,
    params,
  };
}
