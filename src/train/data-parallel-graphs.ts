// The training step split in two for data parallelism. The gradient graph runs forward, loss and backward and
// writes ONE flat vector: every trainable parameter's gradient (in parameter order), then the loss, then the metrics
// — the buffer the ranks all-reduce, so averaged gradients, loss and metrics cost one collective. The update graph
// reads the reduced vector, scales it by 1/worldSize and applies clipping and the optimizer update with the same code
// as the one-graph step (step-graph.ts's clipAndUpdate), so world size 1 gives the one-graph step's numbers.
import { gradients } from '../autodiff/grad.js';
import { withAutocast } from '../graph/autocast.js';
import { add, cast, mul, sub } from '../graph/ops/elementwise.js';
import { placeholder } from '../graph/ops/leaf.js';
import { concat, reshape, split } from '../graph/ops/movement.js';
import { foldKey } from '../graph/ops/random.js';
import { formatShape } from '../graph/shape.js';
import type { Tensor } from '../graph/tensor.js';
import { emitModel } from '../onnx/emit.js';
import type { ModelProto } from '../onnx/proto.js';
import { batchKey, stateKey, UPDATED } from './state-keys.js';
import { clipAndUpdate, fusedLayout, type TrainStepConfig } from './step-graph.js';

/** Graph input and output names of the split step. */
export const REDUCED = 'reduced';
export const GRAD_SCALE = 'gradScale';

/** The gradient graph and the layout of the vector it writes. */
export interface GradientGraph {
  readonly model: ModelProto;
  /** State it rewrites (buffers such as BatchNorm statistics), outputs `new.<name>`. */
  readonly stateNames: string[];
  /** Gradient values at the head of the vector. */
  readonly gradValues: number;
  /** Metric names and their value counts, after the loss in the vector, in this order. */
  readonly metrics: readonly (readonly [string, number])[];
  /** Length of the whole vector: gradients, loss, metrics. */
  readonly length: number;
}

/** The update graph: which state it rewrites. */
export interface UpdateGraph {
  readonly model: ModelProto;
  readonly stateNames: string[];
}

const trainableOf = (cfg: TrainStepConfig): string[] => {
  const frozen = new Set(cfg.frozen ?? []);
  return Object.keys(cfg.params).filter((n) => !frozen.has(n));
};

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Builds the gradient graph: parameters, buffers, batch, seed and step index in; the flat vector and buffers out. */
export function buildGradientModel(cfg: TrainStepConfig): GradientGraph {
  const names = Object.keys(cfg.params);
  const trainable = trainableOf(cfg);
  if (!trainable.length) throw new Error('data-parallel step: no trainable parameters');
  for (const [n, p] of Object.entries(cfg.params))
    if (p.dtype !== 'float32')
      throw new Error(`data-parallel step: parameter ${n} is ${p.dtype}; the collective reduces float32 only`);
  const params = Object.fromEntries(
    names.map((n) => [n, placeholder(stateKey.param(n), 'float32', cfg.params[n].shape)]),
  );
  const buffers = Object.fromEntries(
    Object.entries(cfg.buffers ?? {}).map(([n, b]) => [n, placeholder(stateKey.buffer(n), b.dtype, b.shape)]),
  );
  const batch = Object.fromEntries(
    Object.entries(cfg.batch).map(([n, s]) => [n, placeholder(batchKey(n), s.dtype, s.shape)]),
  );
  const seed = placeholder('seed', 'int64', []);
  const stepI = placeholder('stepIndex', 'int64', []);
  const out = withAutocast(cfg.autocast, () => cfg.forward({ params, buffers, batch, key: foldKey(seed, stepI) }));
  if (out.loss.rank !== 0)
    throw new Error(`trainStep: the loss must be a scalar, got shape ${formatShape(out.loss.shape)}`);
  const grads = gradients(
    out.loss,
    trainable.map((n) => params[n]),
  );
  const metrics: [string, number][] = [];
  const pieces: Tensor[] = [...grads.map((g) => reshape(g, [-1])), reshape(cast(out.loss, 'float32'), [1])];
  for (const [m, v] of Object.entries(out.metrics ?? {})) {
    if (v.shape.some((d) => typeof d !== 'number'))
      throw new Error(`trainStep: metric ${m} has a symbolic shape ${formatShape(v.shape)}; reduce it`);
    metrics.push([m, sizeOf(v.shape as number[])]);
    pieces.push(reshape(cast(v, 'float32'), [-1]));
  }
  const outputs: Record<string, Tensor> = { [REDUCED]: concat(pieces, 0) };
  const stateNames: string[] = [];
  for (const [n, t] of Object.entries(out.buffers ?? {})) {
    if (!(n in buffers)) throw new Error(`trainStep: forward returned buffer ${n}, which was not declared`);
    outputs[`${UPDATED}${stateKey.buffer(n)}`] = t;
    stateNames.push(stateKey.buffer(n));
  }
  const gradValues = trainable.reduce((a, n) => a + sizeOf(cfg.params[n].shape), 0);
  const model = emitModel(
    {
      inputs: [...names.map((n) => params[n]), ...Object.values(buffers), ...Object.values(batch), seed, stepI],
      outputs,
    },
    { name: 'train_step_gradients' },
  );
  return { model, stateNames, gradValues, metrics, length: gradValues + 1 + metrics.reduce((a, [, k]) => a + k, 0) };
}

