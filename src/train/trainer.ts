// The Trainer: fit / validate / test over deterministic loaders, with the whole optimizer step compiled into one
// ONNX graph (train/step-graph.ts, run by train/train-step.ts), callbacks, checkpoints and exact resume.
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { isFloat } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { placeholder } from '../graph/ops/leaf.js';
import { add, div } from '../graph/ops/elementwise.js';
import type { Tensor } from '../graph/tensor.js';
import { Auxiliaries, withContext } from '../nn/context.js';
import { crossEntropy } from '../nn/losses.js';
import { bindParameters, type Module } from '../nn/module.js';
import { emitModel } from '../onnx/emit.js';
import type { Optimizer } from '../optim/optimizer.js';
import { constantLr, type Schedule } from '../optim/schedules.js';
import { fromOrt, toOrt } from '../runtime/convert.js';
import type { SessionConfig } from '../runtime/device.js';
import { createSession } from '../runtime/session.js';
import { moduleStateKey } from './state-keys.js';
import { failpoint } from '../util/failpoint.js';
import { mixSeed } from '../util/random.js';
import { versions } from '../util/version.js';
import { TrainStep } from './train-step.js';
import { DataParallelStep } from './data-parallel-step.js';
import { syncBuffers, syncRanks, syncStopFlag } from './data-parallel-sync.js';
import { RankSystemMetrics } from './rank-system-metrics.js';
import type { Collective } from '../distributed/collective.js';
import { PhasedStep, type CompiledPhase } from './phased-step.js';
import type { TrainStepConfig } from './step-graph.js';
import type { BatchLogs, Callback, EpochLogs } from './callbacks.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointManifest } from './checkpoint.js';
import type { Batch, BatchLoader } from './loader.js';
import { argmaxRows } from './metrics.js';

/**
 * Everything a {@link Trainer} needs: the model, optimizer and learning rate, epochs, batch keys, loss and metrics,
 * callbacks, seed, gradient options (clipping, accumulation, EMA, loss scaling), checkpoint folder and frequency,
 * session options and a logger.
 */
export interface TrainerConfig {
  readonly model: Module;
  readonly optimizer: Optimizer;
  /** A fixed learning rate or a schedule over optimizer steps. */
  readonly lr: number | Schedule;
  readonly epochs: number;
  /** Batch keys: the model input (default 'x') and the target (default 'y'). */
  readonly inputKey?: string;
  /**
   * Several model inputs: these batch keys are passed to `model.forward` as positional arguments, in this order,
   * in training and in `evaluate` (e.g. `['src', 'tgt_in']` for `forward(src, tgtIn)`). Not combinable with
   * `inputKey`. Per-sample averages count the rows of the first one.
   */
  readonly inputKeys?: readonly string[];
  readonly targetKey?: string;
  /**
   * Name of the leading (symbolic) dim of each batch key in the compiled graphs (default 'batch' for every key).
   * Keys whose leading dims differ in size need different names, e.g. a graph batch's node tensors and edge lists.
   */
  readonly batchDims?: Readonly<Record<string, string>>;
  /**
   * Loss of the model output against the batch, a scalar mean over the batch (default: cross-entropy on integer
   * targets). `evaluate` computes it in its graph too and averages it over samples.
   */
  readonly loss?: (output: Tensor, batch: Readonly<Record<string, Tensor>>) => Tensor;
  /**
   * Extra in-graph scalars (batch means, e.g. accuracy), reported per training batch and by `evaluate` as
   * sample-weighted means (`val_<name>` in the epoch metrics of `fit`).
   */
  readonly metrics?: Readonly<Record<string, (output: Tensor, batch: Readonly<Record<string, Tensor>>) => Tensor>>;
  /**
   * A training objective that replaces `model.forward` + `loss` (generative models: a VAE's negative ELBO, a
   * diffusion model's denoising loss). It is traced with the model's parameters bound and `traceContext().key` set
   * (in training a pure function of (seed, step); in `evaluate` of (seed, batch index)), and returns the scalar loss
   * to minimise and in-graph metrics. `evaluate` computes both over every batch key. Not combinable with `loss` or
   * `metrics`; `model.forward` stays the inference function that export writes.
   */
  readonly objective?: Objective;
  /**
   * Alternating training (GANs): each phase is its own compiled step with its own objective and optimizer that updates
   * only the parameters named by its prefixes (the rest are frozen in its graph); a cycle runs each phase's `steps`
   * batches in order, every batch one phase. All phases share the parameters and buffers; one checkpoint holds them
   * and every phase's optimizer state, and resume is exact. `evaluate` scores the first phase's objective. Not
   * combinable with `objective`, `loss`, `metrics`, `ema`, `accumulate` or `lossScale`.
   */
  readonly phases?: readonly TrainPhase[];
  readonly callbacks?: readonly Callback[];
  readonly seed?: number;
  readonly clipGradNorm?: number;
  readonly accumulate?: number;
  readonly ema?: { readonly decay: number };
  readonly lossScale?: number | 'dynamic';
  /** Where checkpoints go (ModelCheckpoint's default). */
  readonly runDir?: string;
  /**
   * Commit points within an epoch as well as at its end: every `steps` optimizer steps and/or every `seconds` of
   * training (ModelCheckpoint then writes `last`, and a resume continues exactly from that batch).
   */
  readonly checkpointEvery?: { readonly steps?: number; readonly seconds?: number };
  readonly session?: SessionConfig;
  /** Config and versions recorded in checkpoints. */
  readonly config?: unknown;
  /** Structured log sink (JSON objects); default: none. */
  readonly logger?: (record: Record<string, unknown>) => void;
  /**
   * Data-parallel training: this rank's collective. The step becomes a gradient graph, an all-reduce and an update
   * graph (DataParallelStep); `fit` starts by checking that every rank holds the same model and data and broadcasting
   * rank 0's state, syncs BatchNorm buffers from rank 0 before each validation and rank 0's stop decision after each
   * epoch. Each rank's loader must yield its own shard (ShardedLoader). Not combinable with phases, accumulate or
   * lossScale.
   */
  readonly collective?: Collective;
}

