// Emits a recorded graph as an ONNX ModelProto: walks the nodes that reach the outputs in creation order and
// lets each primitive lower itself. Symbolic dims become dim_param and are resolved at run time from the
// runtime shapes of the graph inputs that carry them. Outputs nothing reads are pruned last (prune.ts): optional ones
// dropped, dead nodes removed.
import { ONNX_DTYPE, type DType } from '../graph/dtype.js';
import { ndarray, type NDArray } from '../graph/ndarray.js';
import type { AttrValue, LowerCtx } from '../graph/primitive.js';
import type { Shape } from '../graph/shape.js';
import type { Node, Tensor } from '../graph/tensor.js';
import { reachable } from '../graph/traverse.js';
import { latheVersion } from '../util/version.js';
import { pruneUnusedOutputs } from './prune.js';
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './proto.js';

/** The ONNX opset models are emitted for unless `EmitOptions.opset` says otherwise (21; supported: 17 to 21). */
export const DEFAULT_OPSET = 21;
/** The ONNX IR version that goes with {@link DEFAULT_OPSET} (10); other opsets get theirs from the opset. */
export const DEFAULT_IR_VERSION = 10;
/** The opsets lathe's lowerings target: 17 (LayerNormalization) through 21. */
const MIN_OPSET = 17;
/** The newest opset lathe lowers for (see MIN_OPSET). */
const MAX_OPSET = 21;

/** The IR version that goes with an opset (ONNX 1.12: opset 17 / IR 8; 1.14: 19 / IR 9; 1.16: 21 / IR 10). */
function irVersionFor(opset: number): number {
  return opset >= 21 ? 10 : opset >= 19 ? 9 : 8;
}

/** Options of {@link emitModel} (and of trace, compile and export, which emit through it); all optional. */
export interface EmitOptions {
  /** The graph's name (default `'lathe'`). */
  readonly name?: string;
  /** Target opset (default {@link DEFAULT_OPSET}); emitting throws for an opset outside 17–21. */
  readonly opset?: number;
  /** IR version (default: the one that goes with the opset, e.g. 10 for opset 21). */
  readonly irVersion?: number;
  /** The graph's doc string. */
  readonly docString?: string;
  /** Key/value metadata stored in the model's `metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Graph inputs (placeholders, in feed order) and named outputs. */
export interface GraphSpec {
  readonly inputs: readonly Tensor[];
  readonly outputs: Readonly<Record<string, Tensor>>;
}

const utf8 = new TextEncoder();

function tensorProto(name: string, a: NDArray): TensorProto {
  const view = a.data as ArrayBufferView;
  return {
    name,
    dataType: ONNX_DTYPE[a.dtype],
    dims: [...a.shape],
    rawData: new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
  };
}

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number') return { name, type: 2, i: v };
  if (typeof v === 'string') return { name, type: 3, s: utf8.encode(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: [...(v as number[])] };
  if ('float' in v) return { name, type: 1, f: v.float };
  if ('floats' in v) return { name, type: 6, floats: [...v.floats] };
  if ('tensor' in v) return { name, type: 4, t: tensorProto('', v.tensor) };
  if ('onnxGraph' in v) return { name, type: 5, g: v.onnxGraph as GraphProto };
  throw new Error(`emit: unsupported attribute ${name}`);
}

function valueInfo(name: string, dtype: DType, shape: Shape): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[dtype],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

class Emitter implements LowerCtx {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Map<string, string>(); // tensor key -> value name
  private readonly shapes = new Map<string, string>();
  private readonly consts = new Map<string, string>();
  private readonly symbols = new Map<string, { input: string; axis: number }>();
  private counter = 0;
  private readonly namedConsts = new Set<string>();
  /** Id of the graph node being lowered (for withNodeSources). */
  private source?: number;

