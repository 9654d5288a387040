// A compiled training step: the step graph of train/step-graph.ts in one ORT session per phase, its state held
// ping-pong (runtime/ping-pong.ts), so one micro-step is one session.run and allocates nothing state-sized.
import { bufferViews, emaViews, paramViews } from './state-views.js';
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { allocate, type DType } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import type { ModelProto } from '../onnx/proto.js';
import { toOrt } from '../runtime/convert.js';
import { blankTensor, PingPong } from '../runtime/ping-pong.js';
import { summarizeProfile, type OpProfileRow } from '../runtime/profile.js';
import { createSession } from '../runtime/session.js';
import {
  buildTrainStepModel,
  fusedLayout,
  type BuiltStep,
  type StepPhase,
  type TrainStepConfig,
} from './step-graph.js';
import { batchKey, metricKey, stateKey, UPDATED } from './state-keys.js';

/** The result of one micro-step: the batch loss, its metrics, and whether the parameters were updated. */
export interface StepResult {
  readonly loss: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** False for accumulation micro-steps and for updates skipped by dynamic loss scaling. */
  readonly updated: boolean;
}

interface Phase {
  readonly session: ort.InferenceSession;
  readonly built: BuiltStep;
  /** Preallocated outputs for the loss and the metrics. */
  readonly scalars: Record<string, ort.Tensor>;
}

const zeros = (dtype: DType, shape: readonly number[], fill = 0): NDArray => {
  const data = allocate(
    dtype,
    shape.reduce((a, b) => a * b, 1),
  );
  if (fill) (data as Float32Array).fill(fill);
  return { dtype, shape, data };
};

/** The initial training state, keyed by train/state-keys.ts. */
export function initialState(cfg: TrainStepConfig): Record<string, NDArray> {
  const init: Record<string, NDArray> = {};
  const frozen = new Set(cfg.frozen ?? []);
  const fused = fusedLayout(cfg);
  const k = cfg.accumulate ?? 1;
  for (const [n, p] of Object.entries(cfg.params)) {
    init[stateKey.param(n)] = p;
    if (frozen.has(n)) continue;
    if (!fused) for (const s of cfg.optimizer.slots) init[stateKey.slot(n, s)] = zeros(p.dtype, p.shape);
    if (k > 1) init[stateKey.accumulator(n)] = zeros(p.dtype, p.shape);
    if (cfg.ema) init[stateKey.ema(n)] = p;
  }
  const dtype = Object.values(cfg.params)[0].dtype;
  if (fused) for (const s of cfg.optimizer.slots) init[stateKey.flatSlot(s)] = zeros(dtype, [fused.total]);
  for (const [n, b] of Object.entries(cfg.buffers ?? {})) init[stateKey.buffer(n)] = b;
  if (cfg.lossScale !== undefined)
    init[stateKey.lossScale] = zeros(dtype, [], cfg.lossScale === 'dynamic' ? 65536 : cfg.lossScale);
  if (cfg.lossScale === 'dynamic') init[stateKey.goodSteps] = zeros(dtype, []);
  return init;
}

/**
 * A compiled training step. `await step.run(batch, lr)` performs one micro-step in one session.run (an
 * optimizer update on every k-th micro-step with accumulation k). State lives in two preallocated sets that
 * swap each step; `params()` views the current set.
 */
