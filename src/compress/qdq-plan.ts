// Which nodes of a float ONNX graph static quantization turns into integer kernels, and which tensors get a
// QuantizeLinear → DequantizeLinear pair with what range. The plan is made on the float model, so calibration can
// observe exactly the tensors whose ranges the rewrite (qdq.ts) needs.
//
// Op kinds, chosen by the fusions ORT's CPU provider makes from QDQ groups (onnxruntime QDQ selectors):
//   conv     Conv          → QLinearConv (only fast when its output is quantized too: DESIGN.md)
//   gemm     Gemm          → QGemm; its output may stay float (the logits of a classifier)
//   matmul   MatMul        → QLinearMatMul, or MatMulIntegerToFloat when the output stays float
//   binary   Add, Mul      → QLinearAdd / QLinearMul (residual connections)
//   concat   Concat        → QLinearConcat
//   unary    GlobalAveragePool, AveragePool, Sigmoid, LeakyRelu → their QLinear* kernels (own output range)
//   same     MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Identity → run on int8 as they are: output
//            range = input range, so ORT drops the DQ → op → Q around them
// A Relu (or a Clip from 0) right after a quantized node is folded into that node's output quantization: with the
// range starting at 0 the zero point is the type's minimum, so Q saturates negatives to exactly 0 — the activation
// is free. Graph outputs of gemm/matmul stay float; other quantized nodes' outputs keep their names behind a DQ.
import { tensorToTypedArray } from '../onnx/decode.js';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { CompressError } from './errors.js';

/**
 * How a quantizable op is treated by the planner: weighted ops (`conv`, `gemm`, `matmul`), ops with two or more
 * quantized inputs (`binary`, `concat`), one-input ops with their own output range (`unary`), and ops whose output
 * keeps their input's range (`same`).
 */
export type OpKind = 'conv' | 'gemm' | 'matmul' | 'binary' | 'concat' | 'unary' | 'same';

/** The ONNX op types static quantization can run as int8 kernels in ONNX Runtime, with their {@link OpKind}. */
export const QUANTIZABLE_OPS: Readonly<Record<string, OpKind>> = {
  Conv: 'conv',
  Gemm: 'gemm',
  MatMul: 'matmul',
  Add: 'binary',
  Mul: 'binary',
  Concat: 'concat',
  GlobalAveragePool: 'unary',
  AveragePool: 'unary',
  Sigmoid: 'unary',
  LeakyRelu: 'unary',
  MaxPool: 'same',
  Reshape: 'same',
  Flatten: 'same',
  Transpose: 'same',
  Squeeze: 'same',
  Unsqueeze: 'same',
  Identity: 'same',
};

/** Ops that only move or select values: quantized when their input is, never on their own. */
const FOLLOWERS: ReadonlySet<OpKind> = new Set(['same']);

/**
 * Options of {@link planQuantization}: which nodes and op types to quantize or keep in float, and per-channel
 * weights.
 */
export interface PlanOptions {
  /** Node names to keep in float. */
  readonly excludeNodes?: readonly string[];
  /** Op types to keep in float (e.g. 'Add'). */
  readonly excludeOpTypes?: readonly string[];
  /** Only these op types are quantized (default: every op in QUANTIZABLE_OPS); an op without an int8 kernel is an error. */
  readonly opTypes?: readonly string[];
  /** Only these node names are quantized (the sensitivity analysis quantizes one layer at a time). */
  readonly onlyNodes?: readonly string[];
  /** Weights per output channel (default true) or one scale per tensor. */
  readonly perChannel?: boolean;
}

/** How a tensor's range is found: observed on `observe` during calibration, or copied from another tensor. */
export type TensorSource =
  | { readonly kind: 'observe'; readonly observe: string; readonly clampMin?: number; readonly clampMax?: number }
  | { readonly kind: 'inherit'; readonly from: string };

/**
 * An initializer input of a quantized node: the node, the input index, the per-channel axis, and whether it is
 * stored as an int8 weight, an int32 bias or a quantized constant.
 */
export interface WeightUse {
  readonly node: string;
  readonly input: number;
  /** Channel axis of per-channel scales, undefined for per-tensor. */
  readonly axis: number | undefined;
  readonly role: 'weight' | 'bias' | 'constant';
}

/**
 * The plan of a static quantization, made by {@link planQuantization} before calibration: the nodes that become
 * integer kernels, the activations folded, the tensors that get Q/DQ and where their ranges come from, the weights
 * to quantize, and the nodes left in float with the reason.
 */
