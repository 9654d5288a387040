// Shared benchmark workloads (the same models the PyTorch peer builds in bench/peers/torch_train.py).
import { ndarray, type NDArray } from '../src/graph/ndarray.js';
import {
  Linear,
  Conv2d,
  Sequential,
  ReLU,
  MaxPool2d,
  Flatten,
  crossEntropy,
  manualSeed,
  type Module,
  bindParameters,
  withContext,
} from '../src/nn/index.js';
import { adam } from '../src/optim/adam.js';
import { TrainStep } from '../src/train/train-step.js';
import type { SessionConfig } from '../src/runtime/device.js';
import type { TrainStepConfig } from '../src/train/step-graph.js';
import { median } from './_peer.js';

/**
 * The training-step config of `model` on batches of `xShape` with cross-entropy and Adam (what every training bench
 * times); BatchNorm's running statistics are state too, updated by the step (as the Trainer does).
 */
export function stepConfig(
  model: Module,
  xShape: readonly (number | string)[],
  session?: SessionConfig,
): TrainStepConfig {
  const params = Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.data]));
  const buffers = Object.fromEntries(model.namedBuffers().map(([k, p]) => [k, p.data]));
  return {
    params,
    buffers,
    session,
    batch: { x: { dtype: 'float32', shape: xShape }, y: { dtype: 'int64', shape: [xShape[0]] } },
    optimizer: adam(),
    forward: ({ params: ps, buffers: bs, batch }) =>
      withContext({ training: true }, () =>
        bindParameters(model, { ...ps, ...bs }, () => {
          const loss = crossEntropy(model.forward(batch.x), batch.y);
          const updates = Object.fromEntries(
            model
              .namedBuffers()
              .filter(([, p]) => p.pending)
              .map(([k, p]) => [k, p.pending!]),
          );
          return { loss, buffers: updates };
        }),
      ),
  };
}

/** A classification training step of `model` on float32 inputs of `xShape` (see {@link stepConfig}). */
export function stepFor(
  model: Module,
  xShape: readonly number[],
  classes: number,
  session?: SessionConfig,
): Promise<TrainStep> {
  void classes;
  return TrainStep.create(stepConfig(model, xShape, session));
}

/** A fixed pseudo-random batch: x uniform in [-1, 1] of `xShape`, labels cycling through `classes`. */
export function randomBatch(xShape: readonly number[], classes: number): Record<string, NDArray> {
  let s = 12345;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296) * 2 - 1;
  const n = xShape.reduce((a, b) => a * b, 1);
  return {
    x: ndarray('float32', xShape, Float32Array.from({ length: n }, r)),
    y: ndarray(
      'int64',
      [xShape[0]],
      Array.from({ length: xShape[0] }, (_, i) => i % classes),
    ),
  };
}

export async function mlpTrainStep(): Promise<{ step: TrainStep; batch: Record<string, NDArray> }> {
  manualSeed(0);
  const model = new Sequential(new Linear(784, 256), ReLU(), new Linear(256, 256), ReLU(), new Linear(256, 10));
  return { step: await stepFor(model, [128, 784], 10), batch: randomBatch([128, 784], 10) };
}

/** The benchmark CNN (the peer's `cnn`), seeded. */
export function cnnModel(): Module {
  manualSeed(0);
  return new Sequential(
    new Conv2d(1, 32, 3),
    ReLU(),
    MaxPool2d(2),
    new Conv2d(32, 64, 3),
    ReLU(),
    MaxPool2d(2),
    Flatten(),
    new Linear(64 * 5 * 5, 128),
    ReLU(),
    new Linear(128, 10),
  );
}

export async function cnnTrainStep(): Promise<{ step: TrainStep; batch: Record<string, NDArray> }> {
  return { step: await stepFor(cnnModel(), [64, 1, 28, 28], 10), batch: randomBatch([64, 1, 28, 28], 10) };
}

/** Median ms per step over `reps` repetitions of `steps` steps, after warm-up. */
export async function timeSteps(
  step: TrainStep,
  batch: Record<string, NDArray>,
  steps: number,
  reps: number,
): Promise<number> {
  for (let i = 0; i < 10; i++) await step.run(batch, 1e-3);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step.run(batch, 1e-3);
    times.push((performance.now() - t0) / steps);
  }
  return median(times);
}
