// Imports an ONNX model into a lathe graph that can be run, differentiated and fine-tuned. Float initializers
// become parameters; shape arithmetic (Shape → Gather → Concat → Reshape, as exporters write it) is folded at
// trace time into symbolic shapes.
import { readFileSync } from 'node:fs';
import { dtypeFromOnnx, isFloat } from '../graph/dtype.js';
import { ndarray, type NDArray } from '../graph/ndarray.js';
import * as op from '../graph/ops/index.js';
import { broadcastShapes, divDims, mulDims, type Dim, type Shape } from '../graph/shape.js';
import { Tensor } from '../graph/tensor.js';
import { decodeModel, denseSparseInitializers, localFunctions, tensorToTypedArray } from './decode.js';
import { inlineFunctions } from './import-functions.js';
import { nearestIndexMaps } from './import-resize.js';
import { lowerRecurrent } from './import-rnn.js';
import { declaredType, freeNames, renameCaptures, subgraphsOf } from './import-control-flow.js';
import {
  AttributeType,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';
import type { AttrValue } from '../graph/primitive.js';
import { UserError } from '../util/errors.js';

/**
 * The importer declines a model it cannot represent faithfully (an op, attribute or form it does not implement);
 * the message names the op, the node and the reason. Any other error while importing is a bug.
 */
export class UnsupportedOnnxError extends UserError {}

/** Declines the current node: see {@link UnsupportedOnnxError}. */
function refuse(reason: string): never {
  throw new UnsupportedOnnxError(reason);
}

/**
 * A small integer vector known at import time (shape arithmetic): numbers and symbolic dims (`batch`, `2*batch`).
 * `anchors` are the tensors whose shapes define its symbols, so it can become a run-time tensor when an op needs one.
 */
interface Host {
  readonly host: readonly Dim[];
  readonly scalar: boolean;
  readonly anchors?: readonly Tensor[];
}

/** A value during import: a traced tensor, or a host-known integer vector. */
type Value = Tensor | Host;

/** The anchors of several host values, without repeats. */
const anchorsOf = (vs: readonly (Value | undefined)[]): Tensor[] => [
  ...new Set(vs.flatMap((v) => (v && !(v instanceof Tensor) ? (v.anchors ?? []) : []))),
];

/**
 * An ONNX model read by {@link importOnnx}: its declared inputs and outputs, its initializers split into trainable
 * floats and constants, and `apply`, which rebuilds the graph from lathe ops so it can be traced and differentiated.
 */
export interface ImportedGraph {
  /** The graph's name. */
  readonly name: string;
  /** The graph inputs that are not initializers, with dtype and (possibly symbolic) shape. */
  readonly inputs: readonly { readonly name: string; readonly dtype: Tensor['dtype']; readonly shape: Shape }[];
  /** Graph output names, in declaration order. */
  readonly outputs: readonly string[];
  /** Float initializers (trainable when fine-tuning). */
  readonly params: Readonly<Record<string, NDArray>>;
  /** Other initializers (integer tables, shapes), baked in as constants. */
  readonly constants: Readonly<Record<string, NDArray>>;
  /** The model's metadata_props (key → value), as the file has them. */
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * Rebuilds the graph over traced inputs and parameters; returns the outputs by name. `transform`, when given, sees
   * every graph input and every tensor a top-level node computes, by its ONNX name, and what it returns is what the
   * rest of the graph reads (fake quantization in quantization-aware training wraps activations this way).
   */
  apply(
    inputs: Readonly<Record<string, Tensor>>,
    params: Readonly<Record<string, Tensor>>,
    transform?: (name: string, value: Tensor) => Tensor,
  ): Record<string, Tensor>;
}

function attrs(n: NodeProto): Map<string, AttributeProto> {
  return new Map(n.attribute.map((a) => [a.name, a]));
}
const intAttr = (m: Map<string, AttributeProto>, k: string, d: number): number => {
  const v = m.get(k);
  return v === undefined ? d : Number(v.i);
};
const floatAttr = (m: Map<string, AttributeProto>, k: string, d: number): number => {
  const v = m.get(k);
  return v === undefined ? d : Number(v.f);
};
const intsAttr = (m: Map<string, AttributeProto>, k: string): number[] | undefined => {
  const v = m.get(k);
  return v === undefined ? undefined : (v.ints ?? []).map(Number);
};
/** An ints attribute the op cannot do without. */
const requiredIntsAttr = (m: Map<string, AttributeProto>, k: string): number[] => {
  const v = intsAttr(m, k);
  if (v === undefined) throw new Error(`attribute '${k}' is missing`);
  return v;
};
const strAttr = (m: Map<string, AttributeProto>, k: string, d: string): string => {
  const v = m.get(k);
  return v === undefined ? d : new TextDecoder().decode(v.s);
};

function tensorProtoToNDArray(t: TensorProto): NDArray {
  const dtype = dtypeFromOnnx(t.dataType);
  return ndarray(dtype, t.dims.map(Number), tensorToTypedArray(t) as NDArray['data']);
}

/** Reads an .onnx file (or bytes) into an importable graph. */
export function importOnnx(source: string | Uint8Array | ModelProto): ImportedGraph {
  const model: ModelProto =
    typeof source === 'string'
      ? decodeModel(readFileSync(source))
      : source instanceof Uint8Array
        ? decodeModel(source)
        : source;
  const g = model.graph;
  /** The default-domain opset the model declares (version-specific attribute forms and semantics follow it). */
  const opset = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 21;
  // model-local functions are expanded into their nodes (a call of an undefined function is refused below as an
  // unknown op or domain)
  const functions = localFunctions(model);
  const graphNodes = functions.length > 0 ? inlineFunctions(g.node, functions) : g.node;
  for (const n of graphNodes) checkSupported(n);
  const inits = new Map(
    [...g.initializer, ...denseSparseInitializers(g)].map((t) => [t.name ?? '', tensorProtoToNDArray(t)]),
  );
  const params: Record<string, NDArray> = {};
  const constants: Record<string, NDArray> = {};
  for (const [k, v] of inits) (isFloat(v.dtype) && v.shape.length > 0 ? params : constants)[k] = v;
  const inputs = g.input
    .filter((vi) => !inits.has(vi.name))
    .map((vi) => {
      const tt = vi.type?.tensorType;
      if (!tt)
        throw new UnsupportedOnnxError(
          `importOnnx: input ${vi.name} is not a tensor (sequences, maps and optionals are not representable)`,
        );
      const shape = (tt.shape?.dim ?? []).map(
        (d, i): Dim =>
          'dimValue' in d && d.dimValue !== undefined
            ? Number(d.dimValue)
            : 'dimParam' in d && d.dimParam
              ? d.dimParam
              : `${vi.name}_d${i}`,
      );
      return { name: vi.name, dtype: dtypeFromOnnx(tt.elemType), shape };
    });
  const outputs = g.output.map((o) => o.name);
  return {
    name: g.name ?? 'imported',
    inputs,
    outputs,
    params,
    constants,
    metadata: Object.fromEntries((model.metadataProps ?? []).map((e) => [e.key ?? '', e.value ?? ''])),
    apply(feeds, ps, transform) {
      const env = new Map<string, Value>();
      for (const i of inputs) {
        const t = feeds[i.name];
        if (!t) throw new Error(`importOnnx: missing input ${i.name}`);
        env.set(i.name, transform ? transform(i.name, t) : t);
      }
      for (const [k, v] of Object.entries(constants)) env.set(k, hostOrConst(v));
      for (const k of Object.keys(params)) {
        const t = ps[k];
        if (!t) throw new Error(`importOnnx: missing parameter ${k}`);
        env.set(k, t);
      }
      runNodes(graphNodes, env, opset, transform);
      return Object.fromEntries(outputs.map((o) => [o, asTensor(env.get(o), o)]));
    },
  };
}

/**
 * Lowers `nodes` in order, reading and extending `env` (the graph's scope, or a body's over its enclosing one);
 * `transform` sees each computed tensor by name (see {@link ImportedGraph.apply}).
 */
function runNodes(
  nodes: readonly NodeProto[],
  env: Map<string, Value>,
  opset: number,
  transform?: (name: string, value: Tensor) => Tensor,
): void {
  for (const n of nodes) {
    let outs: Value[];
    try {
      const ins = n.input.map((name) => {
        if (name === '') return undefined; // an optional input left out
        const v = env.get(name);
        if (v === undefined)
          throw new Error(`input '${name}' is not a graph input, an initializer or an output of an earlier node`);
        return v;
      });
      outs = CONTROL_FLOW.has(n.opType) ? lowerControlFlow(n, env, ins, opset) : lowerNode(n, ins, opset);
    } catch (err) {
      const message = `importOnnx: node ${n.name ?? ''} (${n.opType}): ${(err as Error).message}`;
      throw err instanceof UnsupportedOnnxError ? new UnsupportedOnnxError(message) : new Error(message);
    }
    n.output.forEach((name, i) => {
      const v = outs[i];
      if (v !== undefined) env.set(name, transform && v instanceof Tensor ? transform(name, v) : v);
      else if (name !== '')
        throw new UnsupportedOnnxError(
          `importOnnx: node ${n.name ?? ''} (${n.opType}): optional output ${i} ('${name}') is not produced by the importer`,
        );
    });
  }
}

const CONTROL_FLOW: ReadonlySet<string> = new Set(['If', 'Loop', 'Scan']);

/**
 * Ops whose inputs or attributes changed form at the given opset: a body that ORT runs as it is (re-emitted at opset
 * 21) may not use them in a model of an older opset.
 */
const FORM_CHANGED_AT: Readonly<Record<string, number>> = {
  Slice: 10,
  TopK: 10,
  Pad: 11,
  Clip: 11,
  Resize: 11,
  Dropout: 12,
  BatchNormalization: 14,
  Upsample: Number.POSITIVE_INFINITY,
  Scatter: Number.POSITIVE_INFINITY,
};

/** Ops whose attribute (axes, or Split's split) became input 1 at the given opset. */
const ATTRIBUTE_TO_INPUT: Readonly<Record<string, readonly [number, string]>> = {
  Squeeze: [13, 'axes'],
  Unsqueeze: [13, 'axes'],
  ReduceSum: [13, 'axes'],
  Split: [13, 'split'],
  ReduceMean: [18, 'axes'],
  ReduceMax: [18, 'axes'],
  ReduceMin: [18, 'axes'],
  ReduceProd: [18, 'axes'],
  ReduceL1: [18, 'axes'],
  ReduceL2: [18, 'axes'],
  ReduceLogSum: [18, 'axes'],
  ReduceLogSumExp: [18, 'axes'],
  ReduceSumSquare: [18, 'axes'],
};

/**
 * A body with the attribute forms of older opsets rewritten as opset 21 has them (Unsqueeze-11's `axes` attribute
 * becomes a Constant fed to input 1, and the like), nested bodies too: ORT runs the body re-emitted at opset 21.
 */
function upgradeBody(g: GraphProto, opset: number): GraphProto {
  const node: NodeProto[] = [];
  for (const n of g.node) {
    const attribute = n.attribute.map((at) =>
      at.g
        ? { ...at, g: upgradeBody(at.g, opset) }
        : at.graphs
          ? { ...at, graphs: at.graphs.map((b) => upgradeBody(b, opset)) }
          : at,
    );
    const change = ATTRIBUTE_TO_INPUT[n.opType];
    const moved = change && opset < change[0] ? attribute.find((at) => at.name === change[1]) : undefined;
    if (!moved) {
      node.push({ ...n, attribute });
      continue;
    }
    const name = `${n.output[0]}__${change[1]}`;
    node.push({
      opType: 'Constant',
      name: `${n.name ?? ''}__${change[1]}`,
      input: [],
      output: [name],
      attribute: [{ name: 'value_ints', type: AttributeType.INTS, ints: moved.ints ?? [] }],
    });
    node.push({
      ...n,
      input: [n.input[0] ?? '', name, ...n.input.slice(2)],
      attribute: attribute.filter((at) => at !== moved),
    });
  }
  return { ...g, node };
}

/** Refuses a body node (at any depth) whose op means something else at opset 21 than at the model's opset. */
function checkBodyForms(bodies: readonly GraphProto[], opset: number): void {
  for (const b of bodies)
    for (const n of b.node) {
      const since = Math.max(FORM_CHANGED_AT[n.opType] ?? 0, PASSTHROUGH_SINCE[n.opType] ?? 0);
      if (opset < since)
        refuse(
          `its body uses ${n.opType} (node ${n.name ?? ''}) of opset ${opset}, whose form differs at opset 21, where ORT runs the body`,
        );
      checkBodyForms(subgraphsOf(n), opset);
    }
}

/**
 * If, Loop and Scan. An If whose condition is known at import time is inlined: its branch is lowered like the rest
 * of the graph and differentiates. Otherwise the node is emitted as it is, its bodies reading the outer values they
 * capture, and ORT runs it (forward only: differentiating it throws, naming the op and node).
 */
function lowerControlFlow(
  n: NodeProto,
  env: ReadonlyMap<string, Value>,
  ins: (Value | undefined)[],
  opset: number,
): Value[] {
  const a = attrs(n);
  const graphAttr = (k: string): GraphProto => {
    const g = a.get(k)?.g;
    if (!g) throw new Error(`attribute '${k}' (a graph) is missing`);
    return g;
  };
  if (n.opType === 'If') {
    const cond = ins[0] === undefined ? undefined : scalarOf(ins[0]);
    if (cond !== undefined) {
      const body = graphAttr(cond !== 0 ? 'then_branch' : 'else_branch');
      const scope = new Map(env);
      for (const t of body.initializer) scope.set(t.name ?? '', hostOrConst(tensorProtoToNDArray(t)));
      runNodes(body.node, scope, opset);
      return body.output.map((o) => {
        const v = scope.get(o.name);
        if (v === undefined) throw new Error(`branch output '${o.name}' is not defined`);
        return v;
      });
    }
  }
  if (n.opType === 'Scan' && opset < 9) refuse('Scan-8 (a batch axis and sequence_lens) is not imported (opset 9+ is)');
  if (n.attribute.some((at) => at.graphs)) refuse('GRAPHS attributes are not supported');
  const upgraded = new Map(
    n.attribute.filter((at) => at.g).map((at) => [at.name, upgradeBody(at.g as GraphProto, opset)]),
  );
  const bodies = [...upgraded.values()];
  checkBodyForms(bodies, opset);
  const free = [...new Set(bodies.flatMap(freeNames))];
  const captured = free.map((name) => {
    const v = env.get(name);
    if (v === undefined) throw new Error(`a body reads '${name}', which no enclosing scope defines`);
    return asTensor(v, name);
  });
  const own = ins.map((v, i) => (v === undefined ? undefined : asTensor(v, `input ${i}`)));
  const plain = emitAttrs({ ...n, attribute: n.attribute.filter((at) => !at.g) });
  return op.controlFlowOnnx(
    n.opType,
    n.name ?? '',
    own,
    captured,
    (names) => {
      const rename = new Map(free.map((f, i) => [f, names[i]]));
      const out: Record<string, AttrValue> = { ...plain };
      for (const [k, body] of upgraded) out[k] = { onnxGraph: renameCaptures(body, rename) };
      return out;
    },
    controlFlowOutputs(n, a, own, graphAttr, (body, types) => traceBodyTypes(body, types, env, opset)),
  );
}

/**
 * The dtypes and ranks of a body's outputs, found by lowering it over placeholders of the given input types (the
 * traced ops are discarded); undefined when the body cannot be lowered.
 */
function traceBodyTypes(
  body: GraphProto,
  inputTypes: readonly OutSpec[],
  env: ReadonlyMap<string, Value>,
  opset: number,
): (OutSpec | undefined)[] | undefined {
  try {
    const scope = new Map(env);
    body.input.forEach((v, i) => {
      const t = inputTypes[i];
      if (t) scope.set(v.name, op.placeholder(`__body_${v.name}`, t.dtype, t.shape));
    });
    for (const t of body.initializer) scope.set(t.name ?? '', hostOrConst(tensorProtoToNDArray(t)));
    runNodes(body.node, scope, opset);
    return body.output.map((o) => {
      const v = scope.get(o.name);
      if (v === undefined) return undefined;
      const t = asTensor(v, o.name);
      return { dtype: t.dtype, shape: [...t.shape] };
    });
  } catch {
    return undefined;
  }
}

/** Output types of an If, Loop or Scan run by ORT: what its bodies declare (undeclared dims fresh symbols). */
function controlFlowOutputs(
  n: NodeProto,
  a: Map<string, AttributeProto>,
  own: readonly (Tensor | undefined)[],
  graphAttr: (k: string) => GraphProto,
  trace: (body: GraphProto, inputTypes: readonly OutSpec[]) => (OutSpec | undefined)[] | undefined,
): OutSpec[] {
  let traced: (OutSpec | undefined)[] | undefined;
  const typeOf = (v: ValueInfoProto | undefined, k: number, like?: Tensor, bodyOut?: number): OutSpec => {
    const base = n.output[k] ?? `${n.name}_${k}`;
    const t = v ? declaredType(v, base, like?.rank) : undefined;
    if (t) return t;
    if (like) return { dtype: like.dtype, shape: freshDims(n, k, like.rank) };
    // undeclared: the dtype and rank the body computes over its input types
    const found = bodyOut === undefined ? undefined : traced?.[bodyOut];
    if (found) return { dtype: found.dtype, shape: freshDims(n, k, found.shape.length) };
    return refuse(`the type of output ${k} is neither declared by its body nor found by lowering it`);
  };
  const scanned = (t: OutSpec, k: number): OutSpec => ({ dtype: t.dtype, shape: [...freshDims(n, k, 1), ...t.shape] });
  if (n.opType === 'If') {
    const [th, el] = [graphAttr('then_branch'), graphAttr('else_branch')];
    traced = trace(th, []);
    return th.output.map((o, k) => {
      const t = typeOf(o, k, undefined, k);
      const e = el.output[k] ? declaredType(el.output[k], n.output[k] ?? '') : undefined;
      if (!e || e.shape.length !== t.shape.length) return t;
      // where the branches declare different dims, the output's dim is known only at run time
      return {
        dtype: t.dtype,
        shape: t.shape.map((d, i) => (d === e.shape[i] ? d : freshDims(n, k, t.shape.length)[i])),
      };
    });
  }
  const body = graphAttr('body');
  if (n.opType === 'Loop') {
    // inputs M, cond, v_initial…; body outputs cond, carried…, scanned…
    const carried = own.length - 2;
    const like = (t: Tensor | undefined) => (t ? { dtype: t.dtype, shape: [...t.shape] } : undefined);
    traced = trace(body, [
      { dtype: 'int64', shape: [] },
      { dtype: 'bool', shape: [] },
      ...own.slice(2).map((t) => like(t) as OutSpec),
    ]);
    return body.output
      .slice(1)
      .map((o, k) => (k < carried ? typeOf(o, k, own[2 + k], k + 1) : scanned(typeOf(o, k, undefined, k + 1), k)));
  }
  // Scan (opset 9+): inputs: states…, scanned inputs…; body outputs: states…, scanned outputs…
  const states = own.length - intAttr(a, 'num_scan_inputs', 0);
  traced = trace(
    body,
    own.map((t, i) => ({
      dtype: (t as Tensor).dtype,
      shape: i < states ? [...(t as Tensor).shape] : (t as Tensor).shape.slice(1),
    })),
  );
  return body.output.map((o, k) => (k < states ? typeOf(o, k, own[k], k) : scanned(typeOf(o, k, undefined, k), k)));
}

/**
 * Slice-10+ of a host vector by host starts/ends (axes 0, steps any), kept on the host with ONNX's clamping;
 * undefined when any of them is not a host-known number.
 */
function sliceHost(ins: readonly (Value | undefined)[]): Host | undefined {
  const [x, ...rest] = ins;
  if (!x || x instanceof Tensor || rest.some((v) => v instanceof Tensor)) return undefined;
  const num = (v: Value | undefined, d: number): number | undefined => {
    if (v === undefined) return d;
    const h = (v as Host).host;
    return h.length === 1 && typeof h[0] === 'number' ? h[0] : undefined;
  };
  const [start, end, axis, step] = [num(rest[0], 0), num(rest[1], 0), num(rest[2], 0), num(rest[3], 1)];
  if (start === undefined || end === undefined || axis === undefined || step === undefined) return undefined;
  if ((axis !== 0 && axis !== -1) || step === 0 || rest[0] === undefined || rest[1] === undefined) return undefined;
  const len = x.host.length;
  const norm = (v: number) => (v < 0 ? v + len : v);
  const picked: Dim[] = [];
  if (step > 0) {
    const e = Math.min(Math.max(norm(end), 0), len);
    for (let i = Math.min(Math.max(norm(start), 0), len); i < e; i += step) picked.push(x.host[i]);
  } else {
    const e = Math.min(Math.max(norm(end), -1), len - 1);
    for (let i = Math.min(Math.max(norm(start), 0), len - 1); i > e; i += step) picked.push(x.host[i]);
  }
  return { host: picked, scalar: false, anchors: x.anchors };
}

/**
 * Add/Sub/Mul/Div of two host integer vectors (broadcast), kept on the host: numbers exactly (Div truncates, as
 * integer Div does), symbolic dims as products and exact quotients. Undefined when a result is not expressible
 * (a sum with a symbol, an inexact quotient): the caller computes it as a tensor.
 */
function hostArithmetic(opType: string, x: Host, y: Host): Host | undefined {
  const f = (p: Dim, q: Dim): Dim | undefined => {
    if (typeof p === 'number' && typeof q === 'number') {
      if (opType === 'Add') return p + q;
      if (opType === 'Sub') return p - q;
      if (opType === 'Mul') return p * q;
      return q === 0 ? undefined : Math.trunc(p / q);
    }
    if ((opType === 'Add' || opType === 'Sub') && q === 0) return p;
    if (opType === 'Add' && p === 0) return q;
    const positive = (d: Dim) => typeof d === 'string' || (d > 0 && Number.isInteger(d));
    if (!positive(p) || !positive(q)) return undefined; // symbolic products hold positive factors only
    if (opType === 'Mul') return mulDims(p, q);
    if (opType === 'Div') return divDims(p, q);
    return undefined;
  };
  const len = Math.max(x.host.length, y.host.length);
  const host: Dim[] = [];
  for (let i = 0; i < len; i++) {
    const d = f(x.host[x.host.length === 1 ? 0 : i], y.host[y.host.length === 1 ? 0 : i]);
    if (d === undefined) return undefined;
    host.push(d);
  }
  return { host, scalar: x.scalar && y.scalar, anchors: anchorsOf([x, y]) };
}

function hostOrConst(v: NDArray): Value {
  if (
    (v.dtype === 'int64' || v.dtype === 'int32') &&
    v.shape.length <= 1 &&
    (v.data as ArrayLike<unknown>).length <= 16
  ) {
    return { host: Array.from(v.data as ArrayLike<number | bigint>, Number), scalar: v.shape.length === 0 };
  }
  return op.constant(v);
}

function asTensor(v: Value | undefined, what: string): Tensor {
  if (v === undefined) throw new Error(`value ${what} is not defined`);
  if (v instanceof Tensor) return v;
  if (v.host.some((d) => typeof d !== 'number')) {
    if (!v.anchors || v.anchors.length === 0)
      refuse(`symbolic shape value ${JSON.stringify(v.host)} used as a tensor, with no tensor its symbols come from`);
    return op.runtimeDims(v.anchors, v.host, v.scalar);
  }
  return op.constant(ndarray('int64', v.scalar ? [] : [v.host.length], v.host as number[]));
}

/** The single number held by a constant (a host integer or a constant tensor of one element), else undefined. */
function scalarOf(v: Value): number | undefined {
  if (!(v instanceof Tensor)) return v.host.length === 1 && typeof v.host[0] === 'number' ? v.host[0] : undefined;
  if (v.node.prim.name !== 'constant') return undefined;
  const data = (v.node.attrs as { value: NDArray }).value.data as ArrayLike<number | bigint>;
  return data.length === 1 ? Number(data[0]) : undefined;
}

function hostInts(v: Value | undefined, what: string): Dim[] {
  if (v === undefined) throw new Error(`${what} is missing`);
  if (v instanceof Tensor) refuse(`${what} must be a constant known at import time`);
  return [...v.host];
}

/** Strides, dilations and explicit [top, left, bottom, right] pads of a 1-D or 2-D conv/pool node (1-D as 1×k). */
interface Spatial {
  readonly oneD: boolean;
  /** The attributes as ONNX has them (any rank), auto_pad resolved; for N-D ops. */
  readonly nd: op.WindowNdAttrs;
  readonly kernel: [number, number];
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly pads: [number, number, number, number];
}

/**
 * Reads kernel-window attributes with ONNX's defaults (strides and dilations 1, pads 0), resolving auto_pad
 * (SAME_UPPER, SAME_LOWER, VALID) into explicit pads from the static input size. 3-D and larger are refused.
 */
function spatialAttrs(a: Map<string, AttributeProto>, x: Tensor, kernel: readonly number[], what: string): Spatial {
  const d = kernel.length;
  if (d < 1 || d > 3) refuse(`${d}-D ${what} is not supported (1-D, 2-D and 3-D are)`);
  if (x.rank !== d + 2) throw new Error(`input has rank ${x.rank}, a ${d}-D kernel needs ${d + 2}`);
  const strides = intsAttr(a, 'strides') ?? new Array<number>(d).fill(1);
  const dilations = intsAttr(a, 'dilations') ?? new Array<number>(d).fill(1);
  let pads = intsAttr(a, 'pads') ?? new Array<number>(2 * d).fill(0);
  const autoPad = strAttr(a, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = new Array<number>(2 * d).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const sizes = x.shape.slice(2);
    if (sizes.some((v) => typeof v !== 'number'))
      refuse(`auto_pad=${autoPad} needs static spatial dims, got [${x.shape.join(', ')}]`);
    pads = new Array<number>(2 * d).fill(0);
    sizes.forEach((v, i) => {
      const inp = v as number;
      const out = Math.ceil(inp / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - inp);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + d] = total - pads[i];
    });
  } else if (autoPad !== 'NOTSET') throw new Error(`auto_pad '${autoPad}' is not an ONNX value`);
  const nd = { kernel: [...kernel], strides, dilations, pads, ceilMode: intAttr(a, 'ceil_mode', 0) === 1 };
  if (d === 3) return { oneD: false, nd, kernel: [0, 0], strides: [0, 0], dilations: [0, 0], pads: [0, 0, 0, 0] };
  if (d === 1)
    return {
      nd,
      oneD: true,
      kernel: [1, kernel[0]],
      strides: [1, strides[0]],
      dilations: [1, dilations[0]],
      pads: [0, pads[0], 0, pads[1]],
    };
  return {
    nd,
    oneD: false,
    kernel: [kernel[0], kernel[1]],
    strides: [strides[0], strides[1]],
    dilations: [dilations[0], dilations[1]],
    pads: [pads[0], pads[1], pads[2], pads[3]],
  };
}

