// A compiled training step for a module, as the Trainer builds it (forward in training mode with the step's random
// key, the loss, BatchNorm buffer updates), for the probes that train a few steps: the overfit test, the
// update-ratio measurement, design's step timing and lr-find.
import type { NDArray } from '../graph/ndarray.js';
import { withContext } from '../nn/context.js';
import { bindParameters, type Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { SessionConfig } from '../runtime/device.js';
import { TrainStep } from '../train/train-step.js';
import type { LossFn } from './probe.js';

export interface StepSpec {
  readonly model: Module;
  /** A sample batch (its per-sample shapes and dtypes; the batch dim is symbolic). */
  readonly batch: Readonly<Record<string, NDArray>>;
  readonly inputKeys?: readonly string[];
  readonly loss: LossFn;
  readonly optimizer: Optimizer;
  readonly clipGradNorm?: number;
  readonly seed?: number;
  readonly session?: SessionConfig;
}

export function createStep(spec: StepSpec): Promise<TrainStep> {
  const { model } = spec;
  const keys = spec.inputKeys ?? ['x'];
  return TrainStep.create({
    params: Object.fromEntries(model.namedParameters().map(([k, q]) => [k, q.data])),
    buffers: Object.fromEntries(model.namedBuffers().map(([k, q]) => [k, q.data])),
    batch: Object.fromEntries(
      Object.entries(spec.batch).map(([k, a]) => [k, { dtype: a.dtype, shape: ['batch', ...a.shape.slice(1)] }]),
    ),
    optimizer: spec.optimizer,
    frozen: model
      .namedParameters()
      .filter(([, q]) => q.frozen)
      .map(([k]) => k),
    clipGradNorm: spec.clipGradNorm,
    seed: spec.seed ?? 0,
    session: spec.session ?? { threads: 1 },
    forward: ({ params, buffers, batch, key }) =>
      withContext({ training: true, key }, () =>
        bindParameters(model, { ...params, ...buffers }, () => {
          model.train();
          const out = model.forward(...keys.map((k) => batch[k]));
          const updates = Object.fromEntries(
            model
              .namedBuffers()
              .filter(([, q]) => q.pending)
              .map(([k, q]) => [k, q.pending!]),
          );
          return { loss: spec.loss(out, batch), buffers: updates };
        }),
      ),
  });
}
