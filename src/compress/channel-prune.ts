// Structured channel pruning of an ONNX model: whole conv filters removed, with everything that depends on them, so the
// result is a smaller dense model. A dependency graph over the ONNX graph groups the tensors that share one channel
// space — a conv's output, the BatchNorm and activations after it, and every tensor a residual Add joins to it (the
// Add's inputs and output must keep the same channels, so their producers are pruned together) — and each group's
// channels are ranked by the L1 norm of their filters (summed over the group's producing convs). Removing a channel
// slices its producers' filter rows and biases, the BatchNorm parameters, and the input channels of the convs and the
// columns of the Gemm (after a global pool and Flatten) that read it. A group that reaches anything else (a Concat, a
// Reshape, a graph output, a grouped conv, an op that does not map 0 to 0) is left whole.
import { tensorToTypedArray } from '../onnx/decode.js';
import { typedArrayToTensor } from '../onnx/encode.js';
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { CompressError } from './errors.js';

/** Ops through which channel c of the input is channel c of the output, and a zero channel stays zero. */
const PASS = new Set([
  'Relu',
  'LeakyRelu',
  'Clip',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Identity',
  'Dropout',
]);

/**
 * A set of output channels pruned together: the convs that produce them (convs joined by an Add must lose the same
 * channels), their channel count, and the indices removed.
 */
export interface ChannelGroup {
  /** The convs whose output channels this group is. */
  readonly producers: readonly string[];
  readonly channels: number;
  /** Channel indices removed (ascending). */
  readonly removed: readonly number[];
}

/**
 * What {@link pruneChannels} returns: the smaller model, the channel groups pruned, and the groups left whole with
 * the reason.
 */
export interface ChannelPruneResult {
  readonly model: ModelProto;
  readonly groups: readonly ChannelGroup[];
  /** Groups left whole, with the reason. */
  readonly kept: readonly { readonly producers: readonly string[]; readonly reason: string }[];
}

const attrInt = (n: NodeProto, name: string): number | undefined => {
  const a = n.attribute?.find((x) => x.name === name);
  return a?.i === undefined ? undefined : Number(a.i);
};

/** A Reshape of a pooled [N, C, 1, 1] to rows: a constant shape [n, c] (c = -1 or the channel count). */
function rowsReshape(n: NodeProto, inits: ReadonlyMap<string, TensorProto>): boolean {
  const t = n.input[1] ? inits.get(n.input[1]) : undefined;
  return !!t && t.dims.length === 1 && Number(t.dims[0]) === 2;
}

/** Union-find over tensor names. */
class Groups {
  private parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: string, b: string): void {
    const [x, y] = [this.find(a), this.find(b)];
    if (x !== y) this.parent.set(x, y);
  }
}

interface Plan {
  readonly uf: Groups;
  /** Channel-space tensors (root → producing convs, consumers, blocked reason). */
  readonly producers: Map<string, NodeProto[]>;
  readonly blocked: Map<string, string>;
  readonly channelTensors: Set<string>;
}

function plan(model: ModelProto): Plan {
  const g = model.graph;
  const inits = new Map(g.initializer.map((t) => [t.name!, t] as const));
  const uf = new Groups();
  const channelTensors = new Set<string>();
  const producers = new Map<string, NodeProto[]>();
  const blockedT = new Map<string, string>();
  const block = (t: string, why: string) => {
    if (!blockedT.has(t)) blockedT.set(t, why);
  };
  for (const n of g.node) {
    if (
      n.opType === 'Conv' &&
      inits.has(n.input[1]) &&
      (attrInt(n, 'group') ?? 1) === 1 &&
      inits.get(n.input[1])!.dataType === 1
    ) {
      channelTensors.add(n.output[0]);
      producers.set(n.output[0], [n]);
    }
  }
  // propagate channel spaces forward through the graph (nodes are in topological order)
  for (const n of g.node) {
    const chIn = n.input.filter((i) => channelTensors.has(i));
    if (!chIn.length) continue;
    if (PASS.has(n.opType) || n.opType === 'BatchNormalization') {
      if (n.opType === 'Clip') {
        const lo =
          n.input[1] && inits.has(n.input[1])
            ? (tensorToTypedArray(inits.get(n.input[1])!) as Float32Array)[0]
            : undefined;
        if (lo !== undefined && lo > 0) {
          block(n.input[0], `${n.name}: Clip with min > 0 does not keep a zero channel zero`);
          continue;
        }
      }
      if (n.input[0] !== chIn[0] || chIn.length > 1) {
        block(chIn[0], `${n.name} (${n.opType}) reads the channels as a parameter`);
        continue;
      }
      channelTensors.add(n.output[0]);
      uf.union(n.output[0], n.input[0]);
    } else if (n.opType === 'Add' && chIn.length === 2 && n.input.length === 2) {
      channelTensors.add(n.output[0]);
      uf.union(n.input[0], n.input[1]);
      uf.union(n.output[0], n.input[0]);
    } else if (n.opType === 'Conv' && n.input[0] === chIn[0] && chIn.length === 1 && producers.has(n.output[0])) {
      // a consumer: its weight's input channels (checked below)
    } else if (
      (n.opType === 'Flatten' || (n.opType === 'Reshape' && rowsReshape(n, inits))) &&
      chIn.length === 1 &&
      n.input[0] === chIn[0] &&
      g.node.some(
        (p) => p.output[0] === n.input[0] && (p.opType === 'GlobalAveragePool' || p.opType === 'GlobalMaxPool'),
      )
    ) {
      const readers = g.node.filter((r) => r.input.includes(n.output[0]));
      const ok =
        readers.length > 0 &&
        readers.every(
          (r) => r.opType === 'Gemm' && r.input[0] === n.output[0] && inits.has(r.input[1]) && !attrInt(r, 'transA'),
        );
      if (!ok)
        block(
          chIn[0],
          `${n.name}: the flattened channels are read by something other than a Gemm with a constant weight`,
        );
    } else {
      for (const c of chIn) block(c, `${n.name} (${n.opType}) cannot follow a channel removal`);
    }
  }
  for (const o of g.output) if (channelTensors.has(o.name)) block(o.name, `graph output ${o.name} keeps its channels`);
  const byRoot = new Map<string, NodeProto[]>();
  const blocked = new Map<string, string>();
  for (const t of channelTensors) {
    const r = uf.find(t);
    if (!byRoot.has(r)) byRoot.set(r, []);
    byRoot.get(r)!.push(...(producers.get(t) ?? []));
    if (blockedT.has(t) && !blocked.has(r)) blocked.set(r, blockedT.get(t)!);
  }
  return { uf, producers: byRoot, blocked, channelTensors };
}