/**
 * ONNX NegativeLogLikelihoodLoss over log-probabilities [N, C, d…] and targets [N, d…]: −w[t]·x[n, t, d…], with
 * ignore_index masked out; reduction none, sum, or mean (divided by the summed weights of the kept targets).
 */
function nllLoss(a: Map<string, AttributeProto>, x: Tensor, target: Tensor, weight: Tensor | undefined): Tensor {
  const t = op.cast(target, 'int64');
  let keep: Tensor | undefined;
  let safe = t;
  if (a.has('ignore_index')) {
    keep = op.notEqual(t, op.scalar(intAttr(a, 'ignore_index', 0), 'int64'));
    safe = op.where(keep, t, op.scalar(0, 'int64'));
  }
  const picked = op.squeeze(op.gatherElements(x, op.unsqueeze(safe, [1]), 1), [1]);
  let w: Tensor | undefined = weight ? op.gather(weight, safe, 0) : undefined;
  if (keep) w = w ? op.mul(w, op.cast(keep, x.dtype)) : op.cast(keep, x.dtype);
  const loss = op.neg(w ? op.mul(picked, w) : picked);
  const reduction = strAttr(a, 'reduction', 'mean');
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return op.sum(loss);
  if (reduction !== 'mean') throw new Error(`reduction '${reduction}' is not an ONNX value`);
  return w ? op.div(op.sum(loss), op.sum(w)) : op.mean(loss);
}