/** One phase of alternating training (see TrainerConfig.phases). */
export interface TrainPhase {
  readonly name: string;
  readonly objective: Objective;
  /** Name prefixes of the parameters this phase updates (e.g. `['critic.']`); every prefix must match one. */
  readonly parameters: readonly string[];
  /** Batches per cycle. */
  readonly steps: number;
  /** Default: the Trainer's optimizer and learning rate; a schedule runs over this phase's own updates. */
  readonly optimizer?: Optimizer;
  readonly lr?: number | Schedule;
}

/** See TrainerConfig.objective. */
export type Objective = (
  model: Module,
  batch: Readonly<Record<string, Tensor>>,
) => { readonly loss: Tensor; readonly metrics?: Readonly<Record<string, Tensor>> };

/**
 * What {@link Trainer.evaluate} returns: the mean loss per sample, accuracy (classification), the configured metrics,
 * the sample count, and the collected outputs and targets when asked.
 */
export interface EvalResult {
  /** Mean loss per sample: the configured `loss` computed in-graph, else cross-entropy / squared error in JS. */
  readonly loss: number;
  /** Classification accuracy when the output is [N, C], targets are class indices and no custom loss is set. */
  readonly accuracy?: number;
  /** The configured `metrics`, each a mean over samples (batch values weighted by batch rows). */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly samples: number;
  /** Model outputs, concatenated over the split (row-major), when `collect` was asked for. */
  readonly outputs?: Float32Array;
  readonly targets?: Float64Array;
}

interface EvalGraph {
  readonly session: ort.InferenceSession;
  /** Module state name and the graph input that feeds it. */
  readonly stateNames: readonly (readonly [string, string])[];
  /** Batch keys fed as graph inputs `batch.<key>`. */
  readonly feedKeys: readonly string[];
  readonly hasLoss: boolean;
  readonly metricNames: readonly string[];
  /** An objective's eval graph takes an int64 `key` input (one per batch) for its randomness. */
  readonly keyed: boolean;
}

/**
 * Trains a Module: `fit` compiles the whole training step (forward, backward, optimizer update) into one ONNX graph run
 * by ONNX Runtime, iterates the loaders epoch by epoch, runs callbacks and checkpoints, and resumes exactly; `evaluate`
 * scores a loader.
 */
export class Trainer {
  shouldStop = false;
  private step?: TrainStep | PhasedStep | DataParallelStep;
  private epoch = 0;
  private batchInEpoch = 0;
  private readonly schedule: Schedule;
  /** Eval sessions by batch signature (keys, dtypes, per-sample shapes). */
  private readonly evalGraphs = new Map<string, Promise<EvalGraph>>();
  private lastLogs?: EpochLogs;
  /** The running train-loss sum and row count of the current epoch (checkpointed for mid-epoch resume). */
  private epochLoss = 0;
  private epochRows = 0;
  private readonly stateKeys: string[];
  /** Batch keys passed to `model.forward`, in order. */
  private readonly inputKeys: readonly string[];

