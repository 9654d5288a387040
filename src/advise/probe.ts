// The dynamic probe: one forward and backward pass of a model on a real batch, as one ONNX graph whose outputs are
// the loss, every parameter's gradient and every activation (ReLU, sigmoid, tanh) of the forward pass, each node
// labelled with the module that created it. With `trace: true` every float value of the graph is an output, so a
// NaN or Inf can be traced to the first op that produced it from finite inputs.
import type { NDArray } from '../graph/ndarray.js';
import { placeholder } from '../graph/ops/leaf.js';
import type { Tensor, Node } from '../graph/tensor.js';
import { reachable } from '../graph/traverse.js';
import { isFloat } from '../graph/dtype.js';
import { gradients } from '../autodiff/grad.js';
import { withContext } from '../nn/context.js';
import { bindParameters, type Module } from '../nn/module.js';
import { emitModel } from '../onnx/emit.js';
import { createSession } from '../runtime/session.js';
import { fromOrt, toOrt } from '../runtime/convert.js';
import * as ort from 'onnxruntime-node';

export type LossFn = (output: Tensor, batch: Readonly<Record<string, Tensor>>) => Tensor;

export interface ProbeSpec {
  readonly model: Module;
  readonly batch: Readonly<Record<string, NDArray>>;
  /** Batch keys passed to forward, in order (default ['x']). */
  readonly inputKeys?: readonly string[];
  readonly loss: LossFn;
  /** Parameter values to use instead of the module's own (e.g. a snapshot taken during training). */
  readonly params?: Readonly<Record<string, NDArray>>;
}