/** The node's attributes as the emitter takes them (for data-dependent ops emitted as they are). */
function emitAttrs(n: NodeProto): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const at of n.attribute) {
    if (at.type === AttributeType.INT) out[at.name] = Number(at.i ?? 0);
    else if (at.type === AttributeType.FLOAT) out[at.name] = { float: at.f ?? 0 };
    else if (at.type === AttributeType.STRING) out[at.name] = new TextDecoder().decode(at.s);
    else if (at.type === AttributeType.INTS) out[at.name] = (at.ints ?? []).map(Number);
    else if (at.type === AttributeType.FLOATS) out[at.name] = { floats: at.floats ?? [] };
    else if (at.type === AttributeType.TENSOR && at.t) out[at.name] = { tensor: tensorProtoToNDArray(at.t) };
    else refuse(`attribute '${at.name}' of type ${at.type} cannot be emitted for a data-dependent op`);
  }
  return out;
}

/** `rank` fresh symbolic dims for output `k` of a node (resolved by the emitter from the value's runtime shape). */
function freshDims(n: NodeProto, k: number, rank: number): Dim[] {
  const base = `dyn_${(n.output[k] ?? `${n.name}_${k}`).replace(/\W/g, '_')}`;
  return Array.from({ length: rank }, (_, i) => `${base}_${i}`);
}

/** Length of a 1-D tensor input holding a shape, axes or repeats (static), or a refusal. */
function lengthOf(t: Tensor, what: string): number {
  const len = t.rank === 0 ? 1 : t.shape[0];
  if (typeof len !== 'number' || t.rank > 1) refuse(`${what} is a tensor of unknown length ${JSON.stringify(t.shape)}`);
  return len;
}

const REDUCE_OPS = new Set([
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceSumSquare',
  'ReduceLogSum',
  'ReduceLogSumExp',
]);

/**
 * Ops whose shape inputs are tensors computed at run time (not constants folded at import): emitted as the ONNX node
 * itself with fresh symbolic output dims. Undefined when every shape input is known at import time.
 */
