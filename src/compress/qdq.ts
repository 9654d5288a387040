// The QDQ rewrite: a float ModelProto and a plan (qdq-plan.ts) with calibrated ranges become a model in which every
// planned tensor passes through QuantizeLinear → DequantizeLinear and every planned weight is stored as int8 behind a
// DequantizeLinear (per-channel along the output axis, or per-tensor), biases as int32 with scale x_scale·w_scale.
// The result is still a plain ONNX model (it runs anywhere, simulating int8 in float); ONNX Runtime recognises the
// DQ → op → Q groups and runs them as integer kernels (QLinearConv, QGemm, QLinearAdd, ...).
import { int8MayOverflow } from './cpu-features.js';
import { tensorToTypedArray } from '../onnx/decode.js';
import { typedArrayToTensor } from '../onnx/encode.js';
import { pruneUnusedOutputs } from '../onnx/prune.js';
import type { AttributeProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { CompressError } from './errors.js';
import type { QuantPlan, WeightUse } from './qdq-plan.js';
import {
  activationParams,
  quantizeBias,
  quantizeWeight,
  quantRange,
  roundHalfEven,
  type QuantParams,
  type QuantType,
} from './quant-params.js';

/** Options of {@link insertQdq}: the activation type and 7-bit weights. */
export interface QdqOptions {
  /** Activation type (default 'uint8': ORT's u8·s8 kernels). */
  readonly activationType?: QuantType;
  /** 7-bit weights; default: on when this CPU lacks VNNI (see cpu-features.ts). */
  readonly reduceRange?: boolean;
}

/** Calibrated [min, max] range of each observed tensor, by tensor name. */
export type Ranges = ReadonlyMap<string, readonly [number, number]>;

const intAttr = (name: string, i: number): AttributeProto => ({ name, type: 2, i });

/** The Q/DQ parameters of every planned tensor, from the calibrated ranges (inherited ones copied). */
export function tensorParams(plan: QuantPlan, ranges: Ranges, type: QuantType): Map<string, QuantParams> {
  const out = new Map<string, QuantParams>();
  for (const [t, src] of plan.tensors) {
    if (src.kind === 'inherit') {
      const p = out.get(src.from);
      if (!p) throw new Error(`qdq: ${t} inherits the range of ${src.from}, which has none`);
      out.set(t, p);
      continue;
    }
    const r = ranges.get(src.observe);
    if (!r) throw new CompressError(`no calibrated range for tensor "${src.observe}" (calibration did not observe it)`);
    const lo = src.clampMin === undefined ? r[0] : Math.max(r[0], src.clampMin);
    const hi = src.clampMax === undefined ? r[1] : Math.min(r[1], src.clampMax);
    out.set(t, activationParams(Math.min(lo, hi), hi, type));
  }
  return out;
}

/** Returns a new model with the plan's Q/DQ nodes and quantized weights (the input model is not changed). */
export function insertQdq(model: ModelProto, plan: QuantPlan, ranges: Ranges, opts: QdqOptions = {}): ModelProto {
  const type = opts.activationType ?? 'uint8';
  const reduceRange = opts.reduceRange ?? int8MayOverflow();
  const g = model.graph;
  const params = tensorParams(plan, ranges, type);
  const inits = new Map(g.initializer.filter((t) => t.name).map((t) => [t.name!, t]));
  const newInits: TensorProto[] = [];
  const head: NodeProto[] = []; // weight DQs and graph-input Q/DQs: they depend on nothing computed
  const used = new Set<string>([
    ...g.node.flatMap((n) => [...n.input, ...n.output]),
    ...inits.keys(),
    ...g.input.map((i) => i.name),
  ]);
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  const scalarParams = (base: string, p: QuantParams): [string, string] => {
    const s = fresh(`${base}_scale`);
    const z = fresh(`${base}_zero_point`);
    newInits.push(typedArrayToTensor(s, Float32Array.of(p.scale), []));
    newInits.push(
      typedArrayToTensor(z, p.type === 'int8' ? Int8Array.of(p.zeroPoint) : Uint8Array.of(p.zeroPoint), []),
    );
    return [s, z];
  };

  // nodes: folded activations removed, their producers writing the activation's output
  const foldedInto = new Map<string, NodeProto>();
  for (const n of g.node) if (plan.folded.has(n.name!)) foldedInto.set(plan.folded.get(n.name!)!, n);
  const nodes = g.node
    .filter((n) => !plan.folded.has(n.name!))
    .map((n): NodeProto => {
      const act = foldedInto.get(n.name!);
      return { ...n, input: [...n.input], output: act ? [act.output[0], ...n.output.slice(1)] : [...n.output] };
    });
  const byName = new Map(nodes.map((n) => [n.name!, n]));
  const original = new Map(g.node.map((n) => [n.name!, n]));

  // activations: Q/DQ after the producer (or at the head for graph inputs); readers read the DQ output. A graph
  // output keeps its name on the DQ output, and its producer writes a new name.
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const readAs = new Map<string, string>();
  const qdqAfter = new Map<string, NodeProto[]>(); // tensor → its Q and DQ
  const producerOut = new Map<string, string>(); // graph output → the name its producer writes now
  for (const [t, p] of params) {
    const [s, z] = scalarParams(t, p);
    let src = t,
      dst: string;
    if (graphOutputs.has(t)) {
      src = fresh(`${t}_float`);
      producerOut.set(t, src);
      dst = t;
    } else dst = fresh(`${t}_dq`);
    const q = fresh(`${t}_quantized`);
    readAs.set(t, dst);
    qdqAfter.set(t, [
      { opType: 'QuantizeLinear', name: fresh(`${t}_QuantizeLinear`), input: [src, s, z], output: [q], attribute: [] },
      {
        opType: 'DequantizeLinear',
        name: fresh(`${t}_DequantizeLinear`),
        input: [q, s, z],
        output: [dst],
        attribute: [],
      },
    ]);
  }

  // weights, biases and constants: stored quantized behind a DequantizeLinear, one per (initializer, axis)
  const weightDq = new Map<string, { out: string; scales: Float32Array }>();
  const dq = (
    base: string,
    data: Int8Array | Uint8Array | Int32Array,
    dims: readonly number[],
    scales: Float32Array,
    zeros: Int8Array | Uint8Array | Int32Array,
    axis: number | undefined,
  ): string => {
    const qn = fresh(`${base}_quantized`),
      sn = fresh(`${base}_scale`),
      zn = fresh(`${base}_zero_point`),
      out = fresh(`${base}_dequantized`);
    const vec = axis !== undefined;
    newInits.push(
      typedArrayToTensor(qn, data, dims),
      typedArrayToTensor(sn, scales, vec ? [scales.length] : []),
      typedArrayToTensor(zn, zeros, vec ? [zeros.length] : []),
    );
    head.push({
      opType: 'DequantizeLinear',
      name: fresh(`${base}_DequantizeLinear`),
      input: [qn, sn, zn],
      output: [out],
      attribute: vec ? [intAttr('axis', axis)] : [],
    });
    return out;
  };
  const floatData = (name: string): { data: Float32Array; dims: readonly number[] } => {
    const t = inits.get(name)!;
    return { data: tensorToTypedArray(t) as Float32Array, dims: t.dims };
  };
  const weightOf = (u: WeightUse): { out: string; scales: Float32Array } => {
    const name = original.get(u.node)!.input[u.input];
    const key = `${name}|${u.axis ?? 'tensor'}`;
    let w = weightDq.get(key);
    if (!w) {
      const { data, dims } = floatData(name);
      const q = quantizeWeight(data, dims, u.axis, reduceRange);
      const per = u.axis !== undefined;
      w = { out: dq(name, q.data, dims, q.scales, new Int8Array(per ? q.scales.length : 1), u.axis), scales: q.scales };
      weightDq.set(key, w);
    }
    return w;
  };
  const weightUses = [...plan.weights].sort((a, b) => (a.role === 'bias' ? 1 : 0) - (b.role === 'bias' ? 1 : 0));
  for (const u of weightUses) {
    const n = byName.get(u.node)!;
    const name = original.get(u.node)!.input[u.input];
    if (u.role === 'weight') n.input[u.input] = weightOf(u).out;
    else if (u.role === 'bias') {
      const x = params.get(original.get(u.node)!.input[0]);
      const wUse = plan.weights.find((v) => v.node === u.node && v.role === 'weight')!;
      const w = weightOf(wUse);
      if (!x) throw new Error(`qdq: the input of ${u.node} has no quantization parameters`);
      const { data } = floatData(name);
      if (w.scales.length !== 1 && w.scales.length !== data.length)
        throw new CompressError(
          `node ${u.node}: bias "${name}" has ${data.length} values for ${w.scales.length} output channels`,
        );
      const b = quantizeBias(data, x.scale, w.scales);
      const perChannel = w.scales.length !== 1;
      // one scale per channel, or the one shared scale for a per-tensor weight
      n.input[u.input] = dq(
        `${name}_${u.node}`,
        b.data,
        [data.length],
        perChannel ? b.scales : b.scales.subarray(0, 1),
        new Int32Array(perChannel ? data.length : 1),
        perChannel ? 0 : undefined,
      );
    } else {
      const key = `${name}|const`;
      let c = weightDq.get(key);
      if (!c) {
        const { data, dims } = floatData(name);
        let lo = 0,
          hi = 0;
        for (const v of data) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        const p = activationParams(lo, hi, type);
        const [qmin, qmax] = quantRange(type);
        const qd = type === 'int8' ? new Int8Array(data.length) : new Uint8Array(data.length);
        for (let i = 0; i < data.length; i++)
          qd[i] = Math.min(qmax, Math.max(qmin, roundHalfEven(data[i] / p.scale) + p.zeroPoint));
        const zeros = type === 'int8' ? Int8Array.of(p.zeroPoint) : Uint8Array.of(p.zeroPoint);
        c = { out: dq(name, qd, dims, Float32Array.of(p.scale), zeros, undefined), scales: Float32Array.of(p.scale) };
        weightDq.set(key, c);
      }
      n.input[u.input] = c.out;
    }
  }

  // emit: head, graph-input Q/DQs, then each node followed by the Q/DQs of its outputs; reads renamed to DQ outputs
  const out: NodeProto[] = [...head];
  for (const i of g.input) if (qdqAfter.has(i.name)) out.push(...qdqAfter.get(i.name)!);
  for (const n of nodes) {
    const written = [...n.output];
    n.input = n.input.map((i) => readAs.get(i) ?? i);
    n.output = n.output.map((o) => producerOut.get(o) ?? o);
    out.push(n);
    for (const o of written) if (qdqAfter.has(o)) out.push(...qdqAfter.get(o)!);
  }
  const graph = { ...g, node: out, initializer: [...g.initializer, ...newInits], valueInfo: [] };
  const result: ModelProto = { ...model, graph };
  pruneUnusedOutputs(result.graph);
  return result;
}