/** Copies `data` (dims) keeping index `keep` along `axis`. */
function take(
  data: Float32Array,
  dims: readonly number[],
  axis: number,
  keep: readonly number[],
): { data: Float32Array; dims: number[] } {
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * keep.length * inner);
  for (let o = 0; o < outer; o++) {
    keep.forEach((k, j) =>
      out.set(
        data.subarray((o * dims[axis] + k) * inner, (o * dims[axis] + k + 1) * inner),
        (o * keep.length + j) * inner,
      ),
    );
  }
  const nd = [...dims];
  nd[axis] = keep.length;
  return { data: out, dims: nd };
}

/**
 * Which channels of each prunable group go: the `ratio` with the smallest L1 filter norm (at least one kept). With
 * `multiple` > 1, a group of at least `multiple` channels keeps a multiple of it (the nearest to (1 − ratio)·c).
 */
function choose(model: ModelProto, p: Plan, ratio: number, multiple = 1): Map<string, number[]> {
  const inits = new Map(model.graph.initializer.map((t) => [t.name!, t] as const));
  const out = new Map<string, number[]>();
  for (const [root, convs] of p.producers) {
    if (p.blocked.has(root) || !convs.length) continue;
    const w0 = inits.get(convs[0].input[1])!;
    const c = Number(w0.dims[0]);
    const score = new Float64Array(c);
    for (const conv of convs) {
      const w = inits.get(conv.input[1])!;
      const d = tensorToTypedArray(w) as Float32Array;
      const per = d.length / c;
      for (let k = 0; k < c; k++) for (let i = 0; i < per; i++) score[k] += Math.abs(d[k * per + i]);
    }
    const keep =
      multiple > 1 && c >= multiple
        ? Math.max(multiple, Math.round(((1 - ratio) * c) / multiple) * multiple)
        : undefined;
    const n = keep === undefined ? Math.min(c - 1, Math.floor(ratio * c)) : c - keep;
    if (n <= 0) continue;
    const order = Array.from({ length: c }, (_, i) => i).sort((a, b) => score[a] - score[b] || a - b);
    out.set(
      root,
      order.slice(0, n).sort((a, b) => a - b),
    );
  }
  return out;
}

/**
 * Removes `ratio` of the output channels of every prunable conv group (smallest L1 filter norms) and their dependents.
 * `multiple` (default 1) rounds the channels each group keeps to a multiple of it: ORT's blocked (NCHWc) float
 * convolutions want multiples of 8 on AVX2, and a ResNet pruned to 23/45/90 channels ran slower than the original.
 * Returns the smaller model, the groups pruned and those left whole with the reason.
 */
export function pruneChannels(
  model: ModelProto,
  opts: { readonly ratio: number; readonly multiple?: number },
): ChannelPruneResult {
  if (!(opts.ratio > 0 && opts.ratio < 1))
    throw new CompressError(`prune.ratio: expected a fraction in (0, 1), got ${opts.ratio}`);
  const p = plan(model);
  const removed = choose(model, p, opts.ratio, opts.multiple);
  return { model: applyRemoval(model, p, removed, 'remove'), groups: groupsOf(p, removed, model), kept: keptOf(p) };
}

