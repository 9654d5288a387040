// Model summaries: a layer table (module path, type, output shape, parameters, FLOPs) from one traced forward pass.
// Shapes are the graph's own inferred shapes; FLOPs come from walking the traced graph and counting the
// multiply-accumulates of every MatMul / Gemm / Conv / ConvTranspose node from its operand shapes (FLOPs = 2·MACs;
// elementwise ops, norms and softmax are not counted), each node charged to the innermost module whose method
// created it.
import type { DType } from '../graph/dtype.js';
import { placeholder, scalar } from '../graph/ops/leaf.js';
import { formatShape, type Dim, type Shape } from '../graph/shape.js';
import { Tensor, type Node } from '../graph/tensor.js';
import { reachable } from '../graph/traverse.js';
import { withFrozenParameters } from '../nn/export.js';
import { Module } from '../nn/module.js';

/** One model input for {@link summarize}: its dtype and full shape including the batch dim. */
export interface SummaryInput {
  readonly dtype: DType;
  /** Full shape including the batch dim; every dim must be a number for FLOPs. */
  readonly shape: readonly number[];
}

/** One row of a model summary: a module, its output shape, its parameters and its multiply-accumulates. */
export interface LayerRow {
  /** Dotted module path ('' for the model itself). */
  readonly path: string;
  readonly type: string;
  readonly depth: number;
  /** Shape of the module's output in its first call (undefined when it was never called). */
  readonly outputShape?: Shape;
  /** Parameters of this module and its children. */
  readonly params: number;
  /** Multiply-accumulates of MatMul/Gemm/Conv nodes created inside this module (children included). */
  readonly macs: number;
}

/**
 * What {@link summarize} returns: one row per module plus totals of parameters, MACs and FLOPs, the node count and the
 * output shapes.
 */
export interface ModelSummary {
  readonly rows: readonly LayerRow[];
  readonly totalParams: number;
  readonly trainableParams: number;
  readonly totalMacs: number;
  /** 2 · totalMacs. */
  readonly totalFlops: number;
  /** Graph nodes traced in the forward pass. */
  readonly nodes: number;
  readonly outputShapes: readonly Shape[];
}

const size = (s: readonly Dim[]): number => s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
const dim = (d: Dim): number => (typeof d === 'number' ? d : NaN);

/** Multiply-accumulates of one node (0 for ops that are not products). */
export function nodeMacs(n: Node): number {
  const out = n.outputs[0];
  if (!out) return 0;
  switch (n.prim.name) {
    case 'matmul': {
      const a = n.inputs[0];
      return size(out.shape) * dim(a.shape[a.rank - 1]);
    }
    case 'gemm': {
      const a = n.inputs[0];
      const transA = (n.attrs as { transA?: boolean }).transA;
      return size(out.shape) * dim(a.shape[transA ? 0 : 1]);
    }
    case 'conv2d': {
      const w = n.inputs[1]; // [Cout, Cin/g, kh, kw]
      return size(out.shape) * size(w.shape.slice(1));
    }
    case 'convTranspose2d': {
      const x = n.inputs[0];
      const w = n.inputs[1]; // [Cin, Cout/g, kh, kw]
      return size(x.shape) * size(w.shape.slice(1));
    }
    default:
      return 0;
  }
}

/** Methods a module defines itself (forward, run, attend, ...), found on its prototype chain below Module. */
function ownMethods(m: Module): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(m); p && p !== Module.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(p, k);
      if (d && typeof d.value === 'function') names.add(k);
    }
  }
  names.add('forward');
  return [...names];
}

const firstTensor = (v: unknown): Tensor | undefined => {
  if (v instanceof Tensor) return v;
  if (Array.isArray(v))
    for (const x of v) {
      const t = firstTensor(x);
      if (t) return t;
    }
  else if (v && typeof v === 'object')
    for (const x of Object.values(v)) {
      const t = firstTensor(x);
      if (t) return t;
    }
  return undefined;
};

const nextNodeId = (): number => scalar(0).node.id;

/**
 * Traces `model.forward(...inputs)` in eval mode and returns the layer table. Every module's own methods are
 * wrapped for the duration of the trace to record which graph nodes they create; nothing runs in ONNX Runtime.
 */