/**
 * Builds the update graph: trainable parameters, optimizer slots, EMA, the reduced vector (`length` values), its scale
 * (1/worldSize), lr and step in; new parameters, slots and EMA out.
 */
export function buildUpdateModel(cfg: TrainStepConfig, length: number): UpdateGraph {
  const trainable = trainableOf(cfg);
  const ph = (name: string, shape: readonly number[]) => placeholder(name, 'float32', shape);
  const params = Object.fromEntries(trainable.map((n) => [n, ph(stateKey.param(n), cfg.params[n].shape)]));
  const slots = cfg.optimizer.slots;
  const fused = fusedLayout(cfg);
  const state = fused
    ? {}
    : Object.fromEntries(trainable.map((n) => [n, slots.map((s) => ph(stateKey.slot(n, s), cfg.params[n].shape))]));
  const flatState = fused ? slots.map((s) => ph(stateKey.flatSlot(s), [fused.total])) : [];
  const emas = cfg.ema ? Object.fromEntries(trainable.map((n) => [n, ph(stateKey.ema(n), cfg.params[n].shape)])) : {};
  const reduced = ph(REDUCED, [length]);
  const scale = ph(GRAD_SCALE, []);
  const lr = ph('lr', []);
  const step = ph('step', []);
  const sizes = trainable.map((n) => sizeOf(cfg.params[n].shape));
  const gradValues = sizes.reduce((a, b) => a + b, 0);
  const parts = split(reduced, [...sizes, length - gradValues], 0);
  const grads = trainable.map((n, i) => mul(reshape(parts[i], cfg.params[n].shape), scale));
  const outputs: Record<string, Tensor> = {};
  const stateNames: string[] = [];
  const emit = (name: string, t: Tensor) => {
    outputs[`${UPDATED}${name}`] = t;
    stateNames.push(name);
  };
  const keep = (t: Tensor) => t;
  const newParams = clipAndUpdate(cfg, { trainable, params, grads, state, flatState, lr, step }, emit, keep);
  trainable.forEach((n, i) => {
    const p = newParams[i];
    emit(stateKey.param(n), p);
    if (cfg.ema) emit(stateKey.ema(n), add(emas[n], mul(sub(p, emas[n]), 1 - cfg.ema.decay)));
  });
  const model = emitModel(
    {
      inputs: [
        ...trainable.map((n) => params[n]),
        ...trainable.flatMap((n) => (state as Record<string, Tensor[]>)[n] ?? []),
        ...flatState,
        ...Object.values(emas),
        reduced,
        scale,
        lr,
        step,
      ],
      outputs,
    },
    { name: 'train_step_update' },
  );
  return { model, stateNames };
}