  constructor(readonly cfg: TrainerConfig) {
    if (!(cfg.epochs >= 1)) throw new Error(`Trainer: epochs must be ≥ 1, got ${cfg.epochs}`);
    const every = cfg.checkpointEvery;
    if (every?.steps !== undefined && !(Number.isInteger(every.steps) && every.steps >= 1))
      throw new Error(`Trainer: checkpointEvery.steps must be a positive integer, got ${every.steps}`);
    if (every?.seconds !== undefined && !(every.seconds > 0))
      throw new Error(`Trainer: checkpointEvery.seconds must be positive, got ${every.seconds}`);
    if (cfg.inputKey !== undefined && cfg.inputKeys !== undefined) {
      throw new Error('Trainer: set inputKey (one model input) or inputKeys (several, in forward order), not both');
    }
    if (cfg.inputKeys !== undefined && cfg.inputKeys.length === 0)
      throw new Error('Trainer: inputKeys must name at least one batch key');
    if (cfg.objective && (cfg.loss || cfg.metrics))
      throw new Error('Trainer: an objective computes its own loss and metrics; do not set loss or metrics with it');
    if (cfg.phases) checkPhases(cfg);
    this.inputKeys = cfg.inputKeys ?? [cfg.inputKey ?? 'x'];
    this.schedule = typeof cfg.lr === 'number' ? constantLr(cfg.lr) : cfg.lr;
    this.stateKeys = cfg.model.namedState().map(([k]) => k);
  }

