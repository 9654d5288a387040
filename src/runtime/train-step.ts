// The training step as ONE ONNX graph and one session.run: forward, loss, reverse-mode gradients, optional
// global-norm clipping and the optimizer update. Parameter, optimizer-state and buffer outputs are bound to
// preallocated tensors that swap roles with the inputs every step (ping-pong), so the steady state allocates
// no parameter-sized buffers.
import * as ort from 'onnxruntime-node';
import { gradients } from '../autodiff/grad.js';
import { allocate, isFloat, type DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { add, div, minimum, mul, sqrt } from '../graph/ops/elementwise.js';
import { placeholder, scalar } from '../graph/ops/leaf.js';
import { foldKey } from '../graph/ops/random.js';
import { sum } from '../graph/ops/reduce.js';
import { formatShape } from '../graph/shape.js';
import type { Tensor } from '../graph/tensor.js';
import { emitModel } from '../onnx/emit.js';
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
  readonly seed?: number;
  readonly session?: SessionConfig;
}

export interface StepResult {
  readonly loss: number;
  readonly metrics: Readonly<Record<string, number>>;
}

type Slot = Record<string, ort.Tensor>;

const clone = (a: NDArray): ort.Tensor => {
  const data = allocate(a.dtype, (a.data as ArrayLike<unknown>).length);
  (data as Float32Array).set(a.data as Float32Array);
  return toOrt({ dtype: a.dtype, shape: a.shape, data });
};
const blank = (dtype: DType, shape: readonly number[]): ort.Tensor =>
  toOrt({ dtype, shape, data: allocate(dtype, shape.reduce((x, y) => x * y, 1)) });