  constructor(
    inputs: readonly Tensor[],
    readonly opset: number,
  ) {
    for (const t of inputs) {
      const name = (t.node.attrs as { name: string }).name;
      this.names.set(`${t.node.id}:0`, name);
      t.shape.forEach((d, axis) => {
        if (typeof d === 'string' && /^[A-Za-z_][\w]*$/.test(d) && !this.symbols.has(d))
          this.symbols.set(d, { input: name, axis });
      });
    }
  }

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  nameOf(t: Tensor): string {
    const n = this.names.get(`${t.node.id}:${t.index}`);
    if (n === undefined) {
      if (t.node.prim.name === 'input') {
        const name = (t.node.attrs as { name: string }).name;
        throw new Error(`emit: the graph uses input "${name}", which is not among the declared inputs`);
      }
      throw new Error(`emit: internal: ${t} used before it was emitted`);
    }
    return n;
  }

  lowerNode(node: Node): void {
    if (node.prim.name === 'input') {
      this.nameOf(node.outputs[0]);
      return;
    }
    const ins = node.inputs.map((x) => this.nameOf(x));
    let outs: readonly string[];
    this.source = node.id;
    try {
      outs = node.prim.lower(this, node, ins);
    } catch (err) {
      throw new Error(`emit: lowering ${node.prim.name}: ${(err as Error).message}`);
    } finally {
      this.source = undefined;
    }
    if (outs.length < node.outputs.length)
      throw new Error(`emit: ${node.prim.name} lowered to ${outs.length} outputs, needs ${node.outputs.length}`);
    node.outputs.forEach((t, i) => {
      this.names.set(`${t.node.id}:${t.index}`, outs[i]);
      // a dim first seen on a node's output (a data-dependent op's fresh symbol) resolves from that value's shape
      t.shape.forEach((d, axis) => {
        if (typeof d === 'string' && /^[A-Za-z_][\w]*$/.test(d) && !this.symbols.has(d))
          this.symbols.set(d, { input: outs[i], axis });
      });
    });
  }

  emit(
    opType: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    outputs = 1,
  ): string[] {
    const outNames = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      input: [...inputs],
      output: outNames,
      name: `${opType}_${this.nodes.length}${nodeSources && this.source !== undefined ? `_n${this.source}` : ''}`,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outNames;
  }

  constant(value: NDArray, name?: string): string {
    if (name !== undefined) {
      if (this.namedConsts.has(name)) throw new Error(`two initializers are named "${name}"`);
      this.namedConsts.add(name);
      this.initializers.push(tensorProto(name, value));
      return name;
    }
    const small = value.data.length <= 16;
    const k = small
      ? `${value.dtype}|${value.shape.join(',')}|${Array.from(value.data as ArrayLike<number | bigint>).join(',')}`
      : undefined;
    if (k !== undefined) {
      const hit = this.consts.get(k);
      if (hit) return hit;
    }
    const fresh = this.fresh('const');
    this.initializers.push(tensorProto(fresh, value));
    if (k !== undefined) this.consts.set(k, fresh);
    return fresh;
  }

  i64(values: readonly number[]): string {
    return this.constant(ndarray('int64', [values.length], values));
  }

  scalar(value: number, dtype: DType): string {
    return this.constant(ndarray(dtype, [], [value]));
  }

  shapeOf(t: Tensor): string {
    const k = `${t.node.id}:${t.index}`;
    let s = this.shapes.get(k);
    if (!s) {
      s = this.emit('Shape', [this.nameOf(t)])[0];
      this.shapes.set(k, s);
    }
    return s;
  }

  private symbolDim(expr: string): string {
    let acc: string | undefined;
    for (const atom of expr.split('*')) {
      let v: string;
      if (/^\d+$/.test(atom)) v = this.i64([Number(atom)]);
      else {
        const src = this.symbols.get(atom);
        if (!src) throw new Error(`cannot resolve symbolic dim "${expr}": no graph input has a dim named ${atom}`);
        const key = `sym:${atom}`;
        v =
          this.shapes.get(key) ??
          this.emit('Slice', [this.inputShape(src.input), this.i64([src.axis]), this.i64([src.axis + 1])])[0];
        this.shapes.set(key, v);
      }
      acc = acc ? this.emit('Mul', [acc, v])[0] : v;
    }
    return acc!;
  }

