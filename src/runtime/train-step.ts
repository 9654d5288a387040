// The training step as ONE ONNX graph and one session.run: forward, loss, reverse-mode gradients, optional
// global-norm clipping and the optimizer update. Parameter, optimizer-state and buffer outputs are bound to
// preallocated tensors that swap roles with the inputs every step (ping-pong), so the steady state allocates
// no parameter-sized buffers.
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { summarizeProfile, type OpProfileRow } from './profile.js';
import { gradients } from '../autodiff/grad.js';
import { allocate, isFloat, type DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { add, cast, div, equal, greaterOrEqual, minimum, mul, sqrt, sub, where } from '../graph/ops/elementwise.js';
import { concat, reshape, split } from '../graph/ops/movement.js';
import { placeholder, scalar } from '../graph/ops/leaf.js';
import { foldKey } from '../graph/ops/random.js';
import { sum } from '../graph/ops/reduce.js';
import { formatShape } from '../graph/shape.js';
import type { Tensor } from '../graph/tensor.js';
import { emitModel } from '../onnx/emit.js';
import { withAutocast } from '../graph/autocast.js';
import { encodeModel } from '../onnx/encode.js';
import type { ModelProto } from '../onnx/proto.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { InputSpec } from './compile.js';
import { fromOrt, toOrt } from './convert.js';
import { sessionOptions, type SessionConfig } from './device.js';

/** What the forward function sees while the step graph is traced. */
export interface StepContext {
  readonly params: Readonly<Record<string, Tensor>>;
  readonly buffers: Readonly<Record<string, Tensor>>;
  readonly batch: Readonly<Record<string, Tensor>>;
  /** int64 scalar: a pure function of (seed, step) for in-graph randomness (dropout, noise). */
  readonly key: Tensor;
}

export interface StepOutputs {
  /** Scalar loss to minimise. */
  readonly loss: Tensor;
  /** Extra scalars or small tensors to report (accuracy, ...). */
  readonly metrics?: Readonly<Record<string, Tensor>>;
  /** New values of buffers (e.g. BatchNorm running statistics). */
  readonly buffers?: Readonly<Record<string, Tensor>>;
}

export interface TrainStepConfig {
  readonly params: Readonly<Record<string, NDArray>>;
  readonly buffers?: Readonly<Record<string, NDArray>>;
  readonly batch: Readonly<Record<string, InputSpec>>;
  readonly forward: (ctx: StepContext) => StepOutputs;
  readonly optimizer: Optimizer;
  /** Parameters that receive no update (frozen). */
  readonly frozen?: readonly string[];
  /** Clip the global gradient norm to this value (torch.nn.utils.clip_grad_norm_). */
  readonly clipGradNorm?: number;
  /** Accumulate gradients over k micro-batches before one update (equals one step on the k·b batch). */
  readonly accumulate?: number;
  /** Keep an exponential moving average of the weights: ema ← ema + (p − ema)·(1 − decay) after each update. */
  readonly ema?: { readonly decay: number };
  /**
   * Loss scaling for reduced-precision gradients: a fixed factor, or 'dynamic' (start 2^16, halve and skip the
   * update when any gradient is inf/NaN, double after `growthInterval` clean steps), as torch.cuda.amp.GradScaler.
   */
  readonly lossScale?: number | 'dynamic';
  readonly growthInterval?: number;
  /**
   * Update all trainable parameters as one flat vector (concat → one optimizer update → split): a dozen kernel
   * launches per step instead of a dozen per parameter. Default true; every lathe optimizer is elementwise.
   */
  readonly fuseOptimizer?: boolean;
  /** Run matmul/gemm/conv in float16 (or bfloat16) with float32 master weights: a CUDA-provider feature (see graph/autocast.ts). */
  readonly autocast?: 'float16' | 'bfloat16';
  readonly seed?: number;
  readonly session?: SessionConfig;
}

export interface StepResult {
  readonly loss: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** False for accumulation micro-steps and for updates skipped by dynamic loss scaling. */
  readonly updated: boolean;
}

/** Which graph: a whole step, an accumulation micro-step, or the micro-step that applies the update. */
export type StepPhase = 'update' | 'accumulate' | 'apply';

type Slot = Record<string, ort.Tensor>;

const clone = (a: NDArray): ort.Tensor => {
  const data = allocate(a.dtype, (a.data as ArrayLike<unknown>).length);
  (data as Float32Array).set(a.data as Float32Array);
  return toOrt({ dtype: a.dtype, shape: a.shape, data });
};
const blank = (dtype: DType, shape: readonly number[], fill = 0): ort.Tensor => {
  const data = allocate(dtype, shape.reduce((x, y) => x * y, 1));
  if (fill) (data as Float32Array).fill(fill);
  return toOrt({ dtype, shape, data });
};

export interface BuiltStep {
  readonly model: ModelProto;
  /** State inputs this graph rewrites (outputs are named `new.<name>`). */
  readonly stateNames: string[];
  readonly metricNames: string[];
  readonly metricShapes: Record<string, readonly number[]>;
}

/** Builds the step graph for one phase (see StepPhase). */
export function buildTrainStepModel(cfg: TrainStepConfig, phase: StepPhase = 'update'): BuiltStep {
  const names = Object.keys(cfg.params);
  const first = cfg.params[names[0]];
  if (!first) throw new Error('trainStep: no parameters');
  const dt = first.dtype;
  for (const [n, p] of Object.entries(cfg.params)) if (!isFloat(p.dtype)) throw new Error(`trainStep: parameter ${n} has dtype ${p.dtype}; parameters must be floating point`);
  const frozen = new Set(cfg.frozen ?? []);
  for (const f of frozen) if (!(f in cfg.params)) throw new Error(`trainStep: frozen parameter ${f} does not exist`);
  const k = cfg.accumulate ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`trainStep: accumulate must be a positive integer, got ${k}`);
  const dynamic = cfg.lossScale === 'dynamic';
  const ph = (name: string, p: NDArray) => placeholder(name, p.dtype, p.shape);

  const trainable = names.filter((n) => !frozen.has(n));
  const params = Object.fromEntries(names.map((n) => [n, ph(`p.${n}`, cfg.params[n])]));
  const slots = cfg.optimizer.slots;
  const fused = fusedLayout(cfg);
  const state = fused ? {} : Object.fromEntries(trainable.map((n) => [n, slots.map((s) => ph(`s.${n}.${s}`, cfg.params[n]))]));
  const flatState = fused ? slots.map((s) => placeholder(`s.__flat__.${s}`, dt, [fused.total])) : [];
  const accs = k > 1 ? Object.fromEntries(trainable.map((n) => [n, ph(`a.${n}`, cfg.params[n])])) : {};
  const emas = cfg.ema ? Object.fromEntries(trainable.map((n) => [n, ph(`e.${n}`, cfg.params[n])])) : {};
  const buffers = Object.fromEntries(Object.entries(cfg.buffers ?? {}).map(([n, b]) => [n, ph(`b.${n}`, b)]));
  const batch = Object.fromEntries(Object.entries(cfg.batch).map(([n, s]) => [n, placeholder(`x.${n}`, s.dtype, s.shape)]));
  const lr = placeholder('lr', dt, []);
  const step = placeholder('step', dt, []);
  const seed = placeholder('seed', 'int64', []);
  const stepI = placeholder('stepIndex', 'int64', []);
  const scaleIn = cfg.lossScale !== undefined ? placeholder('ls.scale', dt, []) : undefined;
  const goodIn = dynamic ? placeholder('ls.good', dt, []) : undefined;
  const key = foldKey(seed, stepI);

  const out = withAutocast(cfg.autocast, () => cfg.forward({ params, buffers, batch, key }));
  if (out.loss.rank !== 0) throw new Error(`trainStep: the loss must be a scalar, got shape ${formatShape(out.loss.shape)}`);
  const outputs: Record<string, Tensor> = { loss: out.loss };
  for (const [m, v] of Object.entries(out.metrics ?? {})) outputs[`m.${m}`] = v;
  const stateNames: string[] = [];
  const emit = (name: string, t: Tensor) => {
    outputs[`new.${name}`] = t;
    stateNames.push(name);
  };
  for (const [n, t] of Object.entries(out.buffers ?? {})) {
    if (!(n in buffers)) throw new Error(`trainStep: forward returned buffer ${n}, which was not declared`);
    emit(`b.${n}`, t);
  }

  // gradients of the (scaled) loss, unscaled
  const scaled = scaleIn ? mul(out.loss, scaleIn) : out.loss;
  let grads = gradients(scaled, trainable.map((n) => params[n]));
  if (scaleIn) grads = grads.map((g) => div(g, scaleIn));

  if (phase === 'accumulate') {
    trainable.forEach((n, i) => emit(`a.${n}`, add(accs[n], grads[i])));
  } else {
    if (phase === 'apply') grads = grads.map((g, i) => div(add(accs[trainable[i]], g), k));
    // finite check for dynamic loss scaling: Σ g·0 is 0 unless some g is inf or NaN
    const finite = dynamic ? equal(grads.map((g) => sum(mul(g, 0))).reduce((a, b) => add(a, b)), scalar(0, dt)) : undefined;
    if (cfg.clipGradNorm !== undefined) {
      const total = sqrt(grads.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
      const factor = minimum(div(scalar(cfg.clipGradNorm, dt), add(total, 1e-6)), 1);
      grads = grads.map((g) => mul(g, factor));
    }
    const keep = (t: Tensor, old: Tensor) => (finite ? where(finite, t, old) : t);
    let newParams: Tensor[];
    if (fused) {
      // one update over the concatenation of every trainable parameter
      const flat = (ts: readonly Tensor[]) => concat(ts.map((t) => reshape(t, [-1])), 0);
      const upd = cfg.optimizer.update(flat(trainable.map((n) => params[n])), flat(grads), flatState, { step, lr });
      const pieces = split(upd.param, fused.sizes, 0);
      newParams = trainable.map((n, i) => keep(reshape(pieces[i], cfg.params[n].shape), params[n]));
      slots.forEach((s, j) => emit(`s.__flat__.${s}`, keep(upd.state[j], flatState[j])));
    } else {
      newParams = trainable.map((n, i) => {
        const upd = cfg.optimizer.update(params[n], grads[i], state[n], { step, lr });
        slots.forEach((s, j) => emit(`s.${n}.${s}`, keep(upd.state[j], state[n][j])));
        return keep(upd.param, params[n]);
      });
    }
    trainable.forEach((n, i) => {
      const p = newParams[i];
      emit(`p.${n}`, p);
      if (phase === 'apply') emit(`a.${n}`, mul(accs[n], 0));
      if (cfg.ema) emit(`e.${n}`, keep(add(emas[n], mul(sub(p, emas[n]), 1 - cfg.ema.decay)), emas[n]));
    });
    if (finite && scaleIn && goodIn) {
      const interval = cfg.growthInterval ?? 2000;
      const good1 = add(goodIn, 1);
      const grow = greaterOrEqual(good1, scalar(interval, dt));
      emit('ls.scale', where(finite, where(grow, mul(scaleIn, 2), scaleIn), mul(scaleIn, 0.5)));
      emit('ls.good', where(finite, where(grow, scalar(0, dt), good1), scalar(0, dt)));
      outputs['m.skipped'] = sub(1, cast(finite, dt));
    }
  }
  const inputs = [
    ...names.map((n) => params[n]), ...trainable.flatMap((n) => state[n] ?? []), ...flatState, ...Object.values(accs), ...Object.values(emas),
    ...Object.values(buffers), ...Object.values(batch), lr, step, seed, stepI, ...(scaleIn ? [scaleIn] : []), ...(goodIn ? [goodIn] : []),
  ];
  const model = emitModel({ inputs, outputs }, { name: `train_step_${phase}` });
  const metricShapes: Record<string, readonly number[]> = {};
  for (const [m, v] of Object.entries(outputs)) {
    if (!m.startsWith('m.')) continue;
    if (v.shape.some((d) => typeof d !== 'number')) throw new Error(`trainStep: metric ${m.slice(2)} has a symbolic shape ${formatShape(v.shape)}; reduce it`);
    metricShapes[m.slice(2)] = v.shape as number[];
  }
  return { model, stateNames, metricNames: Object.keys(metricShapes), metricShapes };
}

/** The flat layout of trainable parameters for the fused update, or undefined when not fused. */
function fusedLayout(cfg: TrainStepConfig): { total: number; sizes: number[] } | undefined {
  if (cfg.fuseOptimizer === false) return undefined;
  const frozen = new Set(cfg.frozen ?? []);
  const ps = Object.entries(cfg.params).filter(([n]) => !frozen.has(n)).map(([, p]) => p);
  if (ps.length < 2 || ps.some((p) => p.dtype !== ps[0].dtype)) return undefined;
  const sizes = ps.map((p) => p.shape.reduce((a, b) => a * b, 1));
  return { total: sizes.reduce((a, b) => a + b, 0), sizes };
}

interface Phase {
  readonly session: ort.InferenceSession;
  readonly built: BuiltStep;
  readonly scalars: Slot;
}

/**
 * A compiled training step. `await step.run(batch, lr)` performs one micro-step in one session.run (an
 * optimizer update on every k-th micro-step with accumulation k). State lives in two preallocated sets that
 * swap each step; `params()` views the current set.
 */
export class TrainStep {
  private cur: Slot;
  private next: Slot;
  private t = 0;
  private micro = 0;
  private readonly dtype: DType;
  private readonly seed: bigint;
  private readonly k: number;

  private constructor(
    private readonly cfg: TrainStepConfig,
    private readonly phases: Readonly<Partial<Record<StepPhase, Phase>>>,
  ) {
    this.dtype = Object.values(cfg.params)[0].dtype;
    this.seed = BigInt(cfg.seed ?? 0);
    this.k = cfg.accumulate ?? 1;
    const init: Slot = {};
    const frozen = new Set(cfg.frozen ?? []);
    for (const [n, p] of Object.entries(cfg.params)) {
      init[`p.${n}`] = clone(p);
      if (frozen.has(n)) continue;
      if (!fusedLayout(cfg)) for (const s of cfg.optimizer.slots) init[`s.${n}.${s}`] = blank(p.dtype, p.shape);
      if (this.k > 1) init[`a.${n}`] = blank(p.dtype, p.shape);
      if (cfg.ema) init[`e.${n}`] = clone(p);
    }
    const fused = fusedLayout(cfg);
    if (fused) for (const s of cfg.optimizer.slots) init[`s.__flat__.${s}`] = blank(this.dtype, [fused.total]);
    for (const [n, b] of Object.entries(cfg.buffers ?? {})) init[`b.${n}`] = clone(b);
    if (cfg.lossScale !== undefined) init['ls.scale'] = blank(this.dtype, [], cfg.lossScale === 'dynamic' ? 65536 : cfg.lossScale);
    if (cfg.lossScale === 'dynamic') init['ls.good'] = blank(this.dtype, []);
    this.cur = init;
    this.next = Object.fromEntries(Object.entries(init).map(([k, v]) => [k, blank(v.type as DType, v.dims)]));
  }

  static async create(cfg: TrainStepConfig): Promise<TrainStep> {
    const k = cfg.accumulate ?? 1;
    const wanted: StepPhase[] = k > 1 ? ['accumulate', 'apply'] : ['update'];
    const phases: Partial<Record<StepPhase, Phase>> = {};
    for (const ph of wanted) {
      const built = buildTrainStepModel(cfg, ph);
      const session = await ort.InferenceSession.create(encodeModel(built.model), sessionOptions(cfg.session));
      const dt = Object.values(cfg.params)[0].dtype;
      const scalars: Slot = { loss: blank(dt, []) };
      for (const m of built.metricNames) scalars[`m.${m}`] = blank(dt, built.metricShapes[m]);
      phases[ph] = { session, built, scalars };
    }
    return new TrainStep(cfg, phases);
  }

  /** The ONNX model of the main phase (for inspection and tests). */
  get model(): ModelProto {
    return (this.phases.update ?? this.phases.apply)!.built.model;
  }

  /** Optimizer updates applied so far. */
  get stepCount(): number {
    return this.t;
  }

  /** Micro-batches consumed so far. */
  get microStepCount(): number {
    return this.micro;
  }

  /** One micro-step on `batch` with learning rate `lr`. */
  async run(batch: Readonly<Record<string, NDArray>>, lr: number): Promise<StepResult> {
    const phaseName: StepPhase = this.k === 1 ? 'update' : (this.micro + 1) % this.k === 0 ? 'apply' : 'accumulate';
    const phase = this.phases[phaseName]!;
    const feeds: Record<string, ort.Tensor> = { ...this.cur };
    for (const n of Object.keys(this.cfg.batch)) {
      const b = batch[n];
      if (!b) throw new Error(`trainStep: batch is missing "${n}"`);
      feeds[`x.${n}`] = toOrt(b);
    }
    feeds.lr = toOrt({ dtype: this.dtype, shape: [], data: allocFilled(this.dtype, lr) });
    feeds.step = toOrt({ dtype: this.dtype, shape: [], data: allocFilled(this.dtype, this.t + 1) });
    feeds.seed = new ort.Tensor('int64', BigInt64Array.of(this.seed), []);
    feeds.stepIndex = new ort.Tensor('int64', BigInt64Array.of(BigInt(this.micro)), []);
    const fetches: Record<string, ort.Tensor> = { ...phase.scalars };
    for (const k of phase.built.stateNames) fetches[`new.${k}`] = this.next[k];
    await phase.session.run(feeds, fetches);
    for (const k of phase.built.stateNames) {
      const tmp = this.cur[k];
      this.cur[k] = this.next[k];
      this.next[k] = tmp;
    }
    this.micro++;
    const metrics: Record<string, number> = {};
    for (const m of phase.built.metricNames) metrics[m] = Number((phase.scalars[`m.${m}`].data as Float32Array)[0]);
    const applied = phaseName !== 'accumulate';
    if (applied) this.t++;
    return { loss: Number((phase.scalars.loss.data as Float32Array)[0]), metrics, updated: applied && !metrics.skipped };
  }

  /** Views of the current parameters (valid until the next two steps; copy to keep). */
  params(): Record<string, NDArray> {
    return Object.fromEntries(Object.keys(this.cfg.params).map((n) => [n, fromOrt(this.cur[`p.${n}`])]));
  }

  /** The EMA weights (frozen parameters as they are), when `ema` is configured. */
  emaParams(): Record<string, NDArray> {
    if (!this.cfg.ema) throw new Error('trainStep: no EMA configured');
    return Object.fromEntries(Object.keys(this.cfg.params).map((n) => [n, fromOrt(this.cur[`e.${n}`] ?? this.cur[`p.${n}`])]));
  }

  buffers(): Record<string, NDArray> {
    return Object.fromEntries(Object.keys(this.cfg.buffers ?? {}).map((n) => [n, fromOrt(this.cur[`b.${n}`])]));
  }

  /** Current loss scale (dynamic or fixed), when loss scaling is on. */
  get lossScale(): number | undefined {
    const t = this.cur['ls.scale'];
    return t ? Number((t.data as Float32Array)[0]) : undefined;
  }

  /** Every state tensor (params, optimizer slots, accumulators, EMA, buffers, loss scale) by name. */
  state(): Record<string, NDArray> {
    return Object.fromEntries(Object.entries(this.cur).map(([k, v]) => [k, fromOrt(v)]));
  }

  /** Restores state written by `state()` and the counters (exact resume). */
  load(state: Readonly<Record<string, NDArray>>, counters: { readonly step: number; readonly micro?: number }): void {
    for (const [k, t] of Object.entries(this.cur)) {
      const s = state[k];
      if (!s) throw new Error(`trainStep: checkpoint lacks ${k}`);
      if (s.shape.join(',') !== t.dims.join(',')) throw new Error(`trainStep: checkpoint ${k} has shape ${formatShape(s.shape)}, model has ${formatShape(t.dims)}`);
      (t.data as Float32Array).set(s.data as Float32Array);
    }
    this.t = counters.step;
    this.micro = counters.micro ?? counters.step * this.k;
  }

  /**
   * Ends ORT profiling (enable it with `session: { profile: true }`) and summarises the per-kernel trace by op
   * type, largest first.
   */
  profileSummary(): OpProfileRow[] {
    if (!this.cfg.session?.profile) throw new Error('trainStep: profiling is off; create the step with session: { profile: true }');
    const main = (this.phases.update ?? this.phases.apply)!;
    main.session.endProfiling();
    const prefix = this.cfg.session.profilePrefix ?? 'onnxruntime_profile_';
    const dir = dirname(resolve(prefix));
    const base = basename(prefix);
    const files = readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json')).map((f) => join(dir, f));
    if (!files.length) throw new Error(`trainStep: no profile file ${prefix}*.json was written`);
    const newest = files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    return summarizeProfile(newest);
  }

  async release(): Promise<void> {
    for (const p of Object.values(this.phases)) await p!.session.release();
  }
}

function allocFilled(dtype: DType, v: number): NDArray['data'] {
  const a = allocate(dtype, 1);
  (a as Float64Array)[0] = v;
  return a;
}