/** Builds the step graph: returns the model and the names of its state inputs/outputs. */
export function buildTrainStepModel(cfg: TrainStepConfig): { model: ModelProto; stateNames: string[]; metricNames: string[]; metricShapes: Record<string, readonly number[]> } {
  const names = Object.keys(cfg.params);
  const first = cfg.params[names[0]];
  if (!first) throw new Error('trainStep: no parameters');
  const dt = first.dtype;
  for (const [n, p] of Object.entries(cfg.params)) if (!isFloat(p.dtype)) throw new Error(`trainStep: parameter ${n} has dtype ${p.dtype}; parameters must be floating point`);
  const frozen = new Set(cfg.frozen ?? []);
  for (const f of frozen) if (!(f in cfg.params)) throw new Error(`trainStep: frozen parameter ${f} does not exist`);

  const params = Object.fromEntries(names.map((n) => [n, placeholder(`p.${n}`, cfg.params[n].dtype, cfg.params[n].shape)]));
  const slots = cfg.optimizer.slots;
  const state = Object.fromEntries(names.filter((n) => !frozen.has(n)).map((n) => [n, slots.map((s) => placeholder(`s.${n}.${s}`, cfg.params[n].dtype, cfg.params[n].shape))]));
  const buffers = Object.fromEntries(Object.entries(cfg.buffers ?? {}).map(([n, b]) => [n, placeholder(`b.${n}`, b.dtype, b.shape)]));
  const batch = Object.fromEntries(Object.entries(cfg.batch).map(([n, s]) => [n, placeholder(`x.${n}`, s.dtype, s.shape)]));
  const lr = placeholder('lr', dt, []);
  const step = placeholder('step', dt, []);
  const seed = placeholder('seed', 'int64', []);
  const stepI = placeholder('stepIndex', 'int64', []);
  const key = foldKey(seed, stepI);

  const out = cfg.forward({ params, buffers, batch, key });
  if (out.loss.rank !== 0) throw new Error(`trainStep: the loss must be a scalar, got shape ${formatShape(out.loss.shape)}`);
  const trainable = names.filter((n) => !frozen.has(n));
  let grads = gradients(out.loss, trainable.map((n) => params[n]));
  if (cfg.clipGradNorm !== undefined) {
    const total = sqrt(grads.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
    const factor = minimum(div(scalar(cfg.clipGradNorm, dt), add(total, 1e-6)), 1);
    grads = grads.map((g) => mul(g, factor));
  }
  const outputs: Record<string, Tensor> = { loss: out.loss };
  for (const [k, v] of Object.entries(out.metrics ?? {})) outputs[`m.${k}`] = v;
  const stateNames: string[] = [];
  trainable.forEach((n, i) => {
    const upd = cfg.optimizer.update(params[n], grads[i], state[n], { step, lr });
    outputs[`new.p.${n}`] = upd.param;
    stateNames.push(`p.${n}`);
    slots.forEach((s, j) => {
      outputs[`new.s.${n}.${s}`] = upd.state[j];
      stateNames.push(`s.${n}.${s}`);
    });
  });
  for (const [n, t] of Object.entries(out.buffers ?? {})) {
    if (!(n in buffers)) throw new Error(`trainStep: forward returned buffer ${n}, which was not declared`);
    outputs[`new.b.${n}`] = t;
    stateNames.push(`b.${n}`);
  }
  const inputs = [...names.map((n) => params[n]), ...trainable.flatMap((n) => state[n]), ...Object.values(buffers), ...Object.values(batch), lr, step, seed, stepI];
  const model = emitModel({ inputs, outputs }, { name: 'train_step' });
  const metricShapes: Record<string, readonly number[]> = {};
  for (const [k, v] of Object.entries(out.metrics ?? {})) {
    if (v.shape.some((d) => typeof d !== 'number')) throw new Error(`trainStep: metric ${k} has a symbolic shape ${formatShape(v.shape)}; reduce it`);
    metricShapes[k] = v.shape as number[];
  }
  return { model, stateNames, metricNames: Object.keys(out.metrics ?? {}), metricShapes };
}

/**
 * A compiled training step. `await step.run(batch)` performs one optimizer step in one session.run.
 * Parameters live in two preallocated sets that swap each step; `params()` views the current set.
 */
export class TrainStep {
  private readonly session: ort.InferenceSession;
  private cur: Slot;
  private next: Slot;
  private readonly scalars: Slot;
  private t = 0;
  private readonly dtype: DType;
  private readonly seed: bigint;

  private constructor(
    session: ort.InferenceSession,
    readonly model: ModelProto,
    private readonly cfg: TrainStepConfig,
    private readonly stateNames: readonly string[],
    private readonly metricNames: readonly string[],
    metricShapes: Record<string, readonly number[]>,
  ) {
    this.session = session;
    this.dtype = Object.values(cfg.params)[0].dtype;
    this.seed = BigInt(cfg.seed ?? 0);
    const init: Slot = {};
    const frozen = new Set(cfg.frozen ?? []);
    for (const [n, p] of Object.entries(cfg.params)) {
      init[`p.${n}`] = clone(p);
      if (!frozen.has(n)) for (const s of cfg.optimizer.slots) init[`s.${n}.${s}`] = blank(p.dtype, p.shape);
    }
    for (const [n, b] of Object.entries(cfg.buffers ?? {})) init[`b.${n}`] = clone(b);
    this.cur = init;
    this.next = Object.fromEntries(this.stateNames.map((k) => [k, blank(init[k].type as DType, init[k].dims)]));
    this.scalars = { loss: blank(this.dtype, []) };
    for (const m of metricNames) this.scalars[`m.${m}`] = blank(this.dtype, metricShapes[m]);
  }

  static async create(cfg: TrainStepConfig): Promise<TrainStep> {
    const { model, stateNames, metricNames, metricShapes } = buildTrainStepModel(cfg);
    const session = await ort.InferenceSession.create(encodeModel(model), sessionOptions(cfg.session));
    return new TrainStep(session, model, cfg, stateNames, metricNames, metricShapes);
  }

  /** Number of steps taken. */
  get stepCount(): number {
    return this.t;
  }

  /** One optimizer step on `batch` with learning rate `lr`. */
  async run(batch: Readonly<Record<string, NDArray>>, lr: number): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = { ...this.cur };
    for (const n of Object.keys(this.cfg.batch)) {
      const b = batch[n];
      if (!b) throw new Error(`trainStep: batch is missing "${n}"`);
      feeds[`x.${n}`] = toOrt(b);
    }
    feeds.lr = toOrt({ dtype: this.dtype, shape: [], data: allocFilled(this.dtype, lr) });
    feeds.step = toOrt({ dtype: this.dtype, shape: [], data: allocFilled(this.dtype, this.t + 1) });
    feeds.seed = new ort.Tensor('int64', BigInt64Array.of(this.seed), []);
    feeds.stepIndex = new ort.Tensor('int64', BigInt64Array.of(BigInt(this.t)), []);
    const fetches: Record<string, ort.Tensor> = { ...this.scalars };
    for (const k of this.stateNames) fetches[`new.${k}`] = this.next[k];
    await this.session.run(feeds, fetches);
    // swap: the freshly written set becomes current; frozen params stay where they are
    for (const k of this.stateNames) {
      const tmp = this.cur[k];
      this.cur[k] = this.next[k];
      this.next[k] = tmp;
    }
    this.t++;
    const metrics: Record<string, number> = {};
    for (const m of this.metricNames) metrics[m] = Number((this.scalars[`m.${m}`].data as Float32Array)[0]);
    return { loss: Number((this.scalars.loss.data as Float32Array)[0]), metrics };
  }

  /** Views of the current parameters (valid until the next two steps; copy to keep). */
  params(): Record<string, NDArray> {
    return Object.fromEntries(Object.keys(this.cfg.params).map((n) => [n, fromOrt(this.cur[`p.${n}`])]));
  }

  buffers(): Record<string, NDArray> {
    return Object.fromEntries(Object.keys(this.cfg.buffers ?? {}).map((n) => [n, fromOrt(this.cur[`b.${n}`])]));
  }

  /** Every state tensor (params, optimizer slots, buffers) by its graph name, for checkpoints. */
  state(): Record<string, NDArray> {
    return Object.fromEntries(Object.entries(this.cur).map(([k, v]) => [k, fromOrt(v)]));
  }

  /** Restores state written by `state()` plus the step count (exact resume). */
  load(state: Readonly<Record<string, NDArray>>, stepCount: number): void {
    for (const [k, t] of Object.entries(this.cur)) {
      const s = state[k];
      if (!s) throw new Error(`trainStep: checkpoint lacks ${k}`);
      if (s.shape.join(',') !== t.dims.join(',')) throw new Error(`trainStep: checkpoint ${k} has shape ${formatShape(s.shape)}, model has ${formatShape(t.dims)}`);
      (t.data as Float32Array).set(s.data as Float32Array);
    }
    this.t = stepCount;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function allocFilled(dtype: DType, v: number): NDArray['data'] {
  const a = allocate(dtype, 1);
  (a as Float64Array)[0] = v;
  return a;
}
