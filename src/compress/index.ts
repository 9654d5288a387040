// Model compression: post-training static int8 quantization of ONNX models (QDQ form that ONNX Runtime runs as
// integer kernels), calibration methods, per-layer sensitivity, and `lathe compress` as a library call.
export { CompressError } from './errors.js';
export {
  activationParams,
  quantizeBias,
  quantizeValue,
  quantizeWeight,
  quantRange,
  roundHalfEven,
  type QuantizedWeight,
  type QuantParams,
  type QuantType,
} from './quant-params.js';
export {
  entropyThreshold,
  Histogram,
  histogramQuantile,
  MinMax,
  percentileRange,
  type CalibrationMethod,
} from './histogram.js';
export {
  nameNodes,
  planQuantization,
  QUANTIZABLE_OPS,
  type OpKind,
  type PlanOptions,
  type QuantPlan,
  type TensorSource,
  type WeightUse,
} from './qdq-plan.js';
export { insertQdq, tensorParams, type QdqOptions, type Ranges } from './qdq.js';
export { batchFeeds, calibrate, withObservedOutputs, type CalibrationOptions, type Feeds } from './calibrate.js';
export {
  observedTensors,
  quantizeStatic,
  sensitivity,
  withNodeNames,
  type SensitivityRow,
  type StaticQuantOptions,
  type StaticQuantResult,
} from './quantize.js';
export { accuracyOf, latencyOf, labelsOf, timeSession, type EvalSet, type Latency } from './evaluate.js';
export { optimizedKernels } from './kernels.js';
export { quantizeDynamic, type DynamicQuantOptions, type DynamicQuantResult } from './dynamic.js';
export { foldConstants } from './fold-constants.js';
export { compressConfigSchema, loadCompressConfig, parseCompressConfig, type CompressConfig } from './config.js';
export {
  compressModel,
  loadCompressData,
  COMPRESSION_METADATA_KEY,
  type CompressData,
  type CompressOptions,
  type CompressReport,
  type LayerRow,
} from './compress.js';
export {
  pruneMagnitude,
  PRUNABLE_OPS,
  type MagnitudePruneOptions,
  type MagnitudePruneResult,
  type PrunedLayer,
} from './prune.js';
export { pruneChannels, zeroPrunedChannels, type ChannelGroup, type ChannelPruneResult } from './channel-prune.js';
export { reportMarkdown } from './report.js';
export { fakeQuantize, fakeQuantizeWeight, type FakeQuantOptions } from './fake-quant.js';
export { QatModule, type QatOptions } from './qat.js';
export { quantizationAwareTraining, type QatResult, type QatTrainOptions } from './qat-train.js';
export { fineTune, onnxWithWeights, type FineTuneOptions, type LabelledData } from './fine-tune.js';