/** A module span: nodes with ids in [start, end) were created inside `path`'s forward. */
export interface Span {
  readonly path: string;
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

export interface Activation {
  readonly op: 'relu' | 'sigmoid' | 'tanh';
  /** The module that created it ('' for the model itself) and its type. */
  readonly where: string;
  readonly values: NDArray;
}

export interface ProbeResult {
  readonly loss: number;
  readonly output: NDArray;
  /** Output node's primitive (e.g. 'softmax' when the model ends in a softmax). */
  readonly outputOp: string;
  /** Gradients by parameter name, in the module's parameter order. */
  readonly grads: ReadonlyMap<string, NDArray>;
  readonly params: ReadonlyMap<string, NDArray>;
  readonly activations: readonly Activation[];
}

export interface NanOrigin {
  /** ONNX op type and lathe primitive of the first node whose output is not finite while its inputs are. */
  readonly op: string;
  readonly where: string;
  /** 'forward' or 'backward' (the gradient of the op). */
  readonly pass: 'forward' | 'backward';
  readonly inputRanges: readonly string[];
}

const typeName = (m: Module): string =>
  m.constructor.name === 'Lambda' ? (m as unknown as { name: string }).name : m.constructor.name;

/** Traces `fn` with every module's forward wrapped to record the node ids it creates. */
export function withSpans<R>(model: Module, fn: () => R): { result: R; spans: Span[] } {
  const spans: Span[] = [];
  const restore: (() => void)[] = [];
  const walk = (m: Module, path: string): void => {
    const original = m.forward;
    const wrapped = (...args: unknown[]): unknown => {
      const start = peekId();
      const r = (original as (...a: unknown[]) => unknown).apply(m, args);
      spans.push({ path, type: typeName(m), start, end: peekId() });
      return r;
    };
    Object.defineProperty(m, 'forward', { value: wrapped, configurable: true, writable: true });
    restore.push(() => delete (m as unknown as Record<string, unknown>).forward);
    for (const [k, c] of m.children()) walk(c, path ? `${path}.${k}` : k);
  };
  walk(model, '');
  try {
    return { result: fn(), spans };
  } finally {
    for (const f of restore) f();
  }
}

let probeCounter = 0;
/** The id the next graph node will get (creating a throwaway placeholder, which no graph reaches). */
function peekId(): number {
  return placeholder(`__peek${probeCounter++}`, 'float32', []).node.id + 1;
}

export function innermost(spans: readonly Span[], id: number): Span | undefined {
  let best: Span | undefined;
  for (const s of spans)
    if (id >= s.start && id < s.end && (!best || s.end - s.start < best.end - best.start)) best = s;
  return best;
}

const label = (s: Span | undefined): string => (s ? `${s.path || '(model)'} ${s.type}` : '(loss)');

interface Built {
  readonly feeds: Record<string, ort.Tensor>;
  readonly outputs: Record<string, Tensor>;
  readonly inputs: Tensor[];
  readonly nodes: Node[];
  readonly spans: Span[];
  readonly forwardEnd: number;
  readonly gradNames: readonly string[];
  readonly actMeta: readonly { op: Activation['op']; where: string }[];
  readonly outputOp: string;
}

function build(spec: ProbeSpec, trace: boolean): Built {
  const { model } = spec;
  const keys = spec.inputKeys ?? ['x'];
  const state = model.namedState();
  const values = (k: string, p: { data: NDArray }): NDArray => spec.params?.[k] ?? p.data;
  const stateT = state.map(([k, p]) => placeholder(`s.${k}`, p.data.dtype, values(k, p).shape));
  const batchT: Record<string, Tensor> = Object.fromEntries(
    Object.entries(spec.batch).map(([k, a]) => [k, placeholder(`b.${k}`, a.dtype, a.shape)]),
  );
  const key = placeholder('key', 'int64', []);
  const trainable = state
    .map(([k, p], i) => ({ k, p, t: stateT[i] }))
    .filter((s) => s.p.kind === 'param' && !s.p.frozen);
  const { result, spans } = withSpans(model, () =>
    withContext({ training: true, key }, () =>
      bindParameters(model, Object.fromEntries(state.map(([k], i) => [k, stateT[i]])), () => {
        const was = model.training;
        model.train();
        try {
          const output = model.forward(
            ...keys.map((k) => {
              const t = batchT[k];
              if (!t) throw new Error(`review: the batch has no "${k}" (keys: ${Object.keys(batchT).join(', ')})`);
              return t;
            }),
          );
          const forwardEnd = peekId();
          const loss = spec.loss(output, batchT);
          const grads = gradients(
            loss,
            trainable.map((s) => s.t),
          );
          return { output, loss, grads, forwardEnd };
        } finally {
          model.train(was);
        }
      }),
    ),
  );
  const outputs: Record<string, Tensor> = { loss: result.loss, output: result.output };
  const seen = new Set<Tensor>([result.loss, result.output]);
  result.grads.forEach((g, i) => {
    if (seen.has(g)) return;
    seen.add(g);
    outputs[`g.${trainable[i].k}`] = g;
  });
  const gradNames = trainable.map((s) => s.k).filter((k) => `g.${k}` in outputs);
  const nodes = reachable(Object.values(outputs));
  const actMeta: { op: Activation['op']; where: string }[] = [];
  for (const n of nodes) {
    const op = n.prim.name;
    if ((op !== 'relu' && op !== 'sigmoid' && op !== 'tanh') || n.id >= result.forwardEnd) continue;
    const s = innermost(spans, n.id);
    if (s?.type === 'Softplus' || s?.type === 'SiLU' || n.outputs[0].rank < 2 || seen.has(n.outputs[0])) continue; // parts of a composite, not activations
    seen.add(n.outputs[0]);
    outputs[`a.${actMeta.length}`] = n.outputs[0];
    actMeta.push({ op, where: label(s) });
  }
  if (trace) {
    for (const n of nodes)
      n.outputs.forEach((t, j) => {
        if (!seen.has(t) && isFloat(t.dtype) && n.prim.name !== 'input' && n.prim.name !== 'constant') {
          seen.add(t);
          outputs[`n.${n.id}.${j}`] = t;
        }
      });
  }
  const feeds: Record<string, ort.Tensor> = { key: new ort.Tensor('int64', BigInt64Array.of(0n), []) };
  state.forEach(([k, p]) => void (feeds[`s.${k}`] = toOrt(values(k, p))));
  for (const [k, a] of Object.entries(spec.batch)) feeds[`b.${k}`] = toOrt(a);
  return {
    feeds,
    outputs,
    inputs: [...stateT, ...Object.values(batchT), key],
    nodes,
    spans,
    forwardEnd: result.forwardEnd,
    gradNames,
    actMeta,
    outputOp: result.output.node.prim.name,
  };
}

async function runBuilt(b: Built): Promise<Record<string, NDArray>> {
  const session = await createSession(emitModel({ inputs: b.inputs, outputs: b.outputs }, { name: 'review_probe' }), {
    threads: 1,
  });
  try {
    const feeds = Object.fromEntries(Object.entries(b.feeds).filter(([k]) => session.inputNames.includes(k)));
    const res = await session.run(feeds);
    return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, fromOrt(v as ort.Tensor)]));
  } finally {
    await session.release();
  }
}

