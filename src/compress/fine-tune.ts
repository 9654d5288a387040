// Fine-tuning an imported ONNX model with the Trainer (cross-entropy, Adam): quantization-aware training trains a
// QatModule this way, and channel pruning fine-tunes the smaller model it wrote. The trained weights go back into the
// model's initializers (onnxWithWeights).
import type { NDArray } from '../graph/ndarray.js';
import { ArrayLoader } from '../data/array-loader.js';
import type { Module } from '../nn/module.js';
import type { OnnxModule } from '../nn/onnx-module.js';
import { crossEntropy } from '../nn/losses.js';
import { typedArrayToTensor } from '../onnx/encode.js';
import type { ModelProto } from '../onnx/proto.js';
import { adam } from '../optim/adam.js';
import type { SessionConfig } from '../runtime/device.js';
import { Trainer } from '../train/trainer.js';
import { CompressError } from './errors.js';

/** The fine-tuning run: epochs, Adam's learning rate, batch size, seed, ORT session and progress. */
export interface FineTuneOptions {
  /** Passes over the training data (default 1). */
  readonly epochs?: number;
  /** Adam's learning rate (default 1e-4: fine-tuning from a trained model). */
  readonly lr?: number;
  readonly batchSize?: number;
  readonly seed?: number;
  readonly session?: SessionConfig;
  /** Called every 50 batches and at the end of an epoch with the batch, the epoch's batches and its mean loss so far. */
  readonly onProgress?: (batch: number, of: number, loss: number) => void;
}

/** Labelled training data: inputs `x` [N, ...] and integer class labels `y` [N]. */
export interface LabelledData {
  readonly x: NDArray;
  readonly y: NDArray;
}

/**
 * Trains `module` (its forward gives class logits) on `train` with cross-entropy and Adam; returns the mean training
 * loss of the last epoch. `what` names the caller in errors (e.g. 'quantize.qat').
 */
export async function fineTune(
  module: Module,
  train: LabelledData,
  opts: FineTuneOptions,
  what: string,
): Promise<number> {
  if (train.x.shape[0] === 0) throw new CompressError(`${what}: the training set is empty`);
  if (train.y.shape[0] !== train.x.shape[0])
    throw new CompressError(`${what}: ${train.x.shape[0]} training inputs but ${train.y.shape[0]} labels`);
  const loader = new ArrayLoader(
    { x: train.x, y: train.y },
    { batchSize: opts.batchSize ?? 64, shuffle: true, seed: opts.seed ?? 0 },
  );
  let sum = 0,
    n = 0;
  const trainer = new Trainer({
    model: module,
    optimizer: adam(),
    lr: opts.lr ?? 1e-4,
    epochs: opts.epochs ?? 1,
    loss: (o, b) => crossEntropy(o, b.y),
    seed: opts.seed ?? 0,
    session: opts.session,
    callbacks: [
      {
        name: 'fine-tune-progress',
        onBatchEnd: (_t, logs) => {
          if (logs.batch === 0) sum = n = 0;
          sum += logs.loss;
          n++;
          if (n % 50 === 0 || n === loader.length) opts.onProgress?.(n, loader.length, sum / n);
        },
      },
    ],
  });
  await trainer.fit(loader);
  trainer.syncModel();
  return n ? sum / n : Number.NaN;
}

/** `model` with the initializers of `net` (an OnnxModule imported from it) replaced by the module's current weights. */
export function onnxWithWeights(model: ModelProto, net: OnnxModule): ModelProto {
  const trained = new Map(net.initializerNames.map((n, i) => [n, net.weights[i].data]));
  const initializer = model.graph.initializer.map((t) => {
    const w = t.name === undefined ? undefined : trained.get(t.name);
    return w ? typedArrayToTensor(t.name!, w.data as Float32Array, w.shape) : t;
  });
  return { ...model, graph: { ...model.graph, initializer } };
}