export function summarize(model: Module, inputs: readonly SummaryInput[]): ModelSummary {
  const modules: [string, Module][] = [];
  const walk = (m: Module, path: string): void => {
    modules.push([path, m]);
    for (const [k, c] of m.children()) walk(c, path ? `${path}.${k}` : k);
  };
  walk(model, '');
  const depthOf = (path: string): number => (path ? path.split('.').filter((s) => !/^\d+$/.test(s)).length : 0);
  const spans: { path: string; start: number; end: number }[] = [];
  const firstOut = new Map<string, { start: number; shape: Shape }>();
  const restore: (() => void)[] = [];
  for (const [path, m] of modules) {
    for (const name of ownMethods(m)) {
      const original = (m as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
      const wrapped = (...args: unknown[]): unknown => {
        const start = nextNodeId();
        const r = original.apply(m, args);
        spans.push({ path, start, end: nextNodeId() });
        // the output of a module's outermost first call (forward, not the helpers it calls)
        const t = firstTensor(r);
        const seen = firstOut.get(path);
        if (t && (!seen || start < seen.start)) firstOut.set(path, { start, shape: t.shape });
        return r;
      };
      Object.defineProperty(m, name, { value: wrapped, configurable: true, writable: true });
      restore.push(() => delete (m as unknown as Record<string, unknown>)[name]);
    }
  }
  let outputs: Tensor[];
  try {
    outputs = withFrozenParameters(model, () => {
      const xs = inputs.map((s, i) => placeholder(`input${i}`, s.dtype, s.shape));
      const r = (model.forward as (...a: Tensor[]) => unknown)(...xs);
      const list: Tensor[] = [];
      const collect = (v: unknown): void => {
        if (v instanceof Tensor) list.push(v);
        else if (Array.isArray(v)) v.forEach(collect);
        else if (v && typeof v === 'object') Object.values(v).forEach(collect);
      };
      collect(r);
      return list;
    });
  } finally {
    for (const f of restore) f();
  }
  // charge each product node to the innermost (deepest, then latest-starting) span containing it
  const macsOf = new Map<string, number>();
  const nodes = reachable(outputs);
  for (const n of nodes) {
    const macs = nodeMacs(n);
    if (!macs) continue;
    let best: (typeof spans)[number] | undefined;
    for (const s of spans) {
      if (n.id < s.start || n.id >= s.end) continue;
      if (!best || s.path.length > best.path.length || (s.path.length === best.path.length && s.start > best.start))
        best = s;
    }
    const path = best?.path ?? '';
    macsOf.set(path, (macsOf.get(path) ?? 0) + macs);
  }
  const rows: LayerRow[] = modules.map(([path, m]) => {
    let macs = 0;
    for (const [p, v] of macsOf) if (p === path || path === '' || p.startsWith(path + '.')) macs += v;
    return {
      path,
      type: m.constructor.name,
      depth: depthOf(path),
      outputShape: firstOut.get(path)?.shape,
      params: m.parameterCount(),
      macs,
    };
  });
  const totalMacs = [...macsOf.values()].reduce((a, b) => a + b, 0);
  const trainable = model
    .namedParameters()
    .filter(([, p]) => !p.frozen)
    .reduce((n, [, p]) => n + p.data.shape.reduce((a, b) => a * b, 1), 0);
  return {
    rows,
    totalParams: model.parameterCount(),
    trainableParams: trainable,
    totalMacs,
    totalFlops: 2 * totalMacs,
    nodes: nodes.length,
    outputShapes: outputs.map((t) => t.shape),
  };
}

/** Human units: 1234567 → "1.23M". */
export function humanCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [v, u] of units) if (Math.abs(n) >= v) return `${(n / v).toFixed(2)}${u}`;
  return String(n);
}

/** The summary as a fixed-width text table (rows up to `maxDepth` levels deep) with totals. */
export function formatSummary(s: ModelSummary, opts: { maxDepth?: number } = {}): string {
  const rows = s.rows.filter((r) => r.depth <= (opts.maxDepth ?? Infinity));
  const table = rows.map((r) => [
    r.path ? `${'  '.repeat(Math.max(0, r.depth - 1))}${r.path}` : '(model)',
    r.type,
    r.outputShape ? formatShape(r.outputShape) : '-',
    r.params.toLocaleString('en-US'),
    humanCount(2 * r.macs),
  ]);
  const head = ['module', 'type', 'output shape', 'params', 'FLOPs'];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.map(line),
    '',
    `total params      ${s.totalParams.toLocaleString('en-US')} (${s.trainableParams.toLocaleString('en-US')} trainable)`,
    `forward FLOPs     ${humanCount(s.totalFlops)} (${s.totalMacs.toLocaleString('en-US')} multiply-accumulates in MatMul/Gemm/Conv)`,
    `output shape      ${s.outputShapes.map(formatShape).join(', ')}`,
    `graph nodes       ${s.nodes}`,
  ].join('\n');
}
