// profile: where a training step (of a config) or an inference (of an .onnx file) spends its time. ORT's profiler
// gives one event per kernel; for a config, ONNX nodes are named after the graph node they lower
// (onnx/emit.ts withNodeSources), so each kernel is charged to the module whose forward created it, its backward to
// the module of the weights or activations it reads, the update to '(optimizer)'. Achieved GFLOP/s is compared with
// a 1024² MatMul measured in the same process, and the changes worth trying (threads, batch size) are measured
// side by side and ranked by their speed-up.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import { matmul } from '../graph/ops/linalg.js';
import type { Tensor } from '../graph/tensor.js';
import type { Module } from '../nn/module.js';
import { summarize } from '../models/summary.js';
import { withNodeSources } from '../onnx/emit.js';
import type { ModelProto, NodeProto } from '../onnx/proto.js';
import { createOptimizer } from '../optim/registry.js';
import { compile } from '../runtime/compile.js';
import { createSession } from '../runtime/session.js';
import { toOrt } from '../runtime/convert.js';
import { loadTrainConfig } from '../train/config.js';
import { buildModel, lossAndMetrics, splits } from '../train/run.js';
import { crossEntropy } from '../nn/losses.js';
import { decodeModel } from '../onnx/decode.js';
import { UserError } from '../util/errors.js';
import { headRows } from './dynamic-rules.js';
import { innermost, withSpans, type LossFn, type Span } from './probe.js';
import { createStep } from './step.js';
import type { TrainStep } from '../train/train-step.js';
import { median, medianMs } from './timing.js';

/**
 * Kernel time spent in one module (or op type) per run: milliseconds, percent of the total, and its largest op
 * types.
 */
export interface ModuleTime {
  readonly module: string;
  readonly ms: number;
  readonly percent: number;
  /** Largest op types inside it. */
  readonly ops: readonly { readonly op: string; readonly ms: number }[];
}

/**
 * A change proposed by the profiler, why it should help, and, when it was tried, the samples/s measured before and
 * after.
 */
export interface Suggestion {
  readonly change: string;
  readonly why: string;
  /** Measured here, side by side: samples/s before and after (undefined for advice that was not measured). */
  readonly measured?: { readonly before: number; readonly after: number; readonly speedup: number };
}

/**
 * The result of profiling a training step or an inference: batch, threads, median time per run in ms, samples/s,
 * kernel time by module and by op, FLOPs and achieved GFLOP/s against a measured MatMul roofline, and suggestions.
 */
export interface ProfileResult {
  readonly target: string;
  readonly kind: 'train-step' | 'inference';
  readonly batch: number;
  readonly threads: number;
  /** Median wall time per step (or inference), without profiling. */
  readonly ms: number;
  readonly samplesPerSecond: number;
  /** Kernel time per run by module (train steps) or by op type (inference), largest first; medians per node. */
  readonly byModule: readonly ModuleTime[];
  readonly byOp: readonly { readonly op: string; readonly ms: number; readonly percent: number }[];
  /** FLOPs per run (train: 3 × forward MACs × 2 × batch, the usual estimate) and achieved GFLOP/s. */
  readonly flops?: number;
  readonly gflops?: number;
  /** A 1024² float32 MatMul measured in the same process with the same threads. */
  readonly rooflineGflops: number;
  readonly peakRssMB: number;
  readonly suggestions: readonly Suggestion[];
}

/** GFLOP/s of a 1024² float32 MatMul with `threads` intra-op threads. */
export async function matmulRoofline(threads: number): Promise<number> {
  const n = 1024;
  const f = compile((a: Tensor, b: Tensor) => matmul(a, b), { threads });
  const a: NDArray = { dtype: 'float32', shape: [n, n], data: new Float32Array(n * n).fill(0.5) };
  const ms = await medianMs(() => f(a, a), 5, 2);
  return (2 * n ** 3) / (ms * 1e6);
}

interface KernelEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

/** Per ONNX node: its op type and the median duration (µs) over the profiled runs. */
function nodeMedians(file: string): Map<string, { op: string; us: number }> {
  const events = JSON.parse(readFileSync(file, 'utf8')) as KernelEvent[];
  const by = new Map<string, { op: string; durs: number[] }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const row = by.get(name) ?? { op: e.args?.op_name ?? '?', durs: [] };
    row.durs.push(e.dur ?? 0);
    by.set(name, row);
  }
  return new Map([...by.entries()].map(([k, v]) => [k, { op: v.op, us: median(v.durs) }]));
}