  get runDir(): string | undefined {
    return this.cfg.runDir;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  get globalStep(): number {
    return this.step?.stepCount ?? 0;
  }

  private batchDim(key: string): string {
    return this.cfg.batchDims?.[key] ?? 'batch';
  }

  /** Sends a structured record to the configured logger (nothing without one). */
  log(record: Record<string, unknown>): void {
    this.cfg.logger?.(record);
  }

  /** The objective `evaluate` scores: the configured one, or the first phase's. */
  private get evalObjective(): Objective | undefined {
    return this.cfg.objective ?? this.cfg.phases?.[0].objective;
  }

  private async buildStep(sample: Batch): Promise<TrainStep | PhasedStep | DataParallelStep> {
    if (this.cfg.phases) {
      if (this.cfg.collective)
        throw new Error('Trainer: alternating phases are not combinable with data parallelism (collective) yet');
      return this.buildPhases(sample, this.cfg.phases);
    }
    return this.buildOne(sample, this.cfg.objective, this.cfg.optimizer, [], this.cfg.seed ?? 0);
  }

  /** One compiled step per phase; each freezes every parameter its prefixes do not name. */
  private async buildPhases(sample: Batch, phases: readonly TrainPhase[]): Promise<PhasedStep> {
    const names = this.cfg.model.namedParameters().map(([k]) => k);
    const compiled: CompiledPhase[] = [];
    for (const [i, ph] of phases.entries()) {
      const trained = names.filter((n) => ph.parameters.some((pre) => n.startsWith(pre)));
      const others = names.filter((n) => !trained.includes(n));
      const step = await this.buildOne(
        sample,
        ph.objective,
        ph.optimizer ?? this.cfg.optimizer,
        others,
        mixSeed(this.cfg.seed ?? 0, 0x70686173, i),
      );
      if (!(step instanceof TrainStep)) throw new Error('Trainer: a phase step must be a one-graph TrainStep');
      const lr = ph.lr === undefined ? this.schedule : typeof ph.lr === 'number' ? constantLr(ph.lr) : ph.lr;
      compiled.push({
        name: ph.name,
        step,
        trained: trained.filter((n) => !this.cfg.model.namedParameters().find(([k]) => k === n)![1].frozen),
        steps: ph.steps,
        lr: (u) => lr.lr(u),
      });
    }
    return new PhasedStep(
      compiled,
      this.cfg.model.namedBuffers().map(([k]) => k),
    );
  }

  private async buildOne(
    sample: Batch,
    objective: Objective | undefined,
    optimizer: Optimizer,
    alsoFrozen: readonly string[],
    seed: number,
  ): Promise<TrainStep | DataParallelStep> {
    const model = this.cfg.model;
    if (!objective) pick(sample, this.inputKeys, 'Trainer');
    const frozen = [
      ...new Set([
        ...model
          .namedParameters()
          .filter(([, p]) => p.frozen)
          .map(([k]) => k),
        ...alsoFrozen,
      ]),
    ];
    const lossFn =
      this.cfg.loss ??
      ((out: Tensor, b: Readonly<Record<string, Tensor>>) => crossEntropy(out, b[this.cfg.targetKey ?? 'y']));
    const create = (cfg: TrainStepConfig) =>
      this.cfg.collective ? DataParallelStep.create(cfg, this.cfg.collective) : TrainStep.create(cfg);
    return create({
      params: Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.data])),
      buffers: Object.fromEntries(model.namedBuffers().map(([k, p]) => [k, p.data])),
      batch: Object.fromEntries(
        Object.entries(sample).map(([k, a]) => [k, { dtype: a.dtype, shape: [this.batchDim(k), ...a.shape.slice(1)] }]),
      ),
      optimizer,
      frozen,
      clipGradNorm: this.cfg.clipGradNorm,
      accumulate: this.cfg.accumulate,
      ema: this.cfg.ema,
      lossScale: this.cfg.lossScale,
      seed,
      session: this.cfg.session,
      forward: ({ params, buffers, batch, key }) => {
        const auxiliaries = new Auxiliaries();
        return withContext({ training: true, key, auxiliaries }, () =>
          bindParameters(model, { ...params, ...buffers }, () => {
            model.train();
            const { loss: taskLoss, metrics } = objective
              ? objectiveOutputs(objective(model, batch))
              : (() => {
                  const out = model.forward(...pick(batch, this.inputKeys, 'Trainer'));
                  return {
                    loss: lossFn(out, batch),
                    metrics: Object.fromEntries(
                      Object.entries(this.cfg.metrics ?? {}).map(([k, f]) => [k, f(out, batch)]),
                    ),
                  };
                })();
            // Auxiliary losses (a router's load balancing) join the objective; each is also reported on its own.
            let loss = taskLoss;
            const aux = auxiliaryOutputs(auxiliaries);
            for (const l of aux.losses) loss = add(loss, l);
            Object.assign(metrics, aux.metrics);
            const updates = Object.fromEntries(
              model
                .namedBuffers()
                .filter(([, p]) => p.pending)
                .map(([k, p]) => [k, p.pending!]),
            );
            return { loss, metrics, buffers: updates };
          }),
        );
      },
    });
  }

  /** Trains for the configured epochs; resumes from a checkpoint (manifest path or run dir) when given. */
  async fit(train: BatchLoader, val?: BatchLoader, opts: { resumeFrom?: string } = {}): Promise<EpochLogs | undefined> {
    const callbacks = this.cfg.callbacks ?? [];
    const first = await firstBatch(train);
    this.step = await this.buildStep(first);
    if (opts.resumeFrom) this.resume(opts.resumeFrom);
    const collective = this.cfg.collective;
    const rankSystem = new RankSystemMetrics();
    if (collective && this.step instanceof DataParallelStep) {
      const r = await syncRanks(collective, this.step, {
        batchesPerEpoch: train.length,
        epoch: this.epoch,
        batchInEpoch: this.batchInEpoch,
      });
      this.log({ event: 'ranks_synced', rank: collective.rank, worldSize: collective.worldSize, checksum: r.checksum });
    }
    for (const c of callbacks) await c.onFitStart?.(this);
    const rowsKey = this.inputKeys[0];
    const every = this.cfg.checkpointEvery;
    let lastCommit = Date.now();
    while (this.epoch < this.cfg.epochs && !this.shouldStop) {
      const t0 = Date.now();
      if (this.batchInEpoch === 0) this.epochLoss = this.epochRows = 0;
      for await (const batch of train.iterate(this.epoch, this.batchInEpoch)) {
        const step = this.step;
        const lr = step instanceof PhasedStep ? step.nextLr() : this.schedule.lr(step.stepCount);
        const r = step instanceof PhasedStep ? await step.run(batch) : await step.run(batch, lr);
        if (!Number.isFinite(r.loss) && this.cfg.lossScale === undefined) {
          throw new Error(
            `training diverged: loss is ${r.loss} at epoch ${this.epoch + 1}, batch ${this.batchInEpoch + 1} (lower the learning rate or clip gradients)`,
          );
        }
        const rows = (batch[rowsKey] ?? Object.values(batch)[0])?.shape[0] ?? 1;
        this.epochLoss += r.loss * rows;
        this.epochRows += rows;
        const logs: BatchLogs = {
          epoch: this.epoch,
          batch: this.batchInEpoch,
          batches: train.length,
          step: this.step.stepCount,
          loss: r.loss,
          lr,
          metrics: r.metrics,
          ...('phase' in r ? { phase: r.phase } : {}),
        };
        this.batchInEpoch++;
        for (const c of callbacks) await c.onBatchEnd?.(this, logs);
        if (this.shouldStop) break;
        const dueBySteps = every?.steps !== undefined && r.updated && this.step.stepCount % every.steps === 0;
        const dueByTime = every?.seconds !== undefined && Date.now() - lastCommit >= every.seconds * 1000;
        if ((dueBySteps || dueByTime) && this.batchInEpoch < train.length) {
          await this.commit();
          lastCommit = Date.now();
        }
      }
      const metrics: Record<string, number> = { train_loss: this.epochRows ? this.epochLoss / this.epochRows : NaN };
      if (collective && this.step instanceof DataParallelStep) await syncBuffers(collective, this.step);
      if (collective && collective.worldSize > 1) Object.assign(metrics, await rankSystem.gather(collective));
      if (val) {
        const v = await this.evaluate(val);
        metrics.val_loss = v.loss;
        if (v.accuracy !== undefined) metrics.val_accuracy = v.accuracy;
        for (const [k, x] of Object.entries(v.metrics ?? {})) metrics[`val_${k}`] ??= x;
        this.schedule.observe?.(metrics.val_loss);
      }
      const finished = this.batchInEpoch >= train.length;
      if (finished) {
        this.epoch++;
        this.batchInEpoch = 0;
      }
      const logs: EpochLogs = {
        epoch: this.epoch - (finished ? 1 : 0),
        step: this.step.stepCount,
        seconds: (Date.now() - t0) / 1000,
        metrics,
      };
      this.lastLogs = logs;
      for (const c of callbacks) await c.onEpochEnd?.(this, logs);
      if (collective) this.shouldStop = await syncStopFlag(collective, this.shouldStop);
      failpoint('trainer:epoch-end-hooks-done');
      await this.commit();
      lastCommit = Date.now();
    }
    this.syncModel();
    for (const c of callbacks) await c.onFitEnd?.(this, this.lastLogs);
    return this.lastLogs;
  }

  /** Writes the trained values (or their EMA, with `useEma`) back into the module's parameters (copies), e.g. before export. */
  syncModel(opts: { useEma?: boolean } = {}): void {
    if (!this.step) return;
    const state = {
      ...(opts.useEma && this.cfg.ema ? this.step.emaParams() : this.step.params()),
      ...this.step.buffers(),
    };
    for (const [k, p] of this.cfg.model.namedState()) {
      const v = state[k];
      if (v)
        p.data = { dtype: v.dtype, shape: [...v.shape], data: (v.data as Float32Array).slice() as NDArray['data'] };
    }
  }

  /**
   * The eval graph for batches like `sample`: the model in eval mode over the input keys → `output`; with a custom
   * loss or metrics, every batch key is a graph input (symbolic batch dim) and `loss` / `metric.<name>` are outputs.
   */
  private async evalSession(sample: Batch): Promise<EvalGraph> {
    const objective = this.evalObjective;
    if (objective) return this.objectiveEvalSession(sample, objective);
    const model = this.cfg.model;
    const state = model.namedState();
    pick(sample, this.inputKeys, 'evaluate');
    const metricFns = Object.entries(this.cfg.metrics ?? {});
    const lossFn = this.cfg.loss;
    const feedKeys =
      lossFn || metricFns.length ? [...new Set([...this.inputKeys, ...Object.keys(sample)])] : this.inputKeys;
    const params = state.map(([k, p]) => placeholder(moduleStateKey(k, p.kind), p.data.dtype, p.data.shape));
    const batch: Record<string, Tensor> = Object.fromEntries(
      feedKeys.map((k) => [
        k,
        placeholder(`batch.${k}`, sample[k].dtype, [this.batchDim(k), ...sample[k].shape.slice(1)]),
      ]),
    );
    const auxiliaries = new Auxiliaries();
    const outputs = withContext({ training: false, auxiliaries }, () =>
      bindParameters(model, Object.fromEntries(state.map(([k], i) => [k, params[i]])), () => {
        const wasTraining = model.training;
        model.eval();
        try {
          const output = model.forward(...pick(batch, this.inputKeys, 'evaluate'));
          const outs: Record<string, Tensor> = { output };
          if (lossFn) outs.loss = lossFn(output, batch);
          for (const [name, f] of metricFns) outs[`metric.${name}`] = f(output, batch);
          // Auxiliary terms are reported in evaluation, never added to its loss (val_loss stays the task's loss).
          for (const [name, v] of Object.entries(auxiliaryOutputs(auxiliaries).metrics)) outs[`metric.${name}`] ??= v;
          return outs;
        } finally {
          model.train(wasTraining);
        }
      }),
    );
    const model_ = emitModel({ inputs: [...params, ...feedKeys.map((k) => batch[k])], outputs }, { name: 'eval' });
    const session = await createSession(model_, this.cfg.session ?? { threads: availableParallelism() });
    return {
      session,
      stateNames: state.map(([k, p]) => [k, moduleStateKey(k, p.kind)] as const),
      feedKeys,
      hasLoss: lossFn !== undefined,
      metricNames: Object.keys(outputs)
        .filter((k) => k.startsWith('metric.'))
        .map((k) => k.slice('metric.'.length)),
      keyed: false,
    };
  }

  /** The eval graph of an objective: every batch key and an int64 `key` in, `loss` and `metric.<name>` out. */
  private async objectiveEvalSession(sample: Batch, objective: Objective): Promise<EvalGraph> {
    const model = this.cfg.model;
    const state = model.namedState();
    const feedKeys = Object.keys(sample);
    const params = state.map(([k, p]) => placeholder(moduleStateKey(k, p.kind), p.data.dtype, p.data.shape));
    const batch: Record<string, Tensor> = Object.fromEntries(
      feedKeys.map((k) => [
        k,
        placeholder(`batch.${k}`, sample[k].dtype, [this.batchDim(k), ...sample[k].shape.slice(1)]),
      ]),
    );
    const key = placeholder('key', 'int64', []);
    const { loss, metrics } = withContext({ training: false, key }, () =>
      bindParameters(model, Object.fromEntries(state.map(([k], i) => [k, params[i]])), () => {
        const wasTraining = model.training;
        model.eval();
        try {
          return objectiveOutputs(objective(model, batch));
        } finally {
          model.train(wasTraining);
        }
      }),
    );
    const outputs: Record<string, Tensor> = {
      loss,
      ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`metric.${k}`, v])),
    };
    const proto = emitModel(
      { inputs: [...params, ...feedKeys.map((k) => batch[k]), key], outputs },
      { name: 'eval_objective' },
    );
    const session = await createSession(proto, this.cfg.session ?? { threads: availableParallelism() });
    return {
      session,
      stateNames: state.map(([k, p]) => [k, moduleStateKey(k, p.kind)] as const),
      feedKeys,
      hasLoss: true,
      metricNames: Object.keys(metrics),
      keyed: true,
    };
  }

  /**
   * Runs the model in eval mode over a loader: the mean loss per sample (the configured `loss` in-graph, else
   * cross-entropy for class logits / squared error in JS), accuracy for classifiers, the configured metrics, and
   * optionally the collected outputs and targets.
   */
  async evaluate(loader: BatchLoader, opts: { collect?: boolean; useEma?: boolean } = {}): Promise<EvalResult> {
    const targetKey = this.cfg.targetKey ?? 'y';
    const first = await firstBatch(loader);
    const sig = JSON.stringify(Object.entries(first).map(([k, a]) => [k, a.dtype, a.shape.slice(1)]));
    let pending = this.evalGraphs.get(sig);
    if (!pending) {
      pending = this.evalSession(first);
      this.evalGraphs.set(sig, pending);
      pending.catch(() => this.evalGraphs.delete(sig));
    }
    const g = await pending;
    const current: Record<string, NDArray> = this.step
      ? { ...(opts.useEma && this.cfg.ema ? this.step.emaParams() : this.step.params()), ...this.step.buffers() }
      : Object.fromEntries(this.cfg.model.namedState().map(([k, p]) => [k, p.data]));
    const feeds: Record<string, ort.Tensor> = Object.fromEntries(
      g.stateNames.map(([k, input]) => [input, toOrt(current[k])]),
    );
    const lossFn = this.cfg.loss ?? (g.keyed ? this.evalObjective : undefined);
    // the model output comes back to JS only when it is scored here (default loss) or collected
    const fetches = [
      ...((lossFn && !opts.collect) || g.keyed ? [] : ['output']),
      ...(g.hasLoss ? ['loss'] : []),
      ...g.metricNames.map((m) => `metric.${m}`),
    ];
    let lossSum = 0;
    let correct = 0;
    let n = 0;
    let classifiedRows = 0;
    const metricSums = new Map(g.metricNames.map((m) => [m, 0]));
    const outs: Float32Array[] = [];
    const targets: number[] = [];
    let batchIndex = 0;
    for await (const batch of loader.iterate(0)) {
      const rows = g.keyed ? Object.values(batch)[0].shape[0] : pick(batch, this.inputKeys, 'evaluate')[0].shape[0];
      // an objective's randomness in evaluation: a pure function of (seed, batch index), different from training's keys
      if (g.keyed)
        feeds.key = new ort.Tensor(
          'int64',
          BigInt64Array.of(BigInt(mixSeed(this.cfg.seed ?? 0, 0x65766131, batchIndex++))),
          [],
        );
      for (const k of g.feedKeys) {
        const a = batch[k];
        if (!a)
          throw new Error(
            `evaluate: the batch has no "${k}" (the first batch had it); its keys are ${Object.keys(batch)
              .map((x) => `"${x}"`)
              .join(', ')}`,
          );
        feeds[`batch.${k}`] = toOrt(a);
      }
      const res = await g.session.run(feeds, fetches);
      if (g.hasLoss) lossSum += scalarOf(res.loss as ort.Tensor) * rows;
      for (const m of g.metricNames)
        metricSums.set(m, metricSums.get(m)! + scalarOf(res[`metric.${m}`] as ort.Tensor) * rows);
      n += rows;
      if (!res.output) continue;
      const y = fromOrt(res.output as ort.Tensor);
      const t = batch[targetKey];
      if (opts.collect) outs.push((y.data as Float32Array).slice());
      if (!t) continue;
      const tv = Array.from(t.data as ArrayLike<number | bigint>, Number);
      if (opts.collect) targets.push(...tv);
      if (lossFn) continue;
      const yd = y.data as Float32Array;
      if (y.shape.length === 2 && !isFloat(t.dtype)) {
        // class logits [N, C] against class indices: softmax cross-entropy and argmax accuracy
        const c = y.shape[1];
        const pred = argmaxRows(yd, c);
        for (let i = 0; i < y.shape[0]; i++) {
          if (pred[i] === tv[i]) correct++;
          let m = -Infinity;
          for (let j = 0; j < c; j++) m = Math.max(m, yd[i * c + j]);
          let s = 0;
          for (let j = 0; j < c; j++) s += Math.exp(yd[i * c + j] - m);
          lossSum += m + Math.log(s) - yd[i * c + tv[i]];
        }
        classifiedRows += y.shape[0];
      } else {
        for (let i = 0; i < tv.length; i++) lossSum += (yd[i] - tv[i]) ** 2;
      }
    }
    const d = Math.max(1, n);
    return {
      loss: lossSum / d,
      accuracy: !lossFn && classifiedRows > 0 && classifiedRows === n ? correct / d : undefined,
      metrics: g.metricNames.length ? Object.fromEntries([...metricSums].map(([m, v]) => [m, v / d])) : undefined,
      samples: n,
      outputs: opts.collect ? concat(outs) : undefined,
      targets: opts.collect ? Float64Array.from(targets) : undefined,
    };
  }

  /** A commit point: every callback's onCommit (ModelCheckpoint writes `last`), with the state consistent. */
  private async commit(): Promise<void> {
    for (const c of this.cfg.callbacks ?? []) await c.onCommit?.(this, this.lastLogs);
  }

  /** Saves the full training state (weights, optimizer, counters, callbacks, schedule) as a checkpoint. */
  saveCheckpoint(dir: string, name: string, logs?: EpochLogs): string {
    if (!this.step) throw new Error('saveCheckpoint: nothing trained yet');
    const callbacks = Object.fromEntries(
      (this.cfg.callbacks ?? []).filter((c) => c.state).map((c) => [c.name, c.state!()]),
    );
    return saveCheckpoint(dir, name, this.step.state(), {
      step: this.step.stepCount,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      seed: this.cfg.seed ?? 0,
      optimizer: { name: this.cfg.optimizer.name, ...this.cfg.optimizer.config },
      metrics: logs?.metrics ?? {},
      config: this.cfg.config,
      versions: versions(),
      extra: {
        micro: this.step.microStepCount,
        callbacks,
        schedule: this.schedule.state?.() ?? {},
        stateKeys: this.stateKeys,
        epochLoss: this.epochLoss,
        epochRows: this.epochRows,
        lastLogs: this.lastLogs ?? null,
      },
    });
  }

  private resume(path: string): void {
    const ck = loadCheckpoint(path);
    const m: CheckpointManifest = ck.manifest;
    this.step!.load(ck.tensors, { step: m.step, micro: (m.extra?.micro as number | undefined) ?? undefined });
    this.epoch = m.epoch;
    this.batchInEpoch = m.batchInEpoch;
    const extra = (m.extra ?? {}) as {
      callbacks?: Record<string, Record<string, unknown>>;
      schedule?: Record<string, number>;
      epochLoss?: number;
      epochRows?: number;
      lastLogs?: EpochLogs | null;
    };
    this.epochLoss = extra.epochLoss ?? 0;
    this.epochRows = extra.epochRows ?? 0;
    this.lastLogs = extra.lastLogs ?? undefined;
    if (ck.fallback) {
      this.log({ event: 'resume_fallback', reason: ck.fallback });
      process.emitWarning(ck.fallback, 'CheckpointFallback');
    }
    for (const c of this.cfg.callbacks ?? []) {
      const s = extra.callbacks?.[c.name];
      if (s) c.load?.(s);
    }
    if (extra.schedule) this.schedule.load?.(extra.schedule);
    this.log({ event: 'resume', from: ck.path, epoch: this.epoch, batch: this.batchInEpoch, step: m.step });
  }

  /** Releases the ORT sessions of the training step and the evaluation graphs. */
  async release(): Promise<void> {
    await this.step?.release();
    const graphs = [...this.evalGraphs.values()];
    this.evalGraphs.clear();
    for (const g of graphs) await (await g.catch(() => undefined))?.session.release();
  }
}

