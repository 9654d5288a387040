// Quantization-aware fine-tuning with the Trainer: a QatModule built from a static quantization (its float model,
// plan and calibrated ranges) is trained on labelled data with cross-entropy, and the int8 QDQ model written from the
// trained weights and ranges.
import type { NDArray } from '../graph/ndarray.js';
import { crossEntropy } from '../nn/losses.js';
import { adam } from '../optim/adam.js';
import { ArrayLoader } from '../data/array-loader.js';
import type { ModelProto } from '../onnx/proto.js';
import type { SessionConfig } from '../runtime/device.js';
import { Trainer } from '../train/trainer.js';
import { CompressError } from './errors.js';
import { QatModule, type QatOptions } from './qat.js';
import type { StaticQuantResult } from './quantize.js';

/** Options of {@link quantizationAwareTraining}: the fine-tuning schedule and the fake quantizers. */
export interface QatTrainOptions extends QatOptions {
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

/** The QDQ model, the trained module and the mean training loss of the last epoch. */
export interface QatResult {
  readonly model: ModelProto;
  readonly module: QatModule;
  readonly finalLoss: number;
}

/**
 * Fine-tunes the float model of a static quantization `q` with fake quantization on `train` (inputs `x`, integer
 * labels `y`), then exports the int8 model.
 */
export async function quantizationAwareTraining(
  q: StaticQuantResult,
  train: { readonly x: NDArray; readonly y: NDArray },
  opts: QatTrainOptions = {},
): Promise<QatResult> {
  if (train.x.shape[0] === 0) throw new CompressError('quantize.qat: the training set is empty');
  if (train.y.shape[0] !== train.x.shape[0])
    throw new CompressError(`quantize.qat: ${train.x.shape[0]} training inputs but ${train.y.shape[0]} labels`);
  const module = new QatModule(q.float, q.plan, q.ranges, opts);
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
        name: 'qat-progress',
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
  return { model: module.toQdq(), module, finalLoss: n ? sum / n : Number.NaN };
}
