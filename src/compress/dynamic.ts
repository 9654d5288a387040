// Dynamic quantization for MatMul/Gemm-heavy models (transformers, the input projections of LSTM/GRU): weights int8
// offline, activations quantized per batch inside the graph. Each MatMul/Gemm with a constant 2-D weight becomes
//   DynamicQuantizeLinear(A) → MatMulInteger(A_q, W_q, A_zp, W_zp) → Cast(float) → Mul(A_scale · W_scale) (→ Add bias)
// the pattern ORT's quantize_dynamic writes and its CPU provider fuses into one DynamicQuantizeMatMul kernel. No
// calibration: the activation range is each batch's own [min, max] (uint8, as DynamicQuantizeLinear defines it).
// Weights are per output column (default) or per tensor; a Gemm's weight is stored as [K, N] (transposed if transB),
// its C added after (any C Gemm accepts broadcasts the same way under Add: the LSTM's per-step input projection).
// Nodes inside subgraphs (Scan/Loop bodies) are left in float.
import { int8MayOverflow } from './cpu-features.js';
import { tensorToTypedArray } from '../onnx/decode.js';
import { typedArrayToTensor } from '../onnx/encode.js';
import { pruneUnusedOutputs } from '../onnx/prune.js';
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { CompressError } from './errors.js';
import { foldConstants } from './fold-constants.js';
import { quantizeWeight } from './quant-params.js';
import { withNodeNames } from './quantize.js';

/**
 * Options of {@link quantizeDynamic}: nodes or op types to leave in float, per-channel weight scales and 7-bit
 * weights.
 */
export interface DynamicQuantOptions {
  readonly excludeNodes?: readonly string[];
  readonly excludeOpTypes?: readonly string[];
  /** One weight scale per output column (default true) or per tensor. */
  readonly perChannel?: boolean;
  /** 7-bit weights; default: on when this CPU lacks VNNI (see cpu-features.ts). */
  readonly reduceRange?: boolean;
}

/**
 * What {@link quantizeDynamic} returns: the quantized model, the float model it was made from (constants folded,
 * unique node names), the MatMul/Gemm nodes quantized, and those skipped with the reason.
 */
export interface DynamicQuantResult {
  readonly model: ModelProto;
  /** The float model with unique node names. */
  readonly float: ModelProto;
  /** Names of the MatMul/Gemm nodes quantized. */
  readonly nodes: readonly string[];
  readonly skipped: ReadonlyMap<string, string>;
}

const attr = (n: NodeProto, name: string): number | undefined => {
  const a = n.attribute.find((x) => x.name === name);
  return a === undefined ? undefined : (a.f ?? (a.i === undefined ? undefined : Number(a.i)));
};