/** Phases: unique names, positive steps, prefixes that name parameters, no parameter in two phases, no conflicting options. */
function checkPhases(cfg: TrainerConfig): void {
  const phases = cfg.phases!;
  if (!phases.length) throw new Error('Trainer: phases must list at least one phase');
  for (const k of ['objective', 'loss', 'metrics', 'ema', 'accumulate', 'lossScale'] as const) {
    if (cfg[k] !== undefined)
      throw new Error(`Trainer: ${k} is not combinable with phases (each phase has its own objective)`);
  }
  const names = cfg.model.namedParameters().map(([k]) => k);
  const owner = new Map<string, string>();
  const seen = new Set<string>();
  for (const [i, ph] of phases.entries()) {
    if (!ph.name || seen.has(ph.name) || ph.name.includes('/'))
      throw new Error(
        `Trainer: phases[${i}].name must be unique, non-empty and without "/", got ${JSON.stringify(ph.name)}`,
      );
    seen.add(ph.name);
    if (!(Number.isInteger(ph.steps) && ph.steps >= 1))
      throw new Error(`Trainer: phases[${i}].steps must be a positive integer, got ${ph.steps}`);
    for (const pre of ph.parameters) {
      const hit = names.filter((n) => n.startsWith(pre));
      if (!hit.length) throw new Error(`Trainer: phases[${i}].parameters: no parameter starts with "${pre}"`);
      for (const n of hit) {
        const o = owner.get(n);
        if (o !== undefined && o !== ph.name)
          throw new Error(
            `Trainer: parameter ${n} is updated by phases ${o} and ${ph.name}; each parameter belongs to one phase`,
          );
        owner.set(n, ph.name);
      }
    }
  }
}