export interface QuantPlan {
  /** Names of the nodes that run as integer kernels, in graph order. */
  readonly nodes: readonly string[];
  /** Kinds of those nodes by name. */
  readonly kinds: ReadonlyMap<string, OpKind>;
  /** Relu/Clip nodes folded into their producer's output quantization: activation → producer. */
  readonly folded: ReadonlyMap<string, string>;
  /**
   * Activation tensors that get Q/DQ, with where their range comes from. A folded node's output is known by its
   * activation's output name (the rewrite renames it so); every name is a tensor of the float model too.
   */
  readonly tensors: ReadonlyMap<string, TensorSource>;
  /** Initializer inputs of quantized nodes and how each is stored. */
  readonly weights: readonly WeightUse[];
  /** Nodes left in float with the reason (the report's table). */
  readonly skipped: ReadonlyMap<string, string>;
}

/** A node's display name: its name, or `<opType>_<index>` for an unnamed node (names are assigned by nameNodes). */
export function nameNodes(graph: GraphProto): void {
  const seen = new Set<string>();
  graph.node.forEach((n, i) => {
    let name = n.name && !seen.has(n.name) ? n.name : `${n.opType}_${i}`;
    while (seen.has(name)) name = `${name}_`;
    seen.add(name);
    n.name = name;
  });
}

const attr = (n: NodeProto, name: string): number | undefined => {
  const a = n.attribute.find((x) => x.name === name);
  return a === undefined ? undefined : (a.f ?? (a.i === undefined ? undefined : Number(a.i)));
};

/** The scalar value of a constant initializer input, if it is one. */
function scalarInit(inits: ReadonlyMap<string, TensorProto>, name: string | undefined): number | undefined {
  const t = name ? inits.get(name) : undefined;
  if (t?.dims.reduce((a, b) => a * b, 1) !== 1) return undefined;
  return Number(tensorToTypedArray(t)[0]);
}