function newestJson(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(dir, f));
  if (!files.length) throw new Error(`profile: ORT wrote no profile in ${dir}`);
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** Module of each ONNX node of a step graph: forward by span, backward by what it reads, the update as optimizer. */
function moduleOfNodes(
  model: ModelProto,
  spans: readonly Span[],
  forwardEnd: number,
  params: readonly string[],
): Map<string, string> {
  const ofValue = new Map<string, string>();
  for (const i of model.graph.input) {
    const m = /^[pb]\.(.+)\.[^.]+$/.exec(i.name);
    if (m) ofValue.set(i.name, m[1]);
    else if (i.name === 'lr' || i.name === 'step' || i.name.startsWith('s.')) ofValue.set(i.name, '(optimizer)');
    else if (i.name.startsWith('x.')) ofValue.set(i.name, '(input)');
  }
  const out = new Map<string, string>();
  for (const n of model.graph.node) {
    const id = /_n(\d+)(?:_\d+)?$/.exec(n.name ?? '');
    let label: string | undefined;
    const srcId = id ? Number(id[1]) : undefined;
    if (srcId !== undefined && srcId < forwardEnd) {
      const s = innermost(spans, srcId);
      label = s ? s.path || '(model)' : '(loss)';
    } else {
      const ins = n.input.map((v) => ofValue.get(v)).filter((v): v is string => v !== undefined);
      const readsState = n.input.some((v) => v === 'lr' || v === 'step' || v.startsWith('s.'));
      const flatConcat = n.opType === 'Concat' && n.input.filter((v) => v.startsWith('p.')).length > 1;
      if (readsState || flatConcat || ofValue.get(n.input[0]) === '(optimizer)') label = '(optimizer)';
      else {
        const mod = ins.find((v) => !v.startsWith('('));
        label = mod
          ? `${mod.replace(/ \(backward\)$/, '')} (backward)`
          : ins.includes('(input)')
            ? '(input)'
            : (ins[0] ?? '(loss)');
      }
    }
    out.set(n.name ?? '', label);
    for (const o of n.output) ofValue.set(o, label);
  }
  // backward kernels: charged to the module of the parameter gradients they feed (the module nearest the loss when
  // they feed several, as a shared cotangent is that module's backward). The fused update concatenates every
  // gradient in parameter order; walk back from each piece.
  if (params.length > 1) {
    const producer = new Map<string, NodeProto>();
    for (const n of model.graph.node) for (const o of n.output) producer.set(o, n);
    const gradConcat = model.graph.node.find(
      (n) =>
        n.opType === 'Concat' &&
        n.input.length === params.length &&
        out.get(n.name ?? '') !== '(optimizer)' &&
        !n.input.some((v) => v.startsWith('p.')),
    );
    if (gradConcat) {
      const order = new Map<string, number>();
      [...spans]
        .sort((a, b) => a.start - b.start)
        .forEach((sp) => {
          if (!order.has(sp.path)) order.set(sp.path, order.size);
        });
      const reached = new Map<string, string>();
      gradConcat.input.forEach((v, k) => {
        const mod = params[k].replace(/\.[^.]+$/, '');
        const stack = [v];
        const seen = new Set<string>();
        while (stack.length) {
          const cur = producer.get(stack.pop()!);
          if (!cur || seen.has(cur.name ?? '')) continue;
          const name = cur.name ?? '';
          seen.add(name);
          const id = /_n(\d+)(?:_\d+)?$/.exec(name);
          if (id && Number(id[1]) < forwardEnd) continue; // forward: stays with its span
          const prev = reached.get(name);
          if (prev === undefined || (order.get(mod) ?? -1) > (order.get(prev) ?? -1)) reached.set(name, mod);
          stack.push(...cur.input);
        }
      });
      for (const [name, mod] of reached) out.set(name, `${mod} (backward)`);
      // a backward kernel that reads a module's weights directly (dX = dY·W) is that module's backward
      for (const n of model.graph.node) {
        const id = /_n(\d+)(?:_\d+)?$/.exec(n.name ?? '');
        if (id && Number(id[1]) < forwardEnd) continue;
        const p = n.input.find((v) => /^p\./.test(v));
        if (p && out.get(n.name ?? '') !== '(optimizer)')
          out.set(n.name ?? '', `${p.slice(2).replace(/\.[^.]+$/, '')} (backward)`);
      }
    }
  }
  // backward work on the batch itself (a first conv's weight gradient reads only the input): charge it to the
  // module of the first node that consumes it
  const consumers = new Map<string, string[]>();
  for (const n of model.graph.node)
    for (const i of n.input) consumers.set(i, [...(consumers.get(i) ?? []), n.name ?? '']);
  for (const n of [...model.graph.node].reverse()) {
    const name = n.name ?? '';
    if (out.get(name) !== '(input)' && out.get(name) !== '(input) (backward)') continue;
    const c = n.output
      .flatMap((o) => consumers.get(o) ?? [])
      .map((x) => out.get(x))
      .find((l) => l && !l.startsWith('('));
    out.set(name, c ?? '(input)');
  }
  return out;
}