  private inputShape(input: string): string {
    const k = `input:${input}`;
    let s = this.shapes.get(k);
    if (!s) {
      s = this.emit('Shape', [input])[0];
      this.shapes.set(k, s);
    }
    return s;
  }

  dims(shape: Shape, allowInfer = false): string {
    if (shape.every((d) => typeof d === 'number')) return this.i64(shape as number[]);
    const symbolic = shape.filter((d) => typeof d !== 'number');
    if (allowInfer && symbolic.length === 1) return this.i64(shape.map((d) => (typeof d === 'number' ? d : -1)));
    const pieces: string[] = [];
    let run: number[] = [];
    for (const d of shape) {
      if (typeof d === 'number') run.push(d);
      else {
        if (run.length) pieces.push(this.i64(run));
        run = [];
        pieces.push(this.symbolDim(d));
      }
    }
    if (run.length) pieces.push(this.i64(run));
    return pieces.length === 1 ? pieces[0] : this.emit('Concat', pieces, { axis: 0 })[0];
  }
}

let nodeSources = false;

/**
 * Runs `fn` with ONNX node names that end in the id of the graph node they lower (`Gemm_12_n345`), so a profile's
 * kernels can be mapped back to the module that created them (advise/profile.ts). Off otherwise: names stay short.
 */
export function withNodeSources<R>(fn: () => R): R {
  const prev = nodeSources;
  nodeSources = true;
  try {
    return fn();
  } finally {
    nodeSources = prev;
  }
}

/** Builds the ONNX model for a traced graph. */
export function emitModel(spec: GraphSpec, opts: EmitOptions = {}): ModelProto {
  const inputNames = new Set<string>();
  for (const t of spec.inputs) {
    if (t.node.prim.name !== 'input') throw new Error(`emit: graph input ${t} is not a placeholder`);
    const name = (t.node.attrs as { name: string }).name;
    if (inputNames.has(name)) throw new Error(`emit: two graph inputs are named "${name}"`);
    inputNames.add(name);
  }
  const outputs = Object.entries(spec.outputs);
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!(Number.isInteger(opset) && opset >= MIN_OPSET && opset <= MAX_OPSET))
    throw new Error(`emit: opset ${opset} is not supported (lathe lowers for opsets ${MIN_OPSET}–${MAX_OPSET})`);
  const e = new Emitter(spec.inputs, opset);
  for (const n of reachable(outputs.map(([, t]) => t))) e.lowerNode(n);
  const used = new Set<string>();
  const graphOutputs: ValueInfoProto[] = [];
  // Graph outputs take over the name of the value that produces them, so no Identity copies them (a copy per
  // updated parameter per step otherwise). Values that are graph inputs, initializers or already taken by
  // another output keep an Identity.
  const producers = new Map<string, NodeProto>();
  for (const n of e.nodes) for (const o of n.output) producers.set(o, n);
  const renamed = new Map<string, string>();
  for (const [name, t] of outputs) {
    if (inputNames.has(name) || used.has(name)) throw new Error(`emit: output name "${name}" is used twice`);
    used.add(name);
    const src = e.nameOf(t);
    if (producers.has(src) && !renamed.has(src)) renamed.set(src, name);
    else
      e.nodes.push({
        opType: 'Identity',
        input: [renamed.get(src) ?? src],
        output: [name],
        name: `out_${name}`,
        attribute: [],
      });
    graphOutputs.push(valueInfo(name, t.dtype, t.shape));
  }
  if (renamed.size) {
    for (const n of e.nodes) {
      n.input = n.input.map((i) => renamed.get(i) ?? i);
      n.output = n.output.map((o) => renamed.get(o) ?? o);
    }
  }
  const graph: GraphProto = {
    name: opts.name ?? 'lathe',
    node: e.nodes,
    initializer: e.initializers,
    input: spec.inputs.map((t) => valueInfo((t.node.attrs as { name: string }).name, t.dtype, t.shape)),
    output: graphOutputs,
    valueInfo: [],
    docString: opts.docString,
  };
  pruneUnusedOutputs(graph);
  return {
    irVersion: opts.irVersion ?? irVersionFor(opset),
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'lathe',
    producerVersion: latheVersion(),
    graph,
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}