function lowerDataDependent(
  n: NodeProto,
  a: Map<string, AttributeProto>,
  ins: (Value | undefined)[],
): Value[] | undefined {
  const isT = (i: number) =>
    ins[i] instanceof Tensor && !(i > 0 && scalarOf(ins[i] as Tensor) !== undefined && n.opType === 'Trilu');
  const shapeIns =
    (
      {
        Reshape: [1],
        Expand: [1],
        ConstantOfShape: [0],
        Tile: [1],
        Slice: [1, 2, 3, 4],
        Unsqueeze: [1],
        Squeeze: [1],
        CumSum: [1],
        Pad: [1, 3],
        Split: [1],
        Trilu: [1],
        Range: [0, 1, 2],
        TopK: [1],
        NonZero: [0],
      } as Record<string, number[]>
    )[n.opType] ?? (REDUCE_OPS.has(n.opType) ? [1] : []);
  const dynamic = n.opType === 'Range' || n.opType === 'NonZero' || shapeIns.some((i) => isT(i));
  if (!dynamic) return undefined;
  if (n.input.slice(0, -1).some((name, i) => name === '' && n.input.slice(i + 1).some((m) => m !== '')))
    refuse('an omitted middle input with shape inputs known only at run time');
  const xs = ins.filter((v) => v !== undefined).map((v, i) => asTensor(v, `input ${i}`));
  const x = xs[0];
  const at = emitAttrs(n);
  const len = (i: number) => lengthOf(asTensor(ins[i], `input ${i}`), `input ${i}`);
  const same = (t: Tensor) => [{ dtype: t.dtype, shape: freshDims(n, 0, t.rank) }];
  let outs: { dtype: Tensor['dtype']; shape: Dim[] }[];
  let grad: op.DynamicGrad = 'none';
  switch (n.opType) {
    case 'Reshape':
      outs = [{ dtype: x.dtype, shape: freshDims(n, 0, len(1)) }];
      grad = 'reshape';
      break;
    case 'Expand':
      outs = [{ dtype: x.dtype, shape: freshDims(n, 0, Math.max(x.rank, len(1))) }];
      break;
    case 'ConstantOfShape': {
      const t = a.get('value')?.t;
      outs = [{ dtype: t ? dtypeFromOnnx(t.dataType) : 'float32', shape: freshDims(n, 0, len(0)) }];
      break;
    }
    case 'Unsqueeze':
      outs = [{ dtype: x.dtype, shape: freshDims(n, 0, x.rank + len(1)) }];
      break;
    case 'Squeeze':
      outs = [{ dtype: x.dtype, shape: freshDims(n, 0, x.rank - len(1)) }];
      break;
    case 'Tile':
    case 'Slice':
    case 'Pad':
      outs = same(x);
      break;
    case 'CumSum':
      outs = [{ dtype: x.dtype, shape: [...x.shape] }];
      break;
    case 'Trilu':
      outs = [{ dtype: x.dtype, shape: [...x.shape] }];
      grad = 'same-op';
      break;
    case 'Split':
      outs = n.output.map((_, k) => ({ dtype: x.dtype, shape: freshDims(n, k, x.rank) }));
      break;
    case 'Range':
      outs = [{ dtype: x.dtype, shape: freshDims(n, 0, 1) }];
      break;
    case 'NonZero':
      outs = [{ dtype: 'int64', shape: [x.rank, ...freshDims(n, 0, 1)] }];
      break;
    case 'TopK':
      outs = [
        { dtype: x.dtype, shape: freshDims(n, 0, x.rank) },
        { dtype: 'int64', shape: freshDims(n, 1, x.rank) },
      ];
      break;
    default: {
      // the reductions: keepdims keeps the rank
      const keep = intAttr(a, 'keepdims', 1) === 1;
      outs = [{ dtype: x.dtype, shape: freshDims(n, 0, keep ? x.rank : x.rank - len(1)) }];
    }
  }
  return op.dynamicOnnx(n.opType, xs, at, outs, grad);
}

type OutSpec = { dtype: Tensor['dtype']; shape: Dim[] };

/** Input `i` of a pass-through op, which its ONNX definition requires. */
function at(xs: readonly (Tensor | undefined)[], i: number): Tensor {
  const t = xs[i];
  if (t === undefined) throw new Error(`input ${i} is missing`);
  return t;
}

/**
 * ONNX ops lathe has no primitive for, run by ORT as they are (emitted unchanged) with the output dtypes and ranks
 * given here (unknown dims fresh symbols). Forward only, except the inverse trigonometric ops ('unary' gradients):
 * differentiating through the others throws.
 */
const PASSTHROUGH: Readonly<
  Record<string, (n: NodeProto, a: Map<string, AttributeProto>, xs: readonly (Tensor | undefined)[]) => OutSpec[]>
> = (() => {
  const sameShape = (
    _n: NodeProto,
    _a: Map<string, AttributeProto>,
    xs: readonly (Tensor | undefined)[],
  ): OutSpec[] => [{ dtype: at(xs, 0).dtype, shape: [...at(xs, 0).shape] }];
  const boolSame = (_n: NodeProto, _a: Map<string, AttributeProto>, xs: readonly (Tensor | undefined)[]): OutSpec[] => [
    { dtype: 'bool', shape: [...at(xs, 0).shape] },
  ];
  const freshRank =
    (
      dtype: (xs: readonly (Tensor | undefined)[]) => Tensor['dtype'],
      rank: (xs: readonly (Tensor | undefined)[], a: Map<string, AttributeProto>) => number,
    ) =>
    (n: NodeProto, a: Map<string, AttributeProto>, xs: readonly (Tensor | undefined)[]): OutSpec[] => [
      { dtype: dtype(xs), shape: freshDims(n, 0, rank(xs, a)) },
    ];
  const first = (xs: readonly (Tensor | undefined)[]) => at(xs, 0).dtype;
  const rankOf = (i: number) => (xs: readonly (Tensor | undefined)[]) => at(xs, i).rank;
  const table: Record<
    string,
    (n: NodeProto, a: Map<string, AttributeProto>, xs: readonly (Tensor | undefined)[]) => OutSpec[]
  > = {
    Acos: sameShape,
    Acosh: sameShape,
    Asin: sameShape,
    Asinh: sameShape,
    Atan: sameShape,
    Atanh: sameShape,
    IsInf: boolSame,
    IsNaN: boolSame,
    LRN: sameShape,
    MeanVarianceNormalization: sameShape,
    ReverseSequence: sameShape,
    Hardmax: sameShape,
    ScatterElements: sameShape,
    ScatterND: sameShape,
    BitShift: (_n, _a, xs) => [
      { dtype: at(xs, 0).dtype, shape: broadcastShapes('BitShift', at(xs, 0).shape, at(xs, 1).shape) },
    ],
    EyeLike: (_n, a, xs) => [
      { dtype: a.has('dtype') ? dtypeFromOnnx(intAttr(a, 'dtype', 1)) : at(xs, 0).dtype, shape: [...at(xs, 0).shape] },
    ],
    Det: (_n, _a, xs) => [{ dtype: at(xs, 0).dtype, shape: at(xs, 0).shape.slice(0, -2) }],
    OneHot: (n, _a, xs) => [{ dtype: at(xs, 2).dtype, shape: freshDims(n, 0, at(xs, 0).rank + 1) }],
    Compress: freshRank(first, (xs, a) => (a.has('axis') ? at(xs, 0).rank : 1)),
    GatherND: (n, a, xs) => {
      const last = at(xs, 1).shape[at(xs, 1).rank - 1];
      if (typeof last !== 'number') refuse('GatherND needs a static last dim of indices');
      return [
        {
          dtype: at(xs, 0).dtype,
          shape: freshDims(n, 0, at(xs, 1).rank - 1 + at(xs, 0).rank - last - intAttr(a, 'batch_dims', 0)),
        },
      ];
    },
    QuantizeLinear: (_n, _a, xs) => [{ dtype: xs[2]?.dtype ?? 'uint8', shape: [...at(xs, 0).shape] }],
    DequantizeLinear: (_n, _a, xs) => [{ dtype: at(xs, 1).dtype, shape: [...at(xs, 0).shape] }],
    DynamicQuantizeLinear: (_n, _a, xs) => [
      { dtype: 'uint8', shape: [...at(xs, 0).shape] },
      { dtype: 'float32', shape: [] },
      { dtype: 'uint8', shape: [] },
    ],
    NonMaxSuppression: (n) => [{ dtype: 'int64', shape: [...freshDims(n, 0, 1), 3] }],
    Unique: (n, a, xs) => [
      { dtype: at(xs, 0).dtype, shape: freshDims(n, 0, a.has('axis') ? at(xs, 0).rank : 1) },
      { dtype: 'int64', shape: freshDims(n, 1, 1) },
      { dtype: 'int64', shape: freshDims(n, 2, 1) },
      { dtype: 'int64', shape: freshDims(n, 3, 1) },
    ],
    TfIdfVectorizer: freshRank(() => 'float32', rankOf(0)),
    HannWindow: freshRank(
      (_) => 'float32',
      () => 1,
    ),
    HammingWindow: freshRank(
      (_) => 'float32',
      () => 1,
    ),
    BlackmanWindow: freshRank(
      (_) => 'float32',
      () => 1,
    ),
    MelWeightMatrix: freshRank(
      () => 'float32',
      () => 2,
    ),
    GridSample: freshRank(first, rankOf(0)),
    Resize: freshRank(first, rankOf(0)),
    MaxUnpool: freshRank(first, rankOf(0)),
    RoiAlign: freshRank(first, () => 4),
    ConvInteger: freshRank(() => 'int32', rankOf(0)),
    QLinearConv: freshRank((xs) => at(xs, 7).dtype, rankOf(0)),
    MatMulInteger: freshRank(
      () => 'int32',
      (xs) => Math.max(at(xs, 0).rank, at(xs, 1).rank),
    ),
    QLinearMatMul: freshRank(
      (xs) => at(xs, 7).dtype,
      (xs) => Math.max(at(xs, 0).rank, at(xs, 3).rank),
    ),
    RNN: recurrentShapes(2),
    GRU: recurrentShapes(2),
    LSTM: recurrentShapes(3),
  };
  return table;
})();

/** Y [T, dirs, B, H] and Y_h (and LSTM's Y_c) [dirs, B, H] of a layout-0 RNN/GRU/LSTM run as it is. */
function recurrentShapes(count: number) {
  return (_n: NodeProto, a: Map<string, AttributeProto>, xs: readonly (Tensor | undefined)[]): OutSpec[] => {
    const x = at(xs, 0);
    const dirs = strAttr(a, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
    const hs = intAttr(a, 'hidden_size', 0) || at(xs, 2).shape[2];
    const state = { dtype: x.dtype, shape: [dirs, x.shape[1], hs] };
    return [
      { dtype: x.dtype, shape: [x.shape[0], dirs, x.shape[1], hs] },
      ...new Array<OutSpec>(count - 1).fill(state),
    ];
  };
}

/**
 * The opset from which each pass-through op means what it means at the opset lathe emits (21): a model of an older
 * opset whose op was defined differently is refused rather than run with the newer semantics.
 */
const PASSTHROUGH_SINCE: Readonly<Record<string, number>> = {
  IsInf: 10,
  IsNaN: 9,
  MeanVarianceNormalization: 9,
  ReverseSequence: 10,
  Hardmax: 13,
  ScatterElements: 11,
  ScatterND: 11,
  BitShift: 11,
  EyeLike: 9,
  Det: 11,
  OneHot: 11,
  Compress: 11,
  GatherND: 12,
  QuantizeLinear: 13,
  DequantizeLinear: 13,
  DynamicQuantizeLinear: 11,
  NonMaxSuppression: 11,
  Unique: 11,
  TfIdfVectorizer: 9,
  HannWindow: 17,
  HammingWindow: 17,
  BlackmanWindow: 17,
  MelWeightMatrix: 17,
  GridSample: 16,
  Resize: 11,
  MaxUnpool: 11,
  RoiAlign: 16,
  ConvInteger: 10,
  QLinearConv: 10,
  MatMulInteger: 10,
  QLinearMatMul: 10,
  RNN: 7,
  GRU: 7,
  LSTM: 7,
};

/** The values of a constant input (host integers or a constant tensor), else undefined. */
function constantValues(v: Value | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof Tensor)) return v.host.every((d) => typeof d === 'number') ? (v.host as number[]) : undefined;
  if (v.node.prim.name !== 'constant') return undefined;
  return Array.from((v.node.attrs as { value: NDArray }).value.data as ArrayLike<number | bigint>, Number);
}