function group(
  nodes: Map<string, { op: string; us: number }>,
  labelOf: (name: string) => string,
): { byModule: ModuleTime[]; byOp: ProfileResult['byOp']; totalMs: number } {
  const mods = new Map<string, Map<string, number>>();
  const ops = new Map<string, number>();
  let total = 0;
  for (const [name, v] of nodes) {
    const label = labelOf(name).replace(/ \(backward\)$/, '');
    const m = mods.get(label) ?? new Map<string, number>();
    m.set(v.op, (m.get(v.op) ?? 0) + v.us);
    mods.set(label, m);
    ops.set(v.op, (ops.get(v.op) ?? 0) + v.us);
    total += v.us;
  }
  const byModule = [...mods.entries()]
    .map(([module, m]) => {
      const us = [...m.values()].reduce((a, b) => a + b, 0);
      return {
        module,
        ms: us / 1000,
        percent: (100 * us) / (total || 1),
        ops: [...m.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([op, u]) => ({ op, ms: u / 1000 })),
      };
    })
    .sort((a, b) => b.ms - a.ms);
  const byOp = [...ops.entries()]
    .map(([op, us]) => ({ op, ms: us / 1000, percent: (100 * us) / (total || 1) }))
    .sort((a, b) => b.ms - a.ms);
  return { byModule, byOp, totalMs: total / 1000 };
}

interface StepTarget {
  readonly model: Module;
  readonly batch: Readonly<Record<string, NDArray>>;
  readonly loss: LossFn;
  readonly optimizer: ReturnType<typeof createOptimizer>;
  readonly lr: number;
  readonly full?: { readonly x: NDArray; readonly y: NDArray };
}

async function stepSamplesPerSecond(
  t: StepTarget,
  batch: Readonly<Record<string, NDArray>>,
  threads: number,
  reps: number,
): Promise<number> {
  const step = await createStep({ model: t.model, batch, loss: t.loss, optimizer: t.optimizer, session: { threads } });
  try {
    const ms = await medianMs(() => step.run(batch, t.lr), reps, 2);
    return (Object.values(batch)[0].shape[0] * 1000) / ms;
  } finally {
    await step.release();
  }
}

/** Profiles the training step of a config (its model, loss, optimizer and batch size, on its real data). */
export async function profileConfig(
  path: string,
  opts: { threads?: number; steps?: number; overrides?: readonly string[] } = {},
): Promise<ProfileResult> {
  const cfg = loadTrainConfig(path, opts.overrides ?? []);
  const data = splits(cfg);
  const lm = cfg.loss === 'lm';
  const model = buildModel(cfg);
  const batch = headRows({ x: data.train.x, y: data.train.y }, cfg.data.batchSize);
  const target: StepTarget = {
    model,
    batch,
    loss: lossAndMetrics(lm).loss ?? ((o, b) => crossEntropy(o, b.y)),
    optimizer: createOptimizer(cfg.optimizer),
    lr: cfg.optimizer.lr,
    full: { x: data.train.x, y: data.train.y },
  };
  return profileStep(path, target, opts);
}

