// The training step as ONE ONNX graph: forward, loss, reverse-mode gradients, optional global-norm clipping,
// gradient accumulation, loss scaling, EMA and the optimizer update. State inputs and outputs are named by the key
// spaces of train/state-keys.ts; train/train-step.ts runs the graph with ping-pong state (runtime/ping-pong.ts).
import { gradients } from '../autodiff/grad.js';
import { withAutocast } from '../graph/autocast.js';
import { isFloat } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import { add, cast, div, equal, greaterOrEqual, minimum, mul, sqrt, sub, where } from '../graph/ops/elementwise.js';
import { placeholder, scalar } from '../graph/ops/leaf.js';
import { concat, reshape, split } from '../graph/ops/movement.js';
import { foldKey } from '../graph/ops/random.js';
import { sum } from '../graph/ops/reduce.js';
import { formatShape } from '../graph/shape.js';
import type { Tensor } from '../graph/tensor.js';
import { emitModel } from '../onnx/emit.js';
import type { ModelProto } from '../onnx/proto.js';
import type { InputSpec } from '../onnx/trace.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { SessionConfig } from '../runtime/device.js';
import { batchKey, metricKey, stateKey, UPDATED } from './state-keys.js';

/** What the forward function sees while the step graph is traced. */
export interface StepContext {
  readonly params: Readonly<Record<string, Tensor>>;
  readonly buffers: Readonly<Record<string, Tensor>>;
  readonly batch: Readonly<Record<string, Tensor>>;
  /** int64 scalar: a pure function of (seed, step) for in-graph randomness (dropout, noise). */
  readonly key: Tensor;
}

/** What the traced forward function returns: the scalar loss, metrics to report and updated buffers. */
export interface StepOutputs {
  /** Scalar loss to minimise. */
  readonly loss: Tensor;
  /** Extra scalars or small tensors to report (accuracy, ...). */
  readonly metrics?: Readonly<Record<string, Tensor>>;
  /** New values of buffers (e.g. BatchNorm running statistics). */
  readonly buffers?: Readonly<Record<string, Tensor>>;
}

/**
 * Everything that defines a training step graph: initial parameters and buffers, batch input specs, the forward
 * function, the optimizer, and the options (frozen parameters, gradient clipping, accumulation, EMA, loss scaling,
 * seed, session).
 */
