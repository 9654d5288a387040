// Imports an ONNX model into a lathe graph that can be run, differentiated and fine-tuned. Float initializers
// become parameters; shape arithmetic (Shape → Gather → Concat → Reshape, as exporters write it) is folded at
// trace time into symbolic shapes.
import { readFileSync } from 'node:fs';
import { dtypeFromOnnx, isFloat } from '../graph/dtype.js';
import { ndarray, type NDArray } from '../graph/ndarray.js';
import * as op from '../graph/ops/index.js';
import type { Dim, Shape } from '../graph/shape.js';
import { Tensor } from '../graph/tensor.js';
import { decodeModel, denseSparseInitializers, localFunctionNames, tensorToTypedArray } from './decode.js';
import type { AttributeProto, ModelProto, NodeProto, TensorProto } from './proto.js';

/** A value during import: a traced tensor, or a small host-known integer vector (shape arithmetic). */
type Value = Tensor | { readonly host: readonly Dim[]; readonly scalar: boolean };

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
  /** Rebuilds the graph over traced inputs and parameters; returns the outputs by name. */
  apply(inputs: Readonly<Record<string, Tensor>>, params: Readonly<Record<string, Tensor>>): Record<string, Tensor>;
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
  const model: ModelProto = typeof source === 'string' ? decodeModel(readFileSync(source)) : source instanceof Uint8Array ? decodeModel(source) : source;
  const g = model.graph;
  const functions = new Set(localFunctionNames(model));
  for (const n of g.node) {
    if (functions.has(`${n.domain ?? ''}:${n.opType}`)) {
      throw new Error(`importOnnx: node ${n.name ?? ''} calls the model-local function ${n.domain ? `${n.domain}.` : ''}${n.opType}; importOnnx does not inline functions yet (ORT runs such models as they are: use lathe serve or predict)`);
    }
  }
  const inits = new Map([...g.initializer, ...denseSparseInitializers(g)].map((t) => [t.name ?? '', tensorProtoToNDArray(t)]));
  const params: Record<string, NDArray> = {};
  const constants: Record<string, NDArray> = {};
  for (const [k, v] of inits) (isFloat(v.dtype) && v.shape.length > 0 ? params : constants)[k] = v;
  const inputs = g.input
    .filter((vi) => !inits.has(vi.name))
    .map((vi) => {
      const tt = vi.type?.tensorType;
      if (!tt) throw new Error(`importOnnx: input ${vi.name} is not a tensor`);
      const shape = (tt.shape?.dim ?? []).map((d, i): Dim => ('dimValue' in d && d.dimValue !== undefined ? Number(d.dimValue) : 'dimParam' in d && d.dimParam ? d.dimParam : `${vi.name}_d${i}`));
      return { name: vi.name, dtype: dtypeFromOnnx(tt.elemType), shape };
    });
  const outputs = g.output.map((o) => o.name);
  return {
    name: g.name ?? 'imported',
    inputs,
    outputs,
    params,
    constants,
    apply(feeds, ps) {
      const env = new Map<string, Value>();
      for (const i of inputs) {
        const t = feeds[i.name];
        if (!t) throw new Error(`importOnnx: missing input ${i.name}`);
        env.set(i.name, t);
      }
      for (const [k, v] of Object.entries(constants)) env.set(k, hostOrConst(v));
      for (const k of Object.keys(params)) {
        const t = ps[k];
        if (!t) throw new Error(`importOnnx: missing parameter ${k}`);
        env.set(k, t);
      }
      for (const n of g.node) {
        let outs: Value[];
        try {
          outs = lowerNode(
            n,
            n.input.map((name) => {
              if (name === '') return undefined; // an optional input left out
              const v = env.get(name);
              if (v === undefined) throw new Error(`input '${name}' is not a graph input, an initializer or an output of an earlier node`);
              return v;
            }),
          );
        } catch (err) {
          throw new Error(`importOnnx: node ${n.name ?? ''} (${n.opType}): ${(err as Error).message}`);
        }
        n.output.forEach((name, i) => outs[i] !== undefined && env.set(name, outs[i]));
      }
      return Object.fromEntries(outputs.map((o) => [o, asTensor(env.get(o), o)]));
    },
  };
}