/** The batch entries under `keys`, in order; a missing key is an error that lists the batch's keys. */
function pick<T>(batch: Readonly<Record<string, T>>, keys: readonly string[], where: string): T[] {
  return keys.map((k) => {
    const v = batch[k];
    if (v === undefined)
      throw new Error(
        `${where}: the batch has no "${k}" (a model input key); its keys are ${
          Object.keys(batch)
            .map((x) => `"${x}"`)
            .join(', ') || '(none)'
        }`,
      );
    return v;
  });
}

/** An objective's outputs checked: a scalar loss and scalar (or fixed-shape) metrics. */
function objectiveOutputs(o: ReturnType<Objective>): { loss: Tensor; metrics: Record<string, Tensor> } {
  if (o.loss.rank !== 0) throw new Error(`Trainer: the objective's loss must be a scalar, got rank ${o.loss.rank}`);
  return { loss: o.loss, metrics: { ...(o.metrics ?? {}) } };
}

/** Reads a scalar ORT output (a loss or a metric) as a number. */
function scalarOf(t: ort.Tensor): number {
  return Number((t.data as ArrayLike<number | bigint>)[0]);
}

async function firstBatch(loader: BatchLoader): Promise<Batch> {
  for await (const b of loader.iterate(0)) return b;
  throw new Error('the data loader yields no batches (is the dataset empty, or drop_last with too few samples?)');
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The auxiliary terms layers recorded during one trace: every loss term (to add to the objective) and, as metrics,
 * each loss name's sum and each metric name's mean over the layers that reported it.
 */
function auxiliaryOutputs(aux: Auxiliaries): { losses: Tensor[]; metrics: Record<string, Tensor> } {
  const losses: Tensor[] = [];
  const metrics: Record<string, Tensor> = {};
  for (const [name, terms] of aux.losses()) {
    const total = terms.reduce((a, b) => add(a, b));
    losses.push(total);
    metrics[name] = total;
  }
  for (const [name, terms] of aux.metrics())
    metrics[name] = div(
      terms.reduce((a, b) => add(a, b)),
      terms.length,
    );
  return { losses, metrics };
}