/**
 * Resize in nearest mode with a static input shape and constant scales or sizes, as gathers along the resized axes
 * (differentiable); undefined for every other form (run by ORT as it is).
 */
function nearestResize(a: Map<string, AttributeProto>, ins: readonly (Value | undefined)[]): Tensor | undefined {
  const x = ins[0];
  if (!(x instanceof Tensor) || strAttr(a, 'mode', 'nearest') !== 'nearest') return undefined;
  if (a.has('axes') || a.has('keep_aspect_ratio_policy')) return undefined;
  const scales = constantValues(ins[2]);
  const sizes = constantValues(ins[3]);
  const maps = nearestIndexMaps({
    input: x.shape.map((d) => (typeof d === 'number' ? d : undefined)),
    scales: scales && scales.length > 0 ? scales : undefined,
    sizes: scales && scales.length > 0 ? undefined : sizes,
    coordinateMode: strAttr(a, 'coordinate_transformation_mode', 'half_pixel'),
    nearestMode: strAttr(a, 'nearest_mode', 'round_prefer_floor'),
  });
  if (!maps || (!(scales && scales.length > 0) && !sizes)) return undefined;
  let y = x;
  maps.forEach((map, axis) => {
    if (map) y = op.gather(y, op.constant(ndarray('int64', [map.length], map)), axis);
  });
  return y;
}

/** Whether a Resize's constant scales (input 2) or sizes (input 3) enlarge every axis (false when not constant). */
function upsamplesOnly(ins: readonly (Value | undefined)[], x: Tensor): boolean {
  const values = (v: Value | undefined): number[] | undefined => {
    if (v === undefined) return undefined;
    if (!(v instanceof Tensor)) return v.host.every((d) => typeof d === 'number') ? (v.host as number[]) : undefined;
    if (v.node.prim.name !== 'constant') return undefined;
    return Array.from((v.node.attrs as { value: NDArray }).value.data as ArrayLike<number | bigint>, Number);
  };
  const scales = values(ins[2]);
  if (scales && scales.length > 0) return scales.every((f) => f >= 1);
  const sizes = values(ins[3]);
  return !!sizes && sizes.every((d, i) => typeof x.shape[i] === 'number' && d >= (x.shape[i] as number));
}