export class TrainStep {
  private readonly state_: PingPong;
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
    this.state_ = new PingPong(initialState(cfg));
  }

  /**
   * Builds the step graph (one per phase: 'update', or 'accumulate' and 'apply' with `accumulate` > 1) and creates its
   * ORT sessions.
   */
  static async create(cfg: TrainStepConfig): Promise<TrainStep> {
    const k = cfg.accumulate ?? 1;
    const wanted: StepPhase[] = k > 1 ? ['accumulate', 'apply'] : ['update'];
    const phases: Partial<Record<StepPhase, Phase>> = {};
    for (const ph of wanted) {
      const built = buildTrainStepModel(cfg, ph);
      const session = await createSession(built.model, cfg.session);
      const dt = Object.values(cfg.params)[0].dtype;
      const scalars: Record<string, ort.Tensor> = { loss: blankTensor(dt, []) };
      for (const m of built.metricNames) scalars[metricKey(m)] = blankTensor(dt, built.metricShapes[m]);
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
    const feeds: Record<string, ort.Tensor> = { ...this.state_.feeds };
    for (const n of Object.keys(this.cfg.batch)) {
      const b = batch[n];
      if (!b) throw new Error(`trainStep: batch is missing "${n}"`);
      feeds[batchKey(n)] = toOrt(b);
    }
    feeds.lr = toOrt({ dtype: this.dtype, shape: [], data: allocFilled(this.dtype, lr) });
    feeds.step = toOrt({ dtype: this.dtype, shape: [], data: allocFilled(this.dtype, this.t + 1) });
    feeds.seed = new ort.Tensor('int64', BigInt64Array.of(this.seed), []);
    feeds.stepIndex = new ort.Tensor('int64', BigInt64Array.of(BigInt(this.micro)), []);
    const fetches = { ...phase.scalars, ...this.state_.fetches(phase.built.stateNames, UPDATED) };
    await phase.session.run(feeds, fetches);
    this.state_.swap(phase.built.stateNames);
    this.micro++;
    const metrics: Record<string, number> = {};
    for (const m of phase.built.metricNames) metrics[m] = Number((phase.scalars[metricKey(m)].data as Float32Array)[0]);
    const applied = phaseName !== 'accumulate';
    if (applied) this.t++;
    return {
      loss: Number((phase.scalars.loss.data as Float32Array)[0]),
      metrics,
      updated: applied && !metrics.skipped,
    };
  }

  /** Views of the current parameters (valid until the next two steps; copy to keep). */
  params(): Record<string, NDArray> {
    return paramViews(this.state_, Object.keys(this.cfg.params));
  }

  /** The EMA weights (frozen parameters as they are), when `ema` is configured. */
  emaParams(): Record<string, NDArray> {
    if (!this.cfg.ema) throw new Error('trainStep: no EMA configured');
    return emaViews(this.state_, Object.keys(this.cfg.params));
  }

  /**
   * The current buffers (e.g. BatchNorm running statistics) by name: views of the current state set, so copy them to
   * keep values past later steps.
   */
  buffers(): Record<string, NDArray> {
    return bufferViews(this.state_, Object.keys(this.cfg.buffers ?? {}));
  }

  /** Current loss scale (dynamic or fixed), when loss scaling is on. */
  get lossScale(): number | undefined {
    return this.state_.has(stateKey.lossScale)
      ? Number((this.state_.view(stateKey.lossScale).data as Float32Array)[0])
      : undefined;
  }

  /** Every state tensor (params, optimizer slots, accumulators, EMA, buffers, loss scale) by its state key. */
  state(): Record<string, NDArray> {
    return this.state_.snapshot();
  }

  /** Overwrites some state entries (by state key) in place, e.g. parameters another phase updated. */
  assign(part: Readonly<Record<string, NDArray>>): void {
    this.state_.assign(part);
  }

  /** Restores state written by `state()` and the counters (exact resume). */
  load(state: Readonly<Record<string, NDArray>>, counters: { readonly step: number; readonly micro?: number }): void {
    this.state_.load(state, 'trainStep: checkpoint');
    this.t = counters.step;
    this.micro = counters.micro ?? counters.step * this.k;
  }

  /**
   * Ends ORT profiling (enable it with `session: { profile: true }`) and summarises the per-kernel trace by op
   * type, largest first.
   */
  profileSummary(): OpProfileRow[] {
    if (!this.cfg.session?.profile)
      throw new Error('trainStep: profiling is off; create the step with session: { profile: true }');
    const main = (this.phases.update ?? this.phases.apply)!;
    main.session.endProfiling();
    const prefix = this.cfg.session.profilePrefix ?? 'onnxruntime_profile_';
    const dir = dirname(resolve(prefix));
    const base = basename(prefix);
    const files = readdirSync(dir)
      .filter((f) => f.startsWith(base) && f.endsWith('.json'))
      .map((f) => join(dir, f));
    if (!files.length) throw new Error(`trainStep: no profile file ${prefix}*.json was written`);
    const newest = files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    return summarizeProfile(newest);
  }

  /** Releases the ORT sessions; the step cannot run afterwards. */
  async release(): Promise<void> {
    for (const p of Object.values(this.phases)) await p!.session.release();
  }
}

function allocFilled(dtype: DType, v: number): NDArray['data'] {
  const a = allocate(dtype, 1);
  (a as Float64Array)[0] = v;
  return a;
}
