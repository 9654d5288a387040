// Quantization-aware fine-tuning with the Trainer: a QatModule built from a static quantization (its float model,
// plan and calibrated ranges) is trained on labelled data with cross-entropy, and the int8 QDQ model written from the
// trained weights and ranges.
import { fineTune, type FineTuneOptions, type LabelledData } from './fine-tune.js';
import type { ModelProto } from '../onnx/proto.js';
import { QatModule, type QatOptions } from './qat.js';
import type { StaticQuantResult } from './quantize.js';

/** Options of {@link quantizationAwareTraining}: the fine-tuning run and the fake quantizers. */
export interface QatTrainOptions extends QatOptions, FineTuneOptions {}

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
  train: LabelledData,
  opts: QatTrainOptions = {},
): Promise<QatResult> {
  const module = new QatModule(q.float, q.plan, q.ranges, opts);
  const finalLoss = await fineTune(module, train, opts, 'quantize.qat');
  return { model: module.toQdq(), module, finalLoss };
}