async function profileStep(
  name: string,
  t: StepTarget,
  opts: { threads?: number; steps?: number },
): Promise<ProfileResult> {
  const threads = opts.threads ?? cfgThreads();
  const steps = opts.steps ?? 20;
  const b = Object.values(t.batch)[0].shape[0];
  const dir = mkdtempSync(join(tmpdir(), 'lathe-profile-'));
  let step: TrainStep | undefined;
  try {
    const { result, spans } = withSpans(t.model, () =>
      withNodeSources(() =>
        createStep({
          model: t.model,
          batch: t.batch,
          loss: t.loss,
          optimizer: t.optimizer,
          session: { threads, profile: true, profilePrefix: join(dir, 'step') },
        }),
      ),
    );
    step = await result;
    const forwardEnd = spans.reduce((m, s) => Math.max(m, s.end), 0);
    for (let i = 0; i < steps; i++) await step.run(t.batch, t.lr);
    step.profileSummary(); // ends profiling
    const labels = moduleOfNodes(
      step.model,
      spans,
      forwardEnd,
      t.model
        .namedParameters()
        .filter(([, p]) => !p.frozen)
        .map(([k]) => k),
    );
    const g = group(nodeMedians(newestJson(dir)), (n) => labels.get(n) ?? '(other)');
    await step.release();
    step = undefined;
    const inputs = Object.entries(t.batch)
      .filter(([k]) => k !== 'y')
      .map(([, a]) => ({ dtype: a.dtype, shape: [1, ...a.shape.slice(1)] }));
    const fwd = summarize(t.model, inputs).totalFlops;
    const base = await stepSamplesPerSecond(t, t.batch, threads, 8);
    const ms = (b * 1000) / base;
    const flops = 3 * fwd * b;
    const roofline = await matmulRoofline(threads);
    const suggestions: Suggestion[] = [];
    // measured alternatives, each against a fresh baseline right beside it (load drifts on a shared machine)
    const other = threads === 1 ? 2 : 1;
    {
      const before = await stepSamplesPerSecond(t, t.batch, threads, 6);
      const after = await stepSamplesPerSecond(t, t.batch, other, 6);
      suggestions.push({
        change: `trainer.threads: ${other} (now ${threads})`,
        why: 'ORT intra-op threads: more help large Gemm/Conv kernels, fewer avoid synchronising on many small ones',
        measured: { before, after, speedup: after / before },
      });
    }
    if (t.full && t.full.x.shape[0] >= 2 * b) {
      const big = headRows(t.full, 2 * b);
      const before = await stepSamplesPerSecond(t, t.batch, threads, 6);
      const after = await stepSamplesPerSecond(t, big, threads, 6);
      suggestions.push({
        change: `data.batchSize: ${2 * b} (now ${b}; scale the learning rate with it)`,
        why: 'larger batches amortise per-kernel overhead and run the products closer to the MatMul roofline',
        measured: { before, after, speedup: after / before },
      });
    }
    const convs = t.model.namedParameters().filter(([, p]) => p.data.shape.length === 4 && p.data.shape[0] % 8 !== 0);
    if (convs.length)
      suggestions.push({
        change: `round the output channels of ${convs.map(([k]) => k).join(', ')} to a multiple of 8`,
        why: "ORT's blocked NCHWc convolutions work in groups of 8/16 channels; other widths pad or take slower kernels (not measured here)",
      });
    const pool = g.byOp.find((o) => o.op === 'MaxPool');
    if (pool && pool.percent > 15)
      suggestions.push({
        change: 'replace max pooling by a stride-2 convolution',
        why: `MaxPool with indices is ${pool.percent.toFixed(0)} % of the step: ORT's indices path is scalar code (README) (not measured here)`,
      });
    suggestions.sort((a, c) => (c.measured?.speedup ?? 0) - (a.measured?.speedup ?? 0));
    return {
      target: name,
      kind: 'train-step',
      batch: b,
      threads,
      ms,
      samplesPerSecond: base,
      byModule: g.byModule,
      byOp: g.byOp,
      flops,
      gflops: flops / (ms * 1e6),
      rooflineGflops: roofline,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      suggestions: suggestions.slice(0, 3),
    };
  } finally {
    if (step) await step.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

const cfgThreads = (): number => 1;

/** Profiles inference of an ONNX file at `batch` (random inputs of its declared shape; symbolic dims → batch). */
export async function profileModel(
  path: string,
  opts: { batch?: number; threads?: number; runs?: number } = {},
): Promise<ProfileResult> {
  let proto: ModelProto;
  try {
    proto = decodeModel(new Uint8Array(readFileSync(path)));
  } catch (err) {
    throw new UserError(`${path}: ${(err as Error).message}`);
  }
  const batch = opts.batch ?? 1;
  const threads = opts.threads ?? 1;
  const inits = new Set(proto.graph.initializer.map((t) => t.name));
  const feedsFor = (b: number): Record<string, ort.Tensor> =>
    Object.fromEntries(
      proto.graph.input
        .filter((i) => !inits.has(i.name))
        .map((i) => {
          const tt = i.type?.tensorType;
          const dims = (tt?.shape?.dim ?? []).map((d, k) => ('dimValue' in d ? d.dimValue : k === 0 ? b : 1));
          const n = dims.reduce((x, y) => x * y, 1);
          const elem = tt?.elemType ?? 1;
          if (elem === 7) return [i.name, new ort.Tensor('int64', new BigInt64Array(n), dims)];
          if (elem !== 1)
            throw new UserError(
              `${path}: input ${i.name} has element type ${elem}; profile feeds float32 and int64 inputs`,
            );
          return [
            i.name,
            toOrt({ dtype: 'float32', shape: dims, data: new Float32Array(n).map((_, k) => Math.sin(k)) }),
          ];
        }),
    );
  const dir = mkdtempSync(join(tmpdir(), 'lathe-profile-'));
  try {
    const s = await createSession(path, { threads, profile: true, profilePrefix: join(dir, 'infer') });
    const feeds = feedsFor(batch);
    for (let i = 0; i < (opts.runs ?? 50); i++) await s.run(feeds);
    s.endProfiling();
    await s.release();
    const g = group(nodeMedians(newestJson(dir)), () => '(model)');
    const speed = async (b: number, th: number): Promise<number> => {
      const q = await createSession(path, { threads: th });
      try {
        const f = feedsFor(b);
        return (b * 1000) / (await medianMs(() => q.run(f), 20, 3));
      } finally {
        await q.release();
      }
    };
    const base = await speed(batch, threads);
    const roofline = await matmulRoofline(threads);
    const suggestions: Suggestion[] = [];
    const other = threads === 1 ? 2 : 1;
    suggestions.push({
      change: `intraOpNumThreads ${other} (now ${threads})`,
      why: 'more threads help large kernels; one thread per worker serves more requests at once',
      measured: { before: base, after: await speed(batch, other), speedup: 0 },
    });
    suggestions.push({
      change: `batch ${batch * 8} (now ${batch}; lathe serve batches requests)`,
      why: 'batching amortises per-kernel overhead',
      measured: { before: base, after: await speed(batch * 8, threads), speedup: 0 },
    });
    const ranked = suggestions
      .map((x) => ({ ...x, measured: x.measured && { ...x.measured, speedup: x.measured.after / x.measured.before } }))
      .sort((a, c) => (c.measured?.speedup ?? 0) - (a.measured?.speedup ?? 0));
    return {
      target: path,
      kind: 'inference',
      batch,
      threads,
      ms: (batch * 1000) / base,
      samplesPerSecond: base,
      byModule: g.byOp.map((o) => ({ module: o.op, ms: o.ms, percent: o.percent, ops: [{ op: o.op, ms: o.ms }] })),
      byOp: g.byOp,
      rooflineGflops: roofline,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      suggestions: ranked,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A profile as text. */
export function formatProfileResult(r: ProfileResult): string {
  const lines = [
    `${r.target}: ${r.kind}, batch ${r.batch}, ${r.threads} thread(s): ${r.ms.toFixed(2)} ms per run, ${r.samplesPerSecond.toFixed(0)} samples/s, peak RSS ${r.peakRssMB.toFixed(0)} MB`,
    r.gflops !== undefined
      ? `achieved ${r.gflops.toFixed(1)} GFLOP/s (${((r.flops ?? 0) / 1e9).toFixed(3)} GFLOP per step, 3 × forward) against a measured 1024² MatMul roofline of ${r.rooflineGflops.toFixed(1)} GFLOP/s (${((100 * r.gflops) / r.rooflineGflops).toFixed(0)} %)`
      : `MatMul roofline ${r.rooflineGflops.toFixed(1)} GFLOP/s`,
    '',
    `${r.kind === 'train-step' ? 'module' : 'op type'}                        ms/run      %   largest ops`,
    ...r.byModule
      .slice(0, 15)
      .map(
        (m) =>
          `${m.module.padEnd(28)} ${m.ms.toFixed(3).padStart(9)} ${m.percent.toFixed(1).padStart(6)}   ${m.ops.map((o) => `${o.op} ${o.ms.toFixed(2)}`).join(', ')}`,
      ),
    '',
    'top suggestions:',
    ...r.suggestions.map(
      (s, i) =>
        `${i + 1}. ${s.change}${s.measured ? `: ${s.measured.before.toFixed(0)} → ${s.measured.after.toFixed(0)} samples/s (${s.measured.speedup.toFixed(2)}×, measured)` : ''}\n   ${s.why}`,
    ),
  ];
  return lines.join('\n');
}