export interface TrainStepConfig {
  readonly params: Readonly<Record<string, NDArray>>;
  readonly buffers?: Readonly<Record<string, NDArray>>;
  readonly batch: Readonly<Record<string, InputSpec>>;
  /** Traces the model's forward pass and loss for one batch (called once, while the graph is built). */
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

/** Which graph: a whole step, an accumulation micro-step, or the micro-step that applies the update. */
export type StepPhase = 'update' | 'accumulate' | 'apply';

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
  for (const [n, p] of Object.entries(cfg.params))
    if (!isFloat(p.dtype))
      throw new Error(`trainStep: parameter ${n} has dtype ${p.dtype}; parameters must be floating point`);
  const frozen = new Set(cfg.frozen ?? []);
  for (const f of frozen) if (!(f in cfg.params)) throw new Error(`trainStep: frozen parameter ${f} does not exist`);
  const k = cfg.accumulate ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`trainStep: accumulate must be a positive integer, got ${k}`);
  const dynamic = cfg.lossScale === 'dynamic';
  const ph = (name: string, p: NDArray) => placeholder(name, p.dtype, p.shape);

  const trainable = names.filter((n) => !frozen.has(n));
  const params = Object.fromEntries(names.map((n) => [n, ph(stateKey.param(n), cfg.params[n])]));
  const slots = cfg.optimizer.slots;
  const fused = fusedLayout(cfg);
  const state = fused
    ? {}
    : Object.fromEntries(trainable.map((n) => [n, slots.map((s) => ph(stateKey.slot(n, s), cfg.params[n]))]));
  const flatState = fused ? slots.map((s) => placeholder(stateKey.flatSlot(s), dt, [fused.total])) : [];
  const accs = k > 1 ? Object.fromEntries(trainable.map((n) => [n, ph(stateKey.accumulator(n), cfg.params[n])])) : {};
  const emas = cfg.ema ? Object.fromEntries(trainable.map((n) => [n, ph(stateKey.ema(n), cfg.params[n])])) : {};
  const buffers = Object.fromEntries(Object.entries(cfg.buffers ?? {}).map(([n, b]) => [n, ph(stateKey.buffer(n), b)]));
  const batch = Object.fromEntries(
    Object.entries(cfg.batch).map(([n, s]) => [n, placeholder(batchKey(n), s.dtype, s.shape)]),
  );
  const lr = placeholder('lr', dt, []);
  const step = placeholder('step', dt, []);
  const seed = placeholder('seed', 'int64', []);
  const stepI = placeholder('stepIndex', 'int64', []);
  const scaleIn = cfg.lossScale !== undefined ? placeholder(stateKey.lossScale, dt, []) : undefined;
  const goodIn = dynamic ? placeholder(stateKey.goodSteps, dt, []) : undefined;
  const key = foldKey(seed, stepI);

  const out = withAutocast(cfg.autocast, () => cfg.forward({ params, buffers, batch, key }));
  if (out.loss.rank !== 0)
    throw new Error(`trainStep: the loss must be a scalar, got shape ${formatShape(out.loss.shape)}`);
  const outputs: Record<string, Tensor> = { loss: out.loss };
  for (const [m, v] of Object.entries(out.metrics ?? {})) outputs[metricKey(m)] = v;
  const stateNames: string[] = [];
  const emit = (name: string, t: Tensor) => {
    outputs[`${UPDATED}${name}`] = t;
    stateNames.push(name);
  };
  for (const [n, t] of Object.entries(out.buffers ?? {})) {
    if (!(n in buffers)) throw new Error(`trainStep: forward returned buffer ${n}, which was not declared`);
    emit(stateKey.buffer(n), t);
  }

  // gradients of the (scaled) loss, unscaled
  const scaled = scaleIn ? mul(out.loss, scaleIn) : out.loss;
  let grads = gradients(
    scaled,
    trainable.map((n) => params[n]),
  );
  if (scaleIn) grads = grads.map((g) => div(g, scaleIn));

  if (phase === 'accumulate') {
    trainable.forEach((n, i) => emit(stateKey.accumulator(n), add(accs[n], grads[i])));
  } else {
    if (phase === 'apply') grads = grads.map((g, i) => div(add(accs[trainable[i]], g), k));
    // finite check for dynamic loss scaling: Σ g·0 is 0 unless some g is inf or NaN
    const finite = dynamic
      ? equal(
          grads.map((g) => sum(mul(g, 0))).reduce((a, b) => add(a, b)),
          scalar(0, dt),
        )
      : undefined;
    const keep = (t: Tensor, old: Tensor) => (finite ? where(finite, t, old) : t);
    const newParams = clipAndUpdate(cfg, { trainable, params, grads, state, flatState, lr, step }, emit, keep);
    trainable.forEach((n, i) => {
      const p = newParams[i];
      emit(stateKey.param(n), p);
      if (phase === 'apply') emit(stateKey.accumulator(n), mul(accs[n], 0));
      if (cfg.ema) emit(stateKey.ema(n), keep(add(emas[n], mul(sub(p, emas[n]), 1 - cfg.ema.decay)), emas[n]));
    });
    if (finite && scaleIn && goodIn) {
      const interval = cfg.growthInterval ?? 2000;
      const good1 = add(goodIn, 1);
      const grow = greaterOrEqual(good1, scalar(interval, dt));
      emit(stateKey.lossScale, where(finite, where(grow, mul(scaleIn, 2), scaleIn), mul(scaleIn, 0.5)));
      emit(stateKey.goodSteps, where(finite, where(grow, scalar(0, dt), good1), scalar(0, dt)));
      outputs[metricKey('skipped')] = sub(1, cast(finite, dt));
    }
  }
  const inputs = [
    ...names.map((n) => params[n]),
    ...trainable.flatMap((n) => state[n] ?? []),
    ...flatState,
    ...Object.values(accs),
    ...Object.values(emas),
    ...Object.values(buffers),
    ...Object.values(batch),
    lr,
    step,
    seed,
    stepI,
    ...(scaleIn ? [scaleIn] : []),
    ...(goodIn ? [goodIn] : []),
  ];
  const model = emitModel({ inputs, outputs }, { name: `train_step_${phase}` });
  const metricShapes: Record<string, readonly number[]> = {};
  for (const m of [...Object.keys(out.metrics ?? {}), ...(metricKey('skipped') in outputs ? ['skipped'] : [])]) {
    const v = outputs[metricKey(m)];
    if (v.shape.some((d) => typeof d !== 'number'))
      throw new Error(`trainStep: metric ${m} has a symbolic shape ${formatShape(v.shape)}; reduce it`);
    metricShapes[m] = v.shape as number[];
  }
  return { model, stateNames, metricNames: Object.keys(metricShapes), metricShapes };
}