function hostOrConst(v: NDArray): Value {
  if ((v.dtype === 'int64' || v.dtype === 'int32') && v.shape.length <= 1 && (v.data as ArrayLike<unknown>).length <= 16) {
    return { host: Array.from(v.data as ArrayLike<number | bigint>, Number), scalar: v.shape.length === 0 };
  }
  return op.constant(v);
}

function asTensor(v: Value | undefined, what: string): Tensor {
  if (v === undefined) throw new Error(`value ${what} is not defined`);
  if (v instanceof Tensor) return v;
  if (v.host.some((d) => typeof d !== 'number')) throw new Error(`symbolic shape value ${JSON.stringify(v.host)} used as a tensor`);
  return op.constant(ndarray('int64', v.scalar ? [] : [v.host.length], v.host as number[]));
}

function hostInts(v: Value | undefined, what: string): Dim[] {
  if (v === undefined) throw new Error(`${what} is missing`);
  if (v instanceof Tensor) throw new Error(`${what} must be a constant known at import time`);
  return [...v.host];
}

function lowerNode(n: NodeProto, ins: (Value | undefined)[]): Value[] {
  const a = attrs(n);
  const T = (i: number) => asTensor(ins[i], `input ${i}`);
  switch (n.opType) {
    case 'Identity': case 'Dropout': {
      const x = ins[0];
      if (x === undefined) throw new Error('input 0 is missing');
      return [x];
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      const [x, y] = ins;
      if (x && y && !(x instanceof Tensor) && !(y instanceof Tensor) && x.host.every((d) => typeof d === 'number') && y.host.every((d) => typeof d === 'number')) {
        const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q, Div: (p: number, q: number) => Math.trunc(p / q) }[n.opType];
        const len = Math.max(x.host.length, y.host.length);
        return [{ host: Array.from({ length: len }, (_, i) => f(x.host[x.host.length === 1 ? 0 : i] as number, y.host[y.host.length === 1 ? 0 : i] as number)), scalar: x.scalar && y.scalar }];
      }
      const fn = { Add: op.add, Sub: op.sub, Mul: op.mul, Div: op.div }[n.opType];
      return [fn(T(0), T(1))];
    }
    case 'Pow': return [op.pow(T(0), T(1))];
    case 'Neg': return [op.neg(T(0))];
    case 'Abs': return [op.abs(T(0))];
    case 'Exp': return [op.exp(T(0))];
    case 'Log': return [op.log(T(0))];
    case 'Sqrt': return [op.sqrt(T(0))];
    case 'Reciprocal': return [op.reciprocal(T(0))];
    case 'Sin': return [op.sin(T(0))];
    case 'Cos': return [op.cos(T(0))];
    case 'Tanh': return [op.tanh(T(0))];
    case 'Sigmoid': return [op.sigmoid(T(0))];
    case 'Relu': return [op.relu(T(0))];
    case 'Erf': return [op.erf(T(0))];
    case 'LeakyRelu': return [op.leakyRelu(T(0), floatAttr(a, 'alpha', 0.01))];
    case 'Elu': return [op.elu(T(0), floatAttr(a, 'alpha', 1))];
    case 'Gelu': return [op.gelu(T(0), strAttr(a, 'approximate', 'none') as 'none' | 'tanh')];
    case 'Max': return [op.maximum(T(0), T(1))];
    case 'Min': return [op.minimum(T(0), T(1))];
    case 'Where': return [op.where(T(0), T(1), T(2))];
    case 'Equal': return [op.equal(T(0), T(1))];
    case 'Less': return [op.less(T(0), T(1))];
    case 'Greater': return [op.greater(T(0), T(1))];
    case 'Not': return [op.logicalNot(T(0))];
    case 'Cast': return [op.cast(T(0), dtypeFromOnnx(intAttr(a, 'to', 1)))];
    case 'MatMul': return [op.matmul(T(0), T(1))];
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
      const pads = intsAttr(a, 'pads');
      const w = T(1);
      if (x.rank !== 4) throw new Error('only 2-D convolutions are imported');
      if (strAttr(a, 'auto_pad', 'NOTSET') !== 'NOTSET') throw new Error('auto_pad is not supported; export with explicit pads');
      return [op.conv2dRaw(x, w, ins[2] ? T(2) : undefined, {
        strides: (intsAttr(a, 'strides') ?? [1, 1]) as [number, number],
        pads: (pads ?? [0, 0, 0, 0]) as [number, number, number, number],
        dilations: (intsAttr(a, 'dilations') ?? [1, 1]) as [number, number],
        group: intAttr(a, 'group', 1),
      })];
    }
    case 'MaxPool': {
      const k = requiredIntsAttr(a, 'kernel_shape');
      const p = intsAttr(a, 'pads') ?? [0, 0, 0, 0];
      if (p[0] !== p[2] || p[1] !== p[3]) throw new Error('asymmetric pooling pads are not supported');
      return [op.maxPool2d(T(0), [k[0], k[1]], { stride: (intsAttr(a, 'strides') ?? k) as [number, number], padding: [p[0], p[1]] })];
    }
    case 'AveragePool': {
      const k = requiredIntsAttr(a, 'kernel_shape');
      const p = intsAttr(a, 'pads') ?? [0, 0, 0, 0];
      return [op.avgPool2d(T(0), [k[0], k[1]], { stride: (intsAttr(a, 'strides') ?? k) as [number, number], padding: [p[0], p[1]], countIncludePad: intAttr(a, 'count_include_pad', 0) === 1 })];
    }
    case 'GlobalAveragePool': return [op.globalAvgPool(T(0))];
    case 'Flatten': {
      const x = T(0);
      const axis = intAttr(a, 'axis', 1);
      const ax = axis < 0 ? axis + x.rank : axis;
      return [op.reshape(op.flatten(op.flatten(x, ax), 0, ax === 0 ? 0 : ax - 1), ax === 0 ? [1, -1] : [x.shape.slice(0, ax).reduce<Dim>((p, d) => (typeof p === 'number' && typeof d === 'number' ? p * d : `${p}*${d}`), 1), -1])];
    }
    case 'Reshape': {
      const x = T(0);
      const target = hostInts(ins[1], 'Reshape shape').map((d, i) => (d === 0 ? x.shape[i] : d));
      return [op.reshape(x, target)];
    }
    case 'Transpose': return [op.transpose(T(0), intsAttr(a, 'perm'))];
    case 'Squeeze': return [op.squeeze(T(0), ins[1] ? (hostInts(ins[1], 'axes') as number[]) : intsAttr(a, 'axes'))];
    case 'Unsqueeze': {
      const axes = (ins[1] ? hostInts(ins[1], 'axes') : requiredIntsAttr(a, 'axes')) as number[];
      const x = ins[0];
      if (x && !(x instanceof Tensor) && x.scalar && axes.length === 1) return [{ host: x.host, scalar: false }];
      return [op.unsqueeze(T(0), axes)];
    }
    case 'Concat': {
      if (ins.every((v) => v && !(v instanceof Tensor))) return [{ host: ins.flatMap((v) => [...(v as { readonly host: readonly Dim[] }).host]), scalar: false }];
      return [op.concat(ins.map((_, i) => T(i)), intAttr(a, 'axis', 0))];
    }
    case 'Shape': {
      const x = T(0);
      return [{ host: [...x.shape], scalar: false }];
    }
    case 'Gather': {
      const src = ins[0];
      if (src && !(src instanceof Tensor)) {
        const idx = hostInts(ins[1], 'Gather indices') as number[];
        const picked = idx.map((i) => src.host[i < 0 ? i + src.host.length : i]);
        return [{ host: picked, scalar: !!ins[1] && !(ins[1] instanceof Tensor) && ins[1].scalar }];
      }
      return [op.gather(T(0), T(1), intAttr(a, 'axis', 0))];
    }
    case 'Constant': {
      const t = a.get('value')?.t;
      if (!t) throw new Error('only tensor-valued Constant nodes are supported');
      return [hostOrConst(tensorProtoToNDArray(t))];
    }
    case 'Softmax': return [op.softmax(T(0), intAttr(a, 'axis', -1))];
    case 'LogSoftmax': return [op.logSoftmax(T(0), intAttr(a, 'axis', -1))];
    case 'ReduceMean': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': {
      const axes = ins[1] ? (hostInts(ins[1], 'axes') as number[]) : intsAttr(a, 'axes');
      const keep = intAttr(a, 'keepdims', 1) === 1;
      const fn = { ReduceMean: op.mean, ReduceSum: op.sum, ReduceMax: op.max, ReduceMin: op.min }[n.opType];
      return [fn(T(0), axes, keep)];
    }
    case 'BatchNormalization': {
      const r = op.batchNorm(T(0), T(1), T(2), T(3), T(4), { training: false, eps: floatAttr(a, 'epsilon', 1e-5) });
      return [r.y];
    }
    case 'LayerNormalization': {
      const x = T(0);
      const axis = intAttr(a, 'axis', -1);
      const k = x.rank - (axis < 0 ? axis + x.rank : axis);
      return [op.layerNorm(x, T(1), ins[2] ? T(2) : undefined, { eps: floatAttr(a, 'epsilon', 1e-5), normalizedDims: k })];
    }
    case 'Slice': {
      const starts = hostInts(ins[1], 'starts') as number[];
      const ends = hostInts(ins[2], 'ends') as number[];
      const axes = ins[3] ? (hostInts(ins[3], 'axes') as number[]) : undefined;
      const steps = ins[4] ? (hostInts(ins[4], 'steps') as number[]) : undefined;
      return [op.slice(T(0), { starts, ends, axes, steps })];
    }
    case 'Pad': {
      const pads = hostInts(ins[1], 'pads') as number[];
      const mode = strAttr(a, 'mode', 'constant') as op.PadMode;
      return [op.pad(T(0), pads, mode, 0)];
    }
    case 'Expand': return [op.expand(T(0), hostInts(ins[1], 'Expand shape'))];
    case 'Tile': return [op.tile(T(0), hostInts(ins[1], 'repeats') as number[])];
    case 'Split': {
      const sizes = ins[1] ? (hostInts(ins[1], 'split') as number[]) : intsAttr(a, 'split') ?? n.output.length;
      return op.split(T(0), sizes, intAttr(a, 'axis', 0));
    }
    case 'CumSum': return [op.cumsum(T(0), Number(hostInts(ins[1], 'axis')[0]), { exclusive: intAttr(a, 'exclusive', 0) === 1, reverse: intAttr(a, 'reverse', 0) === 1 })];
    case 'ConvTranspose': {
      const p = intsAttr(a, 'pads') ?? [0, 0, 0, 0];
      return [op.convTranspose2dRaw(T(0), T(1), ins[2] ? T(2) : undefined, {
        strides: (intsAttr(a, 'strides') ?? [1, 1]) as [number, number], pads: p as [number, number, number, number],
        dilations: (intsAttr(a, 'dilations') ?? [1, 1]) as [number, number], group: intAttr(a, 'group', 1),
        outputPadding: (intsAttr(a, 'output_padding') ?? [0, 0]) as [number, number],
      })];
    }
    default:
      throw new Error(`ONNX op ${n.opType} is not supported by the importer`);
  }
}