function lowerPassthrough(
  n: NodeProto,
  a: Map<string, AttributeProto>,
  ins: (Value | undefined)[],
  opset: number,
): Value[] {
  if (n.domain && n.domain !== 'ai.onnx') refuse(`domain '${n.domain}' is not supported`);
  // Quantize/DequantizeLinear-10 are opset 13's with a per-tensor (scalar) scale, the only form they had
  const perTensor =
    (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') &&
    opset >= 10 &&
    ins[1] instanceof Tensor &&
    ins[1].rank === 0;
  const since = perTensor ? 10 : (PASSTHROUGH_SINCE[n.opType] ?? 7);
  if (opset < since)
    refuse(`${n.opType} of opset ${opset} differs from its opset-21 definition (imported from opset ${since})`);
  if (['RNN', 'GRU', 'LSTM'].includes(n.opType)) {
    // layout=1 (batch-first: X [B, T, I], states [B, dirs, H]) is lowered here with transposes; ORT's CPU provider
    // has no kernel for it, so the node cannot be run as it is
    const batchFirst = intAttr(a, 'layout', 0) !== 0;
    const swap = (v: Value | undefined, i: number) =>
      v === undefined || !batchFirst || ![0, 5, 6].includes(i) ? v : op.transpose(asTensor(v, `input ${i}`), [1, 0, 2]);
    const lowered = lowerRecurrent(
      n.opType,
      {
        hiddenSize: intAttr(a, 'hidden_size', 0),
        direction: strAttr(a, 'direction', 'forward'),
        activations: a.has('activations')
          ? (a.get('activations')?.strings ?? []).map((v) => new TextDecoder().decode(v))
          : undefined,
        clip: a.has('clip') ? floatAttr(a, 'clip', 0) : undefined,
        inputForget: intAttr(a, 'input_forget', 0),
        linearBeforeReset: intAttr(a, 'linear_before_reset', 0),
      },
      ins.map((v, i) => swap(v, i)).map((v, i) => (v === undefined ? undefined : asTensor(v, `input ${i}`))),
    );
    if (lowered && batchFirst)
      return lowered.map((t, k) => (k === 0 ? op.transpose(t, [2, 0, 1, 3]) : op.transpose(t, [1, 0, 2])));
    if (lowered) return lowered;
    if (batchFirst)
      refuse("layout=1 (batch-first) needs a static sequence length here: ORT's CPU provider has no kernel for it");
  }
  if (n.opType === 'MaxUnpool' && ins[2] !== undefined)
    refuse("with output_shape ORT's MaxUnpool disagrees with ONNX's reference outputs");
  if (
    n.opType === 'Resize' &&
    strAttr(a, 'coordinate_transformation_mode', 'half_pixel') === 'align_corners' &&
    strAttr(a, 'mode', 'nearest') !== 'nearest' &&
    !upsamplesOnly(
      ins,
      at(
        ins.map((v) => (v instanceof Tensor ? v : undefined)),
        0,
      ),
    )
  ) {
    refuse(
      "align_corners with linear/cubic modes: ORT's CPU Resize disagrees with ONNX's reference outputs when downsampling",
    );
  }
  if (n.opType === 'Resize') {
    const lowered = nearestResize(a, ins);
    if (lowered) return [lowered];
  }
  if (n.opType === 'GridSample' && opset < 20) {
    // opset 16's mode names; opset 20 renamed bilinear/bicubic to linear/cubic
    const mode = strAttr(a, 'mode', 'bilinear');
    a.set('mode', {
      name: 'mode',
      type: AttributeType.STRING,
      s: new TextEncoder().encode(mode === 'bilinear' ? 'linear' : mode === 'bicubic' ? 'cubic' : mode),
    });
    n = { ...n, attribute: [...a.values()] };
  }
  const xs = ins.map((v, i) => (v === undefined ? undefined : asTensor(v, `input ${i}`)));
  const outs = PASSTHROUGH[n.opType](n, a, xs).slice(0, Math.max(1, n.output.length));
  const present = xs.map((x) => x !== undefined);
  const grad = /^A(sin|cos|tan)h?$/.test(n.opType) ? 'unary' : 'none';
  return op.dynamicOnnx(
    n.opType,
    xs.filter((x): x is Tensor => x !== undefined),
    emitAttrs(n),
    outs,
    grad,
    present.every(Boolean) ? undefined : present,
  );
}

/** The ops lowerNode translates into lathe ops (besides {@link PASSTHROUGH} and the data-dependent forms). */
const LOWERED_OPS: ReadonlySet<string> = new Set([
  'Abs',
  'Add',
  'And',
  'ArgMax',
  'ArgMin',
  'AveragePool',
  'BatchNormalization',
  'Cast',
  'CastLike',
  'Ceil',
  'Celu',
  'Clip',
  'Concat',
  'Constant',
  'ConstantOfShape',
  'Conv',
  'ConvTranspose',
  'Cos',
  'Cosh',
  'CumSum',
  'DepthToSpace',
  'Div',
  'Dropout',
  'Einsum',
  'Elu',
  'Equal',
  'Erf',
  'Exp',
  'Expand',
  'Flatten',
  'Floor',
  'Gather',
  'GatherElements',
  'Gelu',
  'Gemm',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Greater',
  'GreaterOrEqual',
  'HardSigmoid',
  'HardSwish',
  'Hardmax',
  'Identity',
  'InstanceNormalization',
  'LayerNormalization',
  'LeakyRelu',
  'Less',
  'LessOrEqual',
  'Log',
  'LogSoftmax',
  'MatMul',
  'Max',
  'MaxPool',
  'Mean',
  'Min',
  'Mish',
  'Mod',
  'Mul',
  'Neg',
  'NegativeLogLikelihoodLoss',
  'Not',
  'Or',
  'PRelu',
  'Pad',
  'Pow',
  'Reciprocal',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceProd',
  'ReduceSum',
  'ReduceSumSquare',
  'Relu',
  'Reshape',
  'Round',
  'Selu',
  'Shape',
  'Shrink',
  'Sigmoid',
  'Sign',
  'Sin',
  'Sinh',
  'Size',
  'Slice',
  'Softmax',
  'SoftmaxCrossEntropyLoss',
  'Softplus',
  'Softsign',
  'SpaceToDepth',
  'Split',
  'Sqrt',
  'Squeeze',
  'Sub',
  'Sum',
  'Tan',
  'Tanh',
  'ThresholdedRelu',
  'Tile',
  'TopK',
  'Transpose',
  'Trilu',
  'Unsqueeze',
  'Where',
  'Xor',
  'Range',
  'NonZero',
  'Scatter',
  'Upsample',
  'If',
  'Loop',
  'Scan',
]);

/** Refuses, before any tracing, a node whose op the importer does not handle at all (op, node name and reason). */
function checkSupported(n: NodeProto): void {
  for (const body of subgraphsOf(n)) for (const m of body.node) checkSupported(m);
  const where = `importOnnx: node ${n.name ?? ''} (${n.opType})`;
  if (n.domain && n.domain !== 'ai.onnx')
    throw new UnsupportedOnnxError(`${where}: domain '${n.domain}' is not supported (only the default ONNX domain)`);
  if (!LOWERED_OPS.has(n.opType) && !Object.hasOwn(PASSTHROUGH, n.opType))
    throw new UnsupportedOnnxError(`${where}: ONNX op ${n.opType} is not supported by the importer`);
}

function lowerNode(n: NodeProto, ins: (Value | undefined)[], opset: number): Value[] {
  const a = attrs(n);
  const dynamicOuts = lowerDataDependent(n, a, ins);
  if (dynamicOuts) return dynamicOuts;
  const T = (i: number) => asTensor(ins[i], `input ${i}`);
  switch (n.opType) {
    case 'Identity': {
      const x = ins[0];
      if (x === undefined) throw new Error('input 0 is missing');
      return [x];
    }
    case 'Dropout': {
      // inference only: training_mode (opset 12+, an input) must be absent or a constant false; is_test (opset < 7)
      // must not be 0
      const mode = ins[2];
      if (mode !== undefined && scalarOf(mode) !== 0)
        refuse(
          'training_mode is true or not a constant: random dropout is not imported (export the model in eval mode)',
        );
      if (a.has('is_test') && intAttr(a, 'is_test', 0) === 0)
        refuse('is_test=0 (training-mode dropout) is not imported');
      const x = T(0);
      const mask = op.expand(op.constant(ndarray('bool', [], [1])), [...x.shape]);
      return [x, mask];
    }
    case 'Scatter':
      // deprecated at opset 11 for ScatterElements, which means the same (and also takes negative indices)
      return lowerPassthrough({ ...n, opType: 'ScatterElements' }, a, ins, Math.max(opset, 11));
    case 'Upsample': {
      // deprecated at opset 10 for Resize: nearest reads input[floor(i / scale)] (Resize's asymmetric + floor);
      // scales are an input from opset 9, an attribute before
      if (strAttr(a, 'mode', 'nearest') !== 'nearest')
        refuse(`mode '${strAttr(a, 'mode', 'nearest')}' is not imported (nearest is)`);
      const scales =
        ins[1] ??
        op.constant(ndarray('float32', [(a.get('scales')?.floats ?? []).length], a.get('scales')?.floats ?? []));
      const plain = new Map<string, AttributeProto>([
        [
          'coordinate_transformation_mode',
          {
            name: 'coordinate_transformation_mode',
            type: AttributeType.STRING,
            s: new TextEncoder().encode('asymmetric'),
          },
        ],
        ['nearest_mode', { name: 'nearest_mode', type: AttributeType.STRING, s: new TextEncoder().encode('floor') }],
      ]);
      const y = nearestResize(plain, [ins[0], undefined, scales]);
      if (y) return [y];
      if (ins[1] === undefined) refuse('the scales attribute needs static input dims on the scaled axes');
      // scales known only at run time: ORT's Resize with the same coordinate rules (forward only)
      const resize: NodeProto = {
        ...n,
        opType: 'Resize',
        input: [n.input[0], '', n.input[1] ?? ''],
        attribute: [...plain.values()],
      };
      return lowerPassthrough(resize, plain, [ins[0], undefined, scales], Math.max(opset, 11));
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const [x, y] = ins;
      if (x && y && !(x instanceof Tensor) && !(y instanceof Tensor)) {
        const folded = hostArithmetic(n.opType, x, y);
        if (folded) return [folded];
      }
      const fn = { Add: op.add, Sub: op.sub, Mul: op.mul, Div: op.div }[n.opType];
      return [fn(T(0), T(1))];
    }
    case 'Pow': {
      // ONNX Pow(T, T1) → T: the exponent takes the base's type; integer bases are computed in float64 and rounded
      const x = T(0);
      const y = T(1);
      if (!isFloat(x.dtype)) return [op.cast(op.round(op.pow(op.cast(x, 'float64'), op.cast(y, 'float64'))), x.dtype)];
      return [op.pow(x, y.dtype === x.dtype ? y : op.cast(y, x.dtype))];
    }
    case 'Neg': {
      const x = ins[0];
      if (x && !(x instanceof Tensor) && x.host.every((d) => typeof d === 'number'))
        return [{ host: x.host.map((d) => -(d as number)), scalar: x.scalar }];
      return [op.neg(T(0))];
    }
    case 'Abs':
      return [op.abs(T(0))];
    case 'Exp':
      return [op.exp(T(0))];
    case 'Log':
      return [op.log(T(0))];
    case 'Sqrt':
      return [op.sqrt(T(0))];
    case 'Reciprocal':
      return [op.reciprocal(T(0))];
    case 'Sin':
      return [op.sin(T(0))];
    case 'Cos':
      return [op.cos(T(0))];
    case 'Tanh':
      return [op.tanh(T(0))];
    case 'Sigmoid':
      return [op.sigmoid(T(0))];
    case 'Relu':
      return [op.relu(T(0))];
    case 'Erf':
      return [op.erf(T(0))];
    case 'LeakyRelu':
      return [op.leakyRelu(T(0), floatAttr(a, 'alpha', 0.01))];
    case 'Elu':
      return [op.elu(T(0), floatAttr(a, 'alpha', 1))];
    case 'Gelu':
      return [op.gelu(T(0), strAttr(a, 'approximate', 'none') as 'none' | 'tanh')];
    case 'Max':
    case 'Min':
    case 'Sum':
    case 'Mean': {
      // variadic (1 or more inputs, broadcast); ORT's Max/Min have no 8/16-bit integer kernels: computed in int32
      const xs = ins.map((_, i) => T(i));
      if (xs.length === 0) throw new Error('needs at least one input');
      const narrow = ['int8', 'uint8', 'int16', 'uint16'].includes(xs[0].dtype);
      const f = { Max: op.maximum, Min: op.minimum, Sum: op.add, Mean: op.add }[n.opType];
      let acc = narrow ? op.cast(xs[0], 'int32') : xs[0];
      for (const x of xs.slice(1)) acc = f(acc, narrow ? op.cast(x, 'int32') : x);
      if (n.opType === 'Mean' && xs.length > 1) acc = op.div(acc, xs.length);
      return [narrow ? op.cast(acc, xs[0].dtype) : acc];
    }
    case 'Floor':
      return [op.floor(T(0))];
    case 'Ceil':
      return [op.ceil(T(0))];
    case 'Round':
      return [op.round(T(0))];
    case 'Sign':
      return [op.sign(T(0))];
    case 'Softplus':
      return [op.softplus(T(0))];
    case 'Softsign': {
      const x = T(0);
      return [op.div(x, op.add(op.abs(x), 1))];
    }
    case 'Mish': {
      const x = T(0);
      return [op.mul(x, op.tanh(op.softplus(x)))];
    }
    case 'Selu':
      return [op.mul(op.elu(T(0), floatAttr(a, 'alpha', 1.6732632)), floatAttr(a, 'gamma', 1.050701))];
    case 'Celu': {
      const x = T(0);
      const alpha = floatAttr(a, 'alpha', 1);
      return [
        op.add(op.relu(x), op.minimum(op.mul(op.sub(op.exp(op.div(x, alpha)), 1), alpha), op.scalar(0, x.dtype))),
      ];
    }
    case 'ThresholdedRelu': {
      const x = T(0);
      return [op.where(op.greater(x, op.scalar(floatAttr(a, 'alpha', 1), x.dtype)), x, op.scalar(0, x.dtype))];
    }
    case 'HardSigmoid': {
      const x = T(0);
      return [op.hardtanh(op.add(op.mul(x, floatAttr(a, 'alpha', 0.2)), floatAttr(a, 'beta', 0.5)), 0, 1)];
    }
    case 'HardSwish': {
      const x = T(0);
      return [op.mul(x, op.div(op.hardtanh(op.add(x, 3), 0, 6), 6))];
    }
    case 'PRelu': {
      const x = T(0);
      let slope = T(1);
      // PyTorch's old exports give a per-channel slope as [C] for an [N, C, ...] input (opset < 7 broadcasting)
      if (slope.rank === 1 && x.rank > 2 && slope.shape[0] === x.shape[1] && slope.shape[0] !== x.shape[x.rank - 1])
        slope = op.reshape(slope, [slope.shape[0], ...new Array<number>(x.rank - 2).fill(1)]);
      return [op.add(op.relu(x), op.mul(slope, op.minimum(x, op.scalar(0, x.dtype))))];
    }
    case 'Clip': {
      // Clip-11+: optional min and max inputs; Clip-6: min/max attributes
      const x = T(0);
      const old = n.input.length === 1;
      const lo = old
        ? a.has('min')
          ? op.scalar(floatAttr(a, 'min', 0), x.dtype)
          : undefined
        : ins[1]
          ? T(1)
          : undefined;
      const hi = old
        ? a.has('max')
          ? op.scalar(floatAttr(a, 'max', 0), x.dtype)
          : undefined
        : ins[2]
          ? T(2)
          : undefined;
      return [lo === undefined && hi === undefined ? x : op.clamp(x, lo, hi)];
    }
    case 'And':
      return [op.logicalAnd(T(0), T(1))];
    case 'Or':
      return [op.logicalOr(T(0), T(1))];
    case 'Xor':
      return [op.logicalXor(T(0), T(1))];
    case 'LessOrEqual':
      return [op.lessOrEqual(T(0), T(1))];
    case 'GreaterOrEqual':
      return [op.greaterOrEqual(T(0), T(1))];
    case 'CastLike':
      return [op.cast(T(0), T(1).dtype)];
    case 'Mod':
      return [op.mod(T(0), T(1), intAttr(a, 'fmod', 0) === 1)];
    case 'ArgMax':
    case 'ArgMin': {
      const x = T(0);
      const f = n.opType === 'ArgMax' ? op.argmax : op.argmin;
      const axis = intAttr(a, 'axis', 0);
      const keep = intAttr(a, 'keepdims', 1) === 1;
      if (intAttr(a, 'select_last_index', 0) === 0) return [f(x, axis, keep)];
      // the last extreme: the first one of the reversed axis, counted from the end
      const ax = axis < 0 ? axis + x.rank : axis;
      const size = x.shape[ax];
      if (typeof size !== 'number') refuse('select_last_index=1 needs a static size along the axis');
      const reversed = op.slice(x, { starts: [-1], ends: [-Number.MAX_SAFE_INTEGER], axes: [ax], steps: [-1] });
      return [op.sub(op.scalar(size - 1, 'int64'), f(reversed, ax, keep))];
    }
    case 'Tan': {
      const x = T(0);
      return [op.div(op.sin(x), op.cos(x))];
    }
    case 'Sinh':
    case 'Cosh': {
      const x = T(0);
      const e = op.exp(x),
        ie = op.exp(op.neg(x));
      return [op.mul(n.opType === 'Sinh' ? op.sub(e, ie) : op.add(e, ie), 0.5)];
    }
    case 'Shrink': {
      const x = T(0);
      const lambd = floatAttr(a, 'lambd', 0.5),
        bias = floatAttr(a, 'bias', 0);
      const zero = op.scalar(0, x.dtype);
      return [
        op.where(
          op.less(x, op.scalar(-lambd, x.dtype)),
          op.add(x, op.scalar(bias, x.dtype)),
          op.where(op.greater(x, op.scalar(lambd, x.dtype)), op.sub(x, op.scalar(bias, x.dtype)), zero),
        ),
      ];
    }
    case 'TopK': {
      const k = ins[1] === undefined ? intAttr(a, 'k', 1) : scalarOf(ins[1]);
      if (k === undefined) refuse('k must be a constant known at import time');
      if (intAttr(a, 'sorted', 1) !== 1) refuse('sorted=0 is not supported');
      return op.topk(T(0), k, intAttr(a, 'axis', -1), intAttr(a, 'largest', 1) === 1);
    }
    case 'GlobalMaxPool': {
      const x = T(0);
      return [
        op.max(
          x,
          x.shape.slice(2).map((_, i) => i + 2),
          true,
        ),
      ];
    }
    case 'InstanceNormalization': {
      const x = T(0);
      const axes = x.shape.slice(2).map((_, i) => i + 2);
      const mean = op.mean(x, axes, true);
      const centred = op.sub(x, mean);
      const inv = op.rsqrt(op.add(op.mean(op.mul(centred, centred), axes, true), floatAttr(a, 'epsilon', 1e-5)));
      const perChannel = (t: Tensor) => op.reshape(t, [t.shape[0], ...new Array<number>(x.rank - 2).fill(1)]);
      return [op.add(op.mul(op.mul(centred, inv), perChannel(T(1))), perChannel(T(2)))];
    }
    case 'DepthToSpace':
    case 'SpaceToDepth': {
      const x = T(0);
      const b = intAttr(a, 'blocksize', 1);
      const [N, C, H, W] = x.shape;
      if (x.rank !== 4 || [C, H, W].some((d) => typeof d !== 'number')) refuse('needs a 4-D input with static C, H, W');
      const [c, h, w] = [C as number, H as number, W as number];
      if (n.opType === 'SpaceToDepth') {
        const t = op.transpose(op.reshape(x, [N, c, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4]);
        return [op.reshape(t, [N, c * b * b, h / b, w / b])];
      }
      const crd = strAttr(a, 'mode', 'DCR') === 'CRD';
      const t = crd
        ? op.transpose(op.reshape(x, [N, c / (b * b), b, b, h, w]), [0, 1, 4, 2, 5, 3])
        : op.transpose(op.reshape(x, [N, b, b, c / (b * b), h, w]), [0, 3, 4, 1, 5, 2]);
      return [op.reshape(t, [N, c / (b * b), h * b, w * b])];
    }
    case 'NegativeLogLikelihoodLoss':
      return [nllLoss(a, T(0), T(1), ins[2] ? T(2) : undefined)];
    case 'SoftmaxCrossEntropyLoss': {
      const logp = op.logSoftmax(T(0), 1);
      return [nllLoss(a, logp, T(1), ins[2] ? T(2) : undefined), logp];
    }
    case 'Hardmax': {
      const x = T(0);
      const axis = intAttr(a, 'axis', -1);
      if (axis !== -1 && axis !== x.rank - 1) return lowerPassthrough(n, a, ins, opset);
      const depth = x.shape[x.rank - 1];
      if (typeof depth !== 'number') refuse('Hardmax needs a static last dimension');
      return [op.oneHot(op.argmax(x, -1, false), depth, x.dtype)];
    }
    case 'GatherElements':
      return [op.gatherElements(T(0), T(1), intAttr(a, 'axis', 0))];
    case 'Trilu': {
      const k = ins[1] === undefined ? 0 : scalarOf(ins[1]);
      if (k === undefined) refuse('k must be a constant known at import time');
      return [intAttr(a, 'upper', 1) === 1 ? op.triu(T(0), k) : op.tril(T(0), k)];
    }
    case 'Size': {
      const x = T(0);
      if (x.shape.every((d) => typeof d === 'number'))
        return [{ host: [x.shape.reduce<number>((p, d) => p * (d as number), 1)], scalar: true }];
      return [op.numelOf(x, 'int64')];
    }
    case 'ConstantOfShape': {
      const shape = hostInts(ins[0], 'shape');
      const t = a.get('value')?.t;
      // a short int64 vector (shape arithmetic: ones for the reduced axes) stays on the host
      if (
        t &&
        dtypeFromOnnx(t.dataType) === 'int64' &&
        shape.length === 1 &&
        typeof shape[0] === 'number' &&
        shape[0] <= 16
      )
        return [{ host: new Array<number>(shape[0]).fill(Number(tensorProtoToNDArray(t).data[0])), scalar: false }];
      const value = t ? tensorProtoToNDArray(t) : ndarray('float32', [1], [0]);
      return [op.expand(op.constant(ndarray(value.dtype, [], value.data as NDArray['data'])), shape)];
    }
    case 'Einsum': {
      let eq = strAttr(a, 'equation', '').replace(/\s+/g, '');
      if (eq.includes('.')) refuse(`equation "${eq}" uses an ellipsis, which is not supported`);
      if (!eq.includes('->')) {
        // implicit output: the letters that occur once, in alphabetical order
        const letters = eq.replace(/,/g, '').split('');
        eq = `${eq}->${[...new Set(letters)]
          .filter((c) => letters.indexOf(c) === letters.lastIndexOf(c))
          .sort()
          .join('')}`;
      }
      return [op.einsum(eq, ...ins.map((_, i) => T(i)))];
    }
    case 'Where':
      return [op.where(T(0), T(1), T(2))];
    case 'Equal':
      return [op.equal(T(0), T(1))];
    case 'Less':
      return [op.less(T(0), T(1))];
    case 'Greater':
      return [op.greater(T(0), T(1))];
    case 'Not':
      return [op.logicalNot(T(0))];
    case 'Cast': {
      const to = dtypeFromOnnx(intAttr(a, 'to', 1));
      // shape arithmetic stays on the host through integer casts (PyTorch exports cast sizes to int64)
      if (ins[0] && !(ins[0] instanceof Tensor) && to === 'int64') return [ins[0]];
      return [op.cast(T(0), to)];
    }
    case 'MatMul':
      return [op.matmul(T(0), T(1))];
    case 'Gemm': {
      const alpha = floatAttr(a, 'alpha', 1);
      const beta = floatAttr(a, 'beta', 1);
      let y = op.gemm(T(0), T(1), { transA: intAttr(a, 'transA', 0) === 1, transB: intAttr(a, 'transB', 0) === 1 });
      if (alpha !== 1) y = op.mul(y, alpha);
      if (ins[2]) y = op.add(y, beta === 1 ? T(2) : op.mul(T(2), beta));
      return [y];
    }
    case 'Conv': {
      const x = T(0);
      const w = T(1);
      const k = intsAttr(a, 'kernel_shape') ?? w.shape.slice(2).map(Number);
      const s = spatialAttrs(a, x, k, 'convolution');
      if (k.length === 3)
        return [op.convNdRaw(x, w, ins[2] ? T(2) : undefined, { ...s.nd, group: intAttr(a, 'group', 1) })];
      const y = op.conv2dRaw(
        s.oneD ? op.unsqueeze(x, [2]) : x,
        s.oneD ? op.unsqueeze(w, [2]) : w,
        ins[2] ? T(2) : undefined,
        {
          strides: s.strides,
          pads: s.pads,
          dilations: s.dilations,
          group: intAttr(a, 'group', 1),
        },
      );
      return [s.oneD ? op.squeeze(y, [2]) : y];
    }
    case 'MaxPool':
    case 'AveragePool': {
      const x = T(0);
      const k = requiredIntsAttr(a, 'kernel_shape');
      const s = spatialAttrs(a, x, k, 'pooling');
      if (intAttr(a, 'storage_order', 0) !== 0) refuse('storage_order=1 (column-major Indices) is not supported');
      if (k.length === 3) {
        if (n.output.length > 1 && n.output[1] !== '') refuse('the Indices output of a 3-D MaxPool is not supported');
        return [
          op.poolNdRaw(x, n.opType === 'MaxPool' ? 'max' : 'average', {
            ...s.nd,
            countIncludePad: intAttr(a, 'count_include_pad', 0) === 1,
          }),
        ];
      }
      const attrs = {
        kernel: s.kernel,
        strides: s.strides,
        pads: s.pads,
        dilations: s.dilations,
        ceilMode: intAttr(a, 'ceil_mode', 0) === 1,
      };
      const x4 = s.oneD ? op.unsqueeze(x, [2]) : x;
      const back = (t: Tensor) => (s.oneD ? op.squeeze(t, [2]) : t);
      if (n.opType === 'AveragePool')
        return [back(op.avgPool2dRaw(x4, { ...attrs, countIncludePad: intAttr(a, 'count_include_pad', 0) === 1 }))];
      const [y, idx] = op.maxPool2dRaw(x4, attrs);
      return n.output.length > 1 && n.output[1] !== '' ? [back(y), back(idx)] : [back(y)];
    }
    case 'GlobalAveragePool':
      return [op.globalAvgPool(T(0))];
    case 'Flatten': {
      const x = T(0);
      const axis = intAttr(a, 'axis', 1);
      const ax = axis < 0 ? axis + x.rank : axis;
      if (ax < 0 || ax > x.rank) throw new Error(`axis ${axis} is out of range for rank ${x.rank}`);
      if (ax === x.rank) return [op.reshape(x, [-1, 1])];
      return [
        op.reshape(
          op.flatten(op.flatten(x, ax), 0, ax === 0 ? 0 : ax - 1),
          ax === 0 ? [1, -1] : [x.shape.slice(0, ax).reduce<Dim>((p, d) => mulDims(p, d), 1), -1],
        ),
      ];
    }
    case 'Reshape': {
      const x = T(0);
      const target = hostInts(ins[1], 'Reshape shape').map((d, i) => (d === 0 ? x.shape[i] : d));
      return [op.reshape(x, target)];
    }
    case 'Transpose':
      return [op.transpose(T(0), intsAttr(a, 'perm'))];
    case 'Squeeze':
      return [op.squeeze(T(0), ins[1] ? (hostInts(ins[1], 'axes') as number[]) : intsAttr(a, 'axes'))];
    case 'Unsqueeze': {
      const axes = (ins[1] ? hostInts(ins[1], 'axes') : requiredIntsAttr(a, 'axes')) as number[];
      const x = ins[0];
      if (x && !(x instanceof Tensor) && x.scalar && axes.length === 1) return [{ ...x, scalar: false }];
      return [op.unsqueeze(T(0), axes)];
    }
    case 'Concat': {
      if (ins.every((v) => v && !(v instanceof Tensor)))
        return [{ host: ins.flatMap((v) => [...(v as Host).host]), scalar: false, anchors: anchorsOf(ins) }];
      return [
        op.concat(
          ins.map((_, i) => T(i)),
          intAttr(a, 'axis', 0),
        ),
      ];
    }
    case 'Shape': {
      // Shape-15 start/end: clamped like Python slicing
      const x = T(0);
      const clampAxis = (v: number) => Math.min(Math.max(v < 0 ? v + x.rank : v, 0), x.rank);
      const dims = x.shape.slice(clampAxis(intAttr(a, 'start', 0)), clampAxis(intAttr(a, 'end', x.rank)));
      return [{ host: dims, scalar: false, anchors: [x] }];
    }
    case 'Gather': {
      const src = ins[0];
      if (src && !(src instanceof Tensor)) {
        const idx = hostInts(ins[1], 'Gather indices') as number[];
        const picked = idx.map((i) => src.host[i < 0 ? i + src.host.length : i]);
        return [
          { host: picked, scalar: !!ins[1] && !(ins[1] instanceof Tensor) && ins[1].scalar, anchors: src.anchors },
        ];
      }
      return [op.gather(T(0), T(1), intAttr(a, 'axis', 0))];
    }
    case 'Constant': {
      if (a.has('value_float')) return [op.constant(ndarray('float32', [], [floatAttr(a, 'value_float', 0)]))];
      if (a.has('value_floats')) {
        const v = (a.get('value_floats')?.floats ?? []).map(Number);
        return [op.constant(ndarray('float32', [v.length], v))];
      }
      if (a.has('value_int')) return [{ host: [intAttr(a, 'value_int', 0)], scalar: true }];
      if (a.has('value_ints')) return [{ host: intsAttr(a, 'value_ints') ?? [], scalar: false }];
      const t = a.get('value')?.t;
      if (!t) refuse('only tensor, float(s) and int(s) Constant values are supported (not sparse or string)');
      return [hostOrConst(tensorProtoToNDArray(t))];
    }
    case 'Softmax':
      return [op.softmax(T(0), intAttr(a, 'axis', -1))];
    case 'LogSoftmax':
      return [op.logSoftmax(T(0), intAttr(a, 'axis', -1))];
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL1':
    case 'ReduceL2':
    case 'ReduceSumSquare':
    case 'ReduceLogSum':
    case 'ReduceLogSumExp': {
      const x = T(0);
      let axes = ins[1] ? (hostInts(ins[1], 'axes') as number[]) : intsAttr(a, 'axes');
      if (axes !== undefined && axes.length === 0) axes = undefined;
      if (axes === undefined && intAttr(a, 'noop_with_empty_axes', 0) === 1) return [x];
      const keep = intAttr(a, 'keepdims', 1) === 1;
      const all = axes ?? x.shape.map((_, i) => i);
      switch (n.opType) {
        case 'ReduceL1':
          return [op.sum(op.abs(x), all, keep)];
        case 'ReduceL2':
          return [op.sqrt(op.sum(op.mul(x, x), all, keep))];
        case 'ReduceSumSquare':
          return [op.sum(op.mul(x, x), all, keep)];
        case 'ReduceLogSum':
          return [op.log(op.sum(x, all, keep))];
        case 'ReduceLogSumExp':
          return [op.logsumexp(x, all, keep)];
        default: {
          const fn =
            { ReduceMean: op.mean, ReduceSum: op.sum, ReduceMax: op.max, ReduceMin: op.min, ReduceProd: op.prod }[
              n.opType
            ] ?? op.sum;
          return [fn(x, all, keep)];
        }
      }
    }
    case 'BatchNormalization': {
      if (opset >= 14 && intAttr(a, 'training_mode', 0) === 1) {
        // batch statistics (population variance) normalize; running statistics are updated with `momentum`
        const x = T(0);
        const axes = x.shape.map((_, k) => k).filter((k) => k !== 1);
        const perChannel = (t: Tensor) => op.reshape(t, [1, t.shape[0], ...new Array<number>(x.rank - 2).fill(1)]);
        const mean = op.mean(x, axes);
        const centred = op.sub(x, perChannel(mean));
        const variance = op.mean(op.mul(centred, centred), axes);
        const eps = floatAttr(a, 'epsilon', 1e-5);
        const y = op.add(
          op.mul(op.mul(centred, perChannel(op.rsqrt(op.add(variance, eps)))), perChannel(T(1))),
          perChannel(T(2)),
        );
        const m = floatAttr(a, 'momentum', 0.9);
        const running = (old: Tensor, now: Tensor) => op.add(op.mul(old, m), op.mul(now, 1 - m));
        return [y, running(T(3), mean), running(T(4), variance)];
      }
      const r = op.batchNorm(T(0), T(1), T(2), T(3), T(4), { training: false, eps: floatAttr(a, 'epsilon', 1e-5) });
      return [r.y];
    }
    case 'LayerNormalization': {
      const x = T(0);
      const axis = intAttr(a, 'axis', -1);
      const k = x.rank - (axis < 0 ? axis + x.rank : axis);
      const eps = floatAttr(a, 'epsilon', 1e-5);
      const y = op.layerNorm(x, T(1), ins[2] ? T(2) : undefined, { eps, normalizedDims: k });
      if (n.output.length < 2) return [y];
      // the optional Mean and InvStdDev outputs (kept dims), computed in the input's type
      const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
      const mean = op.mean(x, axes, true);
      const centred = op.sub(x, mean);
      return [y, mean, op.rsqrt(op.add(op.mean(op.mul(centred, centred), axes, true), eps))];
    }
    case 'Slice': {
      // Slice-1 has starts/ends/axes as attributes; Slice-10+ as inputs
      const old = ins.length === 1;
      const hostSlice = old ? undefined : sliceHost(ins);
      if (hostSlice) return [hostSlice];
      const starts = old ? requiredIntsAttr(a, 'starts') : (hostInts(ins[1], 'starts') as number[]);
      const ends = old ? requiredIntsAttr(a, 'ends') : (hostInts(ins[2], 'ends') as number[]);
      const axes = old ? intsAttr(a, 'axes') : ins[3] ? (hostInts(ins[3], 'axes') as number[]) : undefined;
      const steps = ins[4] ? (hostInts(ins[4], 'steps') as number[]) : undefined;
      return [op.slice(T(0), { starts, ends, axes, steps })];
    }
    case 'Pad': {
      // Pad-2 has pads and value as attributes; Pad-11+ as inputs (constant_value, then axes from opset 18)
      const old = ins.length === 1;
      const x = T(0);
      let pads = old ? requiredIntsAttr(a, 'pads') : (hostInts(ins[1], 'pads') as number[]);
      const value = old ? floatAttr(a, 'value', 0) : ins[2] === undefined ? 0 : scalarOf(ins[2]);
      if (value === undefined) refuse('constant_value must be a constant known at import time');
      if (ins[3] !== undefined) {
        const axes = (hostInts(ins[3], 'axes') as number[]).map((v) => (v < 0 ? v + x.rank : v));
        const full = new Array<number>(2 * x.rank).fill(0);
        axes.forEach((ax, i) => {
          full[ax] = pads[i];
          full[ax + x.rank] = pads[i + axes.length];
        });
        pads = full;
      }
      const mode = strAttr(a, 'mode', 'constant');
      if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') refuse(`mode '${mode}' is not supported`);
      return [op.pad(x, pads, mode as op.PadMode, value)];
    }
    case 'Expand':
      return [op.expand(T(0), hostInts(ins[1], 'Expand shape'))];
    case 'Tile':
      return [op.tile(T(0), hostInts(ins[1], 'repeats') as number[])];
    case 'Split': {
      const sizes = ins[1] ? (hostInts(ins[1], 'split') as number[]) : (intsAttr(a, 'split') ?? n.output.length);
      return op.split(T(0), sizes, intAttr(a, 'axis', 0));
    }
    case 'CumSum':
      return [
        op.cumsum(T(0), Number(hostInts(ins[1], 'axis')[0]), {
          exclusive: intAttr(a, 'exclusive', 0) === 1,
          reverse: intAttr(a, 'reverse', 0) === 1,
        }),
      ];
    case 'ConvTranspose': {
      const x = T(0);
      const w = T(1);
      const k = intsAttr(a, 'kernel_shape') ?? w.shape.slice(2).map(Number);
      const d = k.length;
      const autoPad = strAttr(a, 'auto_pad', 'NOTSET');
      const outputShape = intsAttr(a, 'output_shape');
      // pads are resolved here (ONNX's ConvTranspose rules), not by spatialAttrs (which follows Conv's)
      const plain = new Map(a);
      plain.delete('auto_pad');
      if (d === 3) refuse('3-D transposed convolution is not supported (1-D and 2-D are)');
      const s = spatialAttrs(plain, x, k, 'transposed convolution');
      const outPad = [...(intsAttr(a, 'output_padding') ?? new Array<number>(d).fill(0))];
      let pads: number[] = s.oneD ? [s.pads[1], s.pads[3]] : [...s.pads];
      if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' || autoPad === 'VALID') {
        const sizes = x.shape.slice(2);
        if (sizes.some((v) => typeof v !== 'number')) refuse('output_shape/auto_pad need static spatial dims');
        const strides = s.oneD ? [s.strides[1]] : s.strides;
        const dil = s.oneD ? [s.dilations[1]] : s.dilations;
        pads = new Array<number>(2 * d).fill(0);
        if (outputShape || autoPad !== 'VALID') {
          const target = outputShape ? outputShape.slice(-d) : sizes.map((v, i) => (v as number) * strides[i]);
          sizes.forEach((v, i) => {
            const total = strides[i] * ((v as number) - 1) + outPad[i] + (k[i] - 1) * dil[i] + 1 - target[i];
            if (total < 0) {
              // a larger output than the full transposed convolution: the extra rows and columns are output padding
              outPad[i] -= total;
              return;
            }
            const half = Math.floor(total / 2);
            pads[i] = autoPad === 'SAME_UPPER' ? half : total - half;
            pads[i + d] = total - pads[i];
          });
        }
      } else if (autoPad !== 'NOTSET') throw new Error(`auto_pad '${autoPad}' is not an ONNX value`);
      const y = op.convTranspose2dRaw(
        s.oneD ? op.unsqueeze(x, [2]) : x,
        s.oneD ? op.unsqueeze(w, [2]) : w,
        ins[2] ? T(2) : undefined,
        {
          strides: s.strides,
          dilations: s.dilations,
          group: intAttr(a, 'group', 1),
          pads: (s.oneD ? [0, pads[0], 0, pads[1]] : pads) as [number, number, number, number],
          outputPadding: (s.oneD ? [0, outPad[0]] : outPad) as [number, number],
        },
      );
      return [s.oneD ? op.squeeze(y, [2]) : y];
    }
    default:
      if (Object.hasOwn(PASSTHROUGH, n.opType)) return lowerPassthrough(n, a, ins, opset);
      refuse(`ONNX op ${n.opType} is not supported by the importer`);
  }
}