/** The graph tensors an optimizer update reads: parameters, their gradients, the optimizer state, lr and step. */
export interface UpdateInputs {
  readonly trainable: readonly string[];
  readonly params: Readonly<Record<string, Tensor>>;
  readonly grads: readonly Tensor[];
  /** Per-parameter slots (unfused), or the slots over the flat vector (fused). */
  readonly state: Readonly<Record<string, readonly Tensor[]>>;
  readonly flatState: readonly Tensor[];
  readonly lr: Tensor;
  readonly step: Tensor;
}

/**
 * Global-norm clipping and the optimizer update (over the flat vector when fused), shared by the one-graph step and
 * the data-parallel update graph so both compute the same numbers. Emits the new optimizer slots; returns the new
 * trainable parameters (each passed through `keep`).
 */
export function clipAndUpdate(
  cfg: TrainStepConfig,
  u: UpdateInputs,
  emit: (name: string, t: Tensor) => void,
  keep: (t: Tensor, old: Tensor) => Tensor,
): Tensor[] {
  const { trainable, params, state, flatState, lr, step } = u;
  const dt = params[trainable[0]].dtype;
  let grads = [...u.grads];
  if (cfg.clipGradNorm !== undefined) {
    const total = sqrt(grads.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
    const factor = minimum(div(scalar(cfg.clipGradNorm, dt), add(total, 1e-6)), 1);
    grads = grads.map((g) => mul(g, factor));
  }
  const slots = cfg.optimizer.slots;
  if (fusedLayout(cfg)) {
    const sizes = fusedLayout(cfg)!.sizes;
    // one update over the concatenation of every trainable parameter
    const flat = (ts: readonly Tensor[]) =>
      concat(
        ts.map((t) => reshape(t, [-1])),
        0,
      );
    const upd = cfg.optimizer.update(flat(trainable.map((n) => params[n])), flat(grads), flatState, { step, lr });
    const pieces = split(upd.param, sizes, 0);
    slots.forEach((s, j) => emit(stateKey.flatSlot(s), keep(upd.state[j], flatState[j])));
    return trainable.map((n, i) => keep(reshape(pieces[i], cfg.params[n].shape), params[n]));
  }
  return trainable.map((n, i) => {
    const upd = cfg.optimizer.update(params[n], grads[i], state[n], { step, lr });
    slots.forEach((s, j) => emit(stateKey.slot(n, s), keep(upd.state[j], state[n][j])));
    return keep(upd.param, params[n]);
  });
}

/** The flat layout of trainable parameters for the fused update, or undefined when not fused. */
export function fusedLayout(cfg: TrainStepConfig): { total: number; sizes: number[] } | undefined {
  if (cfg.fuseOptimizer === false) return undefined;
  const frozen = new Set(cfg.frozen ?? []);
  const ps = Object.entries(cfg.params)
    .filter(([n]) => !frozen.has(n))
    .map(([, p]) => p);
  if (ps.length < 2 || ps.some((p) => p.dtype !== ps[0].dtype)) return undefined;
  const sizes = ps.map((p) => p.shape.reduce((a, b) => a * b, 1));
  return { total: sizes.reduce((a, b) => a + b, 0), sizes };
}