/** Plans the quantization of `model` (node names must be unique: call nameNodes first). */
export function planQuantization(model: ModelProto, opts: PlanOptions = {}): QuantPlan {
  const g = model.graph;
  const opset = model.opsetImport.find((o) => (o.domain ?? '') === '')?.version ?? 0;
  if (opset < 13)
    throw new CompressError(
      `quantization needs opset >= 13 (per-channel DequantizeLinear); the model has opset ${opset}`,
    );
  for (const t of opts.opTypes ?? []) {
    if (!QUANTIZABLE_OPS[t])
      throw new CompressError(
        `op type ${t} cannot be quantized: ONNX Runtime has no int8 kernel for it (quantizable: ${Object.keys(QUANTIZABLE_OPS).join(', ')})`,
      );
  }
  const names = new Set(g.node.map((n) => n.name!));
  for (const n of [...(opts.excludeNodes ?? []), ...(opts.onlyNodes ?? [])]) {
    if (!names.has(n))
      throw new CompressError(
        `node "${n}" is not in the model (nodes: ${[...names].slice(0, 12).join(', ')}${names.size > 12 ? ', …' : ''})`,
      );
  }
  const inits = new Map(g.initializer.filter((t) => t.name).map((t) => [t.name!, t]));
  const floatInit = (name: string): boolean => inits.get(name)?.dataType === 1;
  const consumers = new Map<string, NodeProto[]>();
  for (const n of g.node) for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const perChannel = opts.perChannel ?? true;
  const excludeNodes = new Set(opts.excludeNodes ?? []);
  const excludeTypes = new Set(opts.excludeOpTypes ?? []);
  const onlyTypes = opts.opTypes ? new Set(opts.opTypes) : undefined;
  const onlyNodes = opts.onlyNodes ? new Set(opts.onlyNodes) : undefined;

  const kinds = new Map<string, OpKind>();
  const skipped = new Map<string, string>();
  const weights: WeightUse[] = [];
  const tensors = new Map<string, TensorSource>();
  const folded = new Map<string, string>();

  for (const n of g.node) {
    const name = n.name!;
    const kind = (n.domain ?? '') === '' ? QUANTIZABLE_OPS[n.opType] : undefined;
    if (!kind) {
      if (!['Relu', 'Clip'].includes(n.opType)) skipped.set(name, `${n.opType} has no int8 kernel`);
      continue;
    }
    if (excludeNodes.has(name)) {
      skipped.set(name, 'excluded by name');
      continue;
    }
    if (excludeTypes.has(n.opType)) {
      skipped.set(name, 'excluded by op type');
      continue;
    }
    if (onlyTypes && !onlyTypes.has(n.opType)) {
      skipped.set(name, 'op type not selected');
      continue;
    }
    if (FOLLOWERS.has(kind)) {
      // quantized when its data input is: it then runs on int8 with the input's range
      if (!tensors.has(n.input[0]) || n.input.slice(1).some((i) => i && !inits.has(i))) continue;
      kinds.set(name, kind);
      tensors.set(n.output[0], { kind: 'inherit', from: n.input[0] });
      continue;
    }
    if (onlyNodes && !onlyNodes.has(name)) {
      skipped.set(name, 'not selected');
      continue;
    }
    const acts: number[] = [];
    if (kind === 'conv') {
      if (!floatInit(n.input[1])) {
        skipped.set(name, 'weight is not a constant');
        continue;
      }
      acts.push(0);
      weights.push({ node: name, input: 1, axis: perChannel ? 0 : undefined, role: 'weight' });
      if (n.input[2]) {
        if (!floatInit(n.input[2])) {
          skipped.set(name, 'bias is not a constant');
          continue;
        }
        weights.push({ node: name, input: 2, axis: perChannel ? 0 : undefined, role: 'bias' });
      }
    } else if (kind === 'gemm') {
      const w = inits.get(n.input[1]);
      if ((attr(n, 'alpha') ?? 1) !== 1 || (attr(n, 'beta') ?? 1) !== 1 || (attr(n, 'transA') ?? 0) !== 0) {
        skipped.set(name, 'Gemm with alpha, beta or transA');
        continue;
      }
      if (w?.dataType !== 1) {
        skipped.set(name, 'weight is not a constant');
        continue;
      }
      const transB = (attr(n, 'transB') ?? 0) === 1;
      acts.push(0);
      weights.push({ node: name, input: 1, axis: perChannel ? (transB ? 0 : 1) : undefined, role: 'weight' });
      const b = n.input[2] ? inits.get(n.input[2]) : undefined;
      if (n.input[2]) {
        if (b?.dataType !== 1 || b.dims.length !== 1) {
          skipped.set(name, 'bias is not a 1-D constant');
          continue;
        }
        weights.push({ node: name, input: 2, axis: perChannel ? 0 : undefined, role: 'bias' });
      }
    } else if (kind === 'matmul') {
      acts.push(0);
      const w = inits.get(n.input[1]);
      if (w && w.dataType === 1 && w.dims.length === 2)
        weights.push({ node: name, input: 1, axis: perChannel ? 1 : undefined, role: 'weight' });
      else if (w) {
        skipped.set(name, 'weight is not a 2-D float constant');
        continue;
      } else acts.push(1);
    } else {
      // binary, concat, unary: every input is an activation; constants are stored quantized like activations
      for (let k = 0; k < n.input.length; k++) {
        if (!n.input[k]) continue;
        if (inits.has(n.input[k])) {
          if (!floatInit(n.input[k])) break;
          weights.push({ node: name, input: k, axis: undefined, role: 'constant' });
        } else acts.push(k);
      }
      if (
        n.opType === 'AveragePool' ||
        n.opType === 'GlobalAveragePool' ||
        n.opType === 'Sigmoid' ||
        n.opType === 'LeakyRelu'
      )
        acts.splice(1);
    }
    kinds.set(name, kind);
    for (const k of acts)
      if (!tensors.has(n.input[k])) tensors.set(n.input[k], { kind: 'observe', observe: n.input[k] });
    // the output: folded with a following Relu/Clip(0, m), float for a gemm/matmul graph output, else its own range
    const out = n.output[0];
    if ((kind === 'gemm' || kind === 'matmul') && graphOutputs.has(out)) continue;
    const act = consumers.get(out)?.length === 1 && !graphOutputs.has(out) ? consumers.get(out)![0] : undefined;
    const clipLo = act?.opType === 'Clip' ? scalarInit(inits, act.input[1]) : undefined;
    const clipHi = act?.opType === 'Clip' ? scalarInit(inits, act.input[2]) : undefined;
    const foldable =
      act &&
      (act.domain ?? '') === '' &&
      !excludeNodes.has(act.name!) &&
      (act.opType === 'Relu' ||
        (act.opType === 'Clip' &&
          clipLo === 0 &&
          (act.input[2] === undefined || act.input[2] === '' || clipHi !== undefined)));
    if (foldable) {
      folded.set(act.name!, name);
      // the rewrite gives the node the activation's output name: the tensor is known by that name from here on
      tensors.set(act.output[0], {
        kind: 'observe',
        observe: act.output[0],
        clampMin: 0,
        ...(clipHi !== undefined ? { clampMax: clipHi } : {}),
      });
    } else tensors.set(out, { kind: 'observe', observe: out });
  }
  if (kinds.size === 0 || [...kinds.values()].every((k) => FOLLOWERS.has(k))) {
    const ops = [...new Set(g.node.map((n) => n.opType))].join(', ');
    throw new CompressError(
      `nothing to quantize: no node of the model (ops: ${ops}) has an int8 kernel that the options select (quantizable: ${Object.keys(
        QUANTIZABLE_OPS,
      )
        .filter((k) => !FOLLOWERS.has(QUANTIZABLE_OPS[k]))
        .join(', ')})`,
    );
  }
  return { nodes: g.node.map((n) => n.name!).filter((n) => kinds.has(n)), kinds, folded, tensors, weights, skipped };
}