/** The model with the channels `pruneChannels` would remove set to exactly zero instead (the reference it must equal). */
export function zeroPrunedChannels(model: ModelProto, opts: { readonly ratio: number }): ModelProto {
  const p = plan(model);
  return applyRemoval(model, p, choose(model, p, opts.ratio), 'zero');
}

function groupsOf(p: Plan, removed: Map<string, number[]>, model: ModelProto): ChannelGroup[] {
  const inits = new Map(model.graph.initializer.map((t) => [t.name!, t] as const));
  return [...removed].map(([root, r]) => ({
    producers: p.producers.get(root)!.map((n) => n.name ?? n.output[0]),
    channels: Number(inits.get(p.producers.get(root)![0].input[1])!.dims[0]),
    removed: r,
  }));
}

function keptOf(p: Plan): { producers: string[]; reason: string }[] {
  return [...p.blocked]
    .filter(([r]) => p.producers.get(r)?.length)
    .map(([r, reason]) => ({ producers: p.producers.get(r)!.map((n) => n.name ?? n.output[0]), reason }));
}

function applyRemoval(model: ModelProto, p: Plan, removed: Map<string, number[]>, mode: 'remove' | 'zero'): ModelProto {
  const g = model.graph;
  const inits = new Map(g.initializer.map((t) => [t.name!, t] as const));
  const edits = new Map<string, TensorProto>();
  const current = (name: string): { data: Float32Array; dims: number[] } => {
    const t = edits.get(name) ?? inits.get(name)!;
    return { data: Float32Array.from(tensorToTypedArray(t) as Float32Array), dims: t.dims.map(Number) };
  };
  const edit = (name: string, axis: number, drop: readonly number[], zeroValue = 0) => {
    const { data, dims } = current(name);
    const dropSet = new Set(drop);
    if (mode === 'remove') {
      const keep = Array.from({ length: dims[axis] }, (_, i) => i).filter((i) => !dropSet.has(i));
      const r = take(data, dims, axis, keep);
      edits.set(name, typedArrayToTensor(name, r.data, r.dims));
    } else {
      const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1),
        inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      for (let o = 0; o < outer; o++)
        for (const k of drop) data.fill(zeroValue, (o * dims[axis] + k) * inner, (o * dims[axis] + k + 1) * inner);
      edits.set(name, typedArrayToTensor(name, data, dims));
    }
  };
  const shared = new Set<string>();
  const touch = (name: string) => {
    if (shared.has(name))
      throw new CompressError(`channel pruning: initializer ${name} is read by two pruned layers; not supported`);
    shared.add(name);
  };
  for (const n of g.node) {
    const inRoot = n.input[0] && p.channelTensors.has(n.input[0]) ? p.uf.find(n.input[0]) : undefined;
    const outRoot = n.output[0] && p.channelTensors.has(n.output[0]) ? p.uf.find(n.output[0]) : undefined;
    if (n.opType === 'Conv' && outRoot && removed.has(outRoot) && p.producers.get(outRoot)!.includes(n)) {
      const r = removed.get(outRoot)!;
      touch(n.input[1]);
      edit(n.input[1], 0, r);
      if (n.input[2]) {
        touch(n.input[2]);
        edit(n.input[2], 0, r);
      }
    }
    if (n.opType === 'Conv' && inRoot && removed.has(inRoot) && mode === 'remove')
      edit(n.input[1], 1, removed.get(inRoot)!);
    if (n.opType === 'BatchNormalization' && inRoot && removed.has(inRoot)) {
      // zeroed: scale and shift 0 make the channel's output exactly 0 whatever its mean and variance
      for (const [i, name] of n.input.slice(1).entries()) {
        touch(name);
        if (mode === 'remove' || i < 2) edit(name, 0, removed.get(inRoot)!, 0);
      }
    }
    if (n.opType === 'Reshape' && inRoot && removed.has(inRoot) && mode === 'remove') {
      touch(n.input[1]);
      const shape = tensorToTypedArray(edits.get(n.input[1]) ?? inits.get(n.input[1])!) as BigInt64Array;
      const c = Number(inits.get(p.producers.get(inRoot)![0].input[1])!.dims[0]);
      if (Number(shape[1]) === c)
        edits.set(
          n.input[1],
          typedArrayToTensor(n.input[1], BigInt64Array.from([shape[0], BigInt(c - removed.get(inRoot)!.length)]), [2]),
        );
    }
    if ((n.opType === 'Flatten' || n.opType === 'Reshape') && inRoot && removed.has(inRoot) && mode === 'remove') {
      for (const r of g.node.filter((x) => x.opType === 'Gemm' && x.input[0] === n.output[0]))
        edit(r.input[1], attrInt(r, 'transB') ? 1 : 0, removed.get(inRoot)!);
    }
  }
  return {
    ...model,
    // the shapes recorded for intermediate tensors are stale now: ORT infers them again
    graph: {
      ...g,
      initializer: g.initializer.map((t) => edits.get(t.name!) ?? t),
      valueInfo: mode === 'remove' ? [] : g.valueInfo,
    },
  };
}
