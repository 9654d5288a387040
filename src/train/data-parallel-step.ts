// A data-parallel training step: the gradient graph (forward, loss, backward → one flat vector of gradients, loss and
// metrics), one all-reduce of that vector across the ranks, then the update graph (÷ worldSize, clipping, optimizer
// update). Both graphs share one ping-pong state (runtime/ping-pong.ts): the gradient graph rewrites the buffers,
// the update graph the parameters, slots and EMA. The reduced vector is written by ORT into a preallocated tensor and
// reduced in place, so a step allocates nothing state-sized.
import { bufferViews, emaViews, paramViews } from './state-views.js';
import * as ort from 'onnxruntime-node';
import type { Collective } from '../distributed/collective.js';
import type { NDArray } from '../graph/ndarray.js';
import type { ModelProto } from '../onnx/proto.js';
import { toOrt } from '../runtime/convert.js';
import { blankTensor, PingPong } from '../runtime/ping-pong.js';
import { createSession } from '../runtime/session.js';
import {
  buildGradientModel,
  buildUpdateModel,
  GRAD_SCALE,
  type GradientGraph,
  REDUCED,
  type UpdateGraph,
} from './data-parallel-graphs.js';
import { batchKey, UPDATED } from './state-keys.js';
import type { TrainStepConfig } from './step-graph.js';
import { mixSeed } from '../util/random.js';
import { initialState, type StepResult } from './train-step.js';

/** Tag of the per-rank in-graph random stream. */
const RANK_STREAM = 0x72616e6b;

const scalar = (v: number): ort.Tensor => new ort.Tensor('float32', Float32Array.of(v), []);

/**
 * A training step for data parallelism: compute gradients, all-reduce them through `collective`, update. The same API
 * as TrainStep for what the Trainer uses; loss and metrics are averages over the ranks. Not combinable with gradient
 * accumulation or loss scaling.
 */
export class DataParallelStep {
  private readonly state_: PingPong;
  private t = 0;
  private readonly reduced: ort.Tensor;
  private readonly seed: bigint;

  private constructor(
    private readonly cfg: TrainStepConfig,
    private readonly collective: Collective,
    private readonly gradient: { readonly session: ort.InferenceSession; readonly graph: GradientGraph },
    private readonly update: { readonly session: ort.InferenceSession; readonly graph: UpdateGraph },
  ) {
    this.state_ = new PingPong(initialState(cfg));
    this.reduced = blankTensor('float32', [gradient.graph.length]);
    // in-graph randomness (dropout, noise) gets its own stream per rank; rank 0 keeps the single-process stream
    const seed = cfg.seed ?? 0;
    this.seed = BigInt(collective.rank === 0 ? seed : mixSeed(seed, RANK_STREAM, collective.rank));
  }

  /** Builds both graphs and their sessions. */
  static async create(cfg: TrainStepConfig, collective: Collective): Promise<DataParallelStep> {
    if ((cfg.accumulate ?? 1) > 1)
      throw new Error('data-parallel step: gradient accumulation is not combinable with data parallelism yet');
    if (cfg.lossScale !== undefined)
      throw new Error('data-parallel step: loss scaling is not combinable with data parallelism yet');
    const g = buildGradientModel(cfg);
    const u = buildUpdateModel(cfg, g.length);
    return new DataParallelStep(
      cfg,
      collective,
      { session: await createSession(g.model, cfg.session), graph: g },
      { session: await createSession(u.model, cfg.session), graph: u },
    );
  }

  /** The gradient graph's ONNX model. */
  get model(): ModelProto {
    return this.gradient.graph.model;
  }

  /** The update graph's ONNX model. */
  get updateModel(): ModelProto {
    return this.update.graph.model;
  }

  /** Optimizer updates applied so far. */
  get stepCount(): number {
    return this.t;
  }

  /** Batches consumed so far (one per update: no accumulation). */
  get microStepCount(): number {
    return this.t;
  }

  /** One step on this rank's `batch`: gradients, all-reduce, update with learning rate `lr`. */
  async run(batch: Readonly<Record<string, NDArray>>, lr: number): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = { ...this.state_.feeds };
    for (const n of Object.keys(this.cfg.batch)) {
      const b = batch[n];
      if (!b) throw new Error(`trainStep: batch is missing "${n}"`);
      feeds[batchKey(n)] = toOrt(b);
    }
    feeds.seed = new ort.Tensor('int64', BigInt64Array.of(this.seed), []);
    feeds.stepIndex = new ort.Tensor('int64', BigInt64Array.of(BigInt(this.t)), []);
    const g = this.gradient.graph;
    await this.gradient.session.run(feeds, {
      [REDUCED]: this.reduced,
      ...this.state_.fetches(g.stateNames, UPDATED),
    });
    this.state_.swap(g.stateNames);
    const vec = this.reduced.data as Float32Array;
    await this.collective.allReduce(vec, `gradients of step ${this.t + 1}`);
    const W = this.collective.worldSize;
    const u = this.update.graph;
    await this.update.session.run(
      {
        ...this.state_.feeds,
        [REDUCED]: this.reduced,
        [GRAD_SCALE]: scalar(1 / W),
        lr: scalar(lr),
        step: scalar(this.t + 1),
      },
      this.state_.fetches(u.stateNames, UPDATED),
    );
    this.state_.swap(u.stateNames);
    this.t++;
    const metrics: Record<string, number> = {};
    let at = g.gradValues + 1;
    for (const [m, k] of g.metrics) {
      metrics[m] = vec[at] / W;
      at += k;
    }
    return { loss: vec[g.gradValues] / W, metrics, updated: true };
  }

  /** Views of the current parameters (valid until the next step; copy to keep). */
  params(): Record<string, NDArray> {
    return paramViews(this.state_, Object.keys(this.cfg.params));
  }

  /** The EMA weights (frozen parameters as they are), when `ema` is configured. */
  emaParams(): Record<string, NDArray> {
    if (!this.cfg.ema) throw new Error('trainStep: no EMA configured');
    return emaViews(this.state_, Object.keys(this.cfg.params));
  }

  /** The current buffers by name (views). */
  buffers(): Record<string, NDArray> {
    return bufferViews(this.state_, Object.keys(this.cfg.buffers ?? {}));
  }

  /** Every state tensor by its state key (the checkpoint format of TrainStep). */
  state(): Record<string, NDArray> {
    return this.state_.snapshot();
  }

  /** Overwrites some state entries (by state key) in place. */
  assign(part: Readonly<Record<string, NDArray>>): void {
    this.state_.assign(part);
  }

  /** Restores state written by `state()` and the step counter (exact resume). */
  load(state: Readonly<Record<string, NDArray>>, counters: { readonly step: number }): void {
    this.state_.load(state, 'trainStep: checkpoint');
    this.t = counters.step;
  }

  /** Releases both ORT sessions. */
  async release(): Promise<void> {
    await this.gradient.session.release();
    await this.update.session.release();
  }
}