/** One forward + backward pass with gradients and activations. */
export async function probe(spec: ProbeSpec): Promise<ProbeResult> {
  const b = build(spec, false);
  const r = await runBuilt(b);
  const state = new Map(spec.model.namedParameters().map(([k, p]) => [k, spec.params?.[k] ?? p.data]));
  return {
    loss: Number((r.loss.data as Float32Array)[0]),
    output: r.output,
    outputOp: b.outputOp,
    grads: new Map(b.gradNames.map((k) => [k, r[`g.${k}`]])),
    params: state,
    activations: b.actMeta.map((m, i) => ({ ...m, values: r[`a.${i}`] })),
  };
}

const finite = (a: NDArray): boolean => {
  const d = a.data as ArrayLike<number>;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
};

function range(a: NDArray): string {
  const d = a.data as ArrayLike<number>;
  let lo = Infinity;
  let hi = -Infinity;
  let bad = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!Number.isFinite(v)) bad++;
    else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return `[${lo.toPrecision(3)}, ${hi.toPrecision(3)}]${bad ? ` +${bad} non-finite` : ''}`;
}

/**
 * Runs the probe with every value exposed and returns the first node (in creation order: forward, then backward)
 * whose output is not finite although every input it reads is; undefined when everything is finite.
 */
export async function traceNonFinite(spec: ProbeSpec): Promise<NanOrigin | undefined> {
  const b = build(spec, true);
  const r = await runBuilt(b);
  const valuesOf = new Map<Tensor, NDArray>();
  for (const [name, t] of Object.entries(b.outputs)) if (r[name]) valuesOf.set(t, r[name]);
  const inputValue = (t: Tensor): NDArray | undefined => {
    if (valuesOf.has(t)) return valuesOf.get(t);
    const n = t.node;
    if (n.prim.name === 'input') {
      const name = (n.attrs as { name: string }).name;
      const f = b.feeds[name];
      return f ? fromOrt(f) : undefined;
    }
    return undefined;
  };
  for (const n of b.nodes) {
    const outs = n.outputs.map((t) => valuesOf.get(t)).filter((v): v is NDArray => !!v && isFloat(v.dtype));
    if (!outs.length || outs.every(finite)) continue;
    const ins = n.inputs.map(inputValue);
    if (ins.some((v) => v && isFloat(v.dtype) && !finite(v))) continue;
    return {
      op: n.prim.name,
      where: label(innermost(b.spans, n.id)),
      pass: n.id < b.forwardEnd ? 'forward' : 'backward',
      inputRanges: ins.map((v, i) =>
        v && isFloat(v.dtype) ? `input ${i}: ${range(v)}` : `input ${i}: ${n.inputs[i].dtype}`,
      ),
    };
  }
  return undefined;
}