/** Returns a dynamically quantized copy of `model` (constant subexpressions folded first: foldConstants). */
export async function quantizeDynamic(model: ModelProto, opts: DynamicQuantOptions = {}): Promise<DynamicQuantResult> {
  const float = withNodeNames(await foldConstants(model));
  const g = float.graph;
  const names = new Set(g.node.map((n) => n.name!));
  for (const n of opts.excludeNodes ?? [])
    if (!names.has(n)) throw new CompressError(`node "${n}" is not in the model`);
  const opset = float.opsetImport.find((o) => (o.domain ?? '') === '')?.version ?? 0;
  if (opset < 11)
    throw new CompressError(
      `dynamic quantization needs opset >= 11 (DynamicQuantizeLinear); the model has opset ${opset}`,
    );
  const inits = new Map(g.initializer.filter((t) => t.name).map((t) => [t.name!, t]));
  const exclN = new Set(opts.excludeNodes ?? []),
    exclT = new Set(opts.excludeOpTypes ?? []);
  const perChannel = opts.perChannel ?? true;
  const newInits: TensorProto[] = [];
  const used = new Set<string>([
    ...g.node.flatMap((n) => [...n.input, ...n.output]),
    ...inits.keys(),
    ...g.input.map((i) => i.name),
  ]);
  const fresh = (base: string): string => {
    let s = base;
    for (let k = 1; used.has(s); k++) s = `${base}_${k}`;
    used.add(s);
    return s;
  };
  const dql = new Map<string, [string, string, string]>(); // activation → its DynamicQuantizeLinear outputs
  const weights = new Map<string, { q: string; scale: string; zp: string }>();
  const out: NodeProto[] = [];
  const nodes: string[] = [];
  const skipped = new Map<string, string>();
  for (const n of g.node) {
    const name = n.name!;
    if (n.opType !== 'MatMul' && n.opType !== 'Gemm') {
      out.push(n);
      continue;
    }
    const w = inits.get(n.input[1]);
    const reason = exclN.has(name)
      ? 'excluded by name'
      : exclT.has(n.opType)
        ? 'excluded by op type'
        : w?.dataType !== 1 || w.dims.length !== 2
          ? 'weight is not a 2-D float constant'
          : n.opType === 'Gemm' &&
              ((attr(n, 'alpha') ?? 1) !== 1 || (attr(n, 'beta') ?? 1) !== 1 || (attr(n, 'transA') ?? 0) !== 0)
            ? 'Gemm with alpha, beta or transA'
            : undefined;
    if (reason) {
      skipped.set(name, reason);
      out.push(n);
      continue;
    }
    const transB = n.opType === 'Gemm' && (attr(n, 'transB') ?? 0) === 1;
    const key = `${n.input[1]}|${transB}`;
    let wq = weights.get(key);
    if (!wq) {
      let data = tensorToTypedArray(w!) as Float32Array;
      let [k, m] = w!.dims;
      if (transB) {
        // [N, K] → [K, N]
        const t = new Float32Array(data.length);
        for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) t[j * k + i] = data[i * m + j];
        data = t;
        [k, m] = [m, k];
      }
      const q = quantizeWeight(data, [k, m], perChannel ? 1 : undefined, opts.reduceRange ?? int8MayOverflow());
      const base = n.input[1];
      wq = { q: fresh(`${base}_quantized`), scale: fresh(`${base}_scale`), zp: fresh(`${base}_zero_point`) };
      newInits.push(
        typedArrayToTensor(wq.q, q.data, [k, m]),
        typedArrayToTensor(wq.scale, q.scales, perChannel ? [m] : []),
        typedArrayToTensor(wq.zp, new Int8Array(perChannel ? m : 1), perChannel ? [m] : []),
      );
      weights.set(key, wq);
    }
    const a = n.input[0];
    let aq = dql.get(a);
    if (!aq) {
      aq = [fresh(`${a}_quantized`), fresh(`${a}_scale`), fresh(`${a}_zero_point`)];
      out.push({
        opType: 'DynamicQuantizeLinear',
        name: fresh(`${a}_DynamicQuantizeLinear`),
        input: [a],
        output: [...aq],
        attribute: [],
      });
      dql.set(a, aq);
    }
    const y = n.output[0];
    const yi = fresh(`${y}_int32`),
      yf = fresh(`${y}_cast`),
      s = fresh(`${y}_scale_product`);
    const scaled = n.opType === 'Gemm' && n.input[2] ? fresh(`${y}_scaled`) : y;
    out.push(
      {
        opType: 'MatMulInteger',
        name: fresh(`${name}_MatMulInteger`),
        input: [aq[0], wq.q, aq[2], wq.zp],
        output: [yi],
        attribute: [],
      },
      {
        opType: 'Cast',
        name: fresh(`${name}_Cast`),
        input: [yi],
        output: [yf],
        attribute: [{ name: 'to', type: 2, i: 1 }],
      },
      { opType: 'Mul', name: fresh(`${name}_ScaleProduct`), input: [aq[1], wq.scale], output: [s], attribute: [] },
      { opType: 'Mul', name: fresh(`${name}_Rescale`), input: [yf, s], output: [scaled], attribute: [] },
    );
    if (scaled !== y)
      out.push({ opType: 'Add', name: fresh(`${name}_Bias`), input: [scaled, n.input[2]], output: [y], attribute: [] });
    nodes.push(name);
  }
  if (nodes.length === 0)
    throw new CompressError(
      `nothing to quantize dynamically: no MatMul/Gemm with a constant 2-D weight${
        skipped.size
          ? ` (${[...skipped]
              .map(([k, v]) => `${k}: ${v}`)
              .slice(0, 5)
              .join('; ')})`
          : ` (ops: ${[...new Set(g.node.map((n) => n.opType))].join(', ')})`
      }`,
    );
  const result: ModelProto = {
    ...float,
    graph: { ...g, node: out, initializer: [...g.initializer, ...newInits], valueInfo: [] },
  };
  pruneUnusedOutputs(result.graph);
  return { model: result, float, nodes, skipped };
}
