export { Trainer, type TrainerConfig, type EvalResult, type Objective, type TrainPhase } from './trainer.js';
export { PhasedStep, type CompiledPhase, type PhasedResult } from './phased-step.js';
export { TrainStep, type StepResult } from './train-step.js';
export { DataParallelStep } from './data-parallel-step.js';
export { ShardedLoader, type ShardedLoaderOptions } from './sharded-loader.js';
export { RankMismatchError } from './data-parallel-sync.js';
export {
  buildTrainStepModel,
  type TrainStepConfig,
  type StepContext,
  type StepOutputs,
  type StepPhase,
} from './step-graph.js';
export { stateKey } from './state-keys.js';
export { ArrayLoader, permutation, type BatchLoader, type Batch, type ArrayLoaderOptions } from './loader.js';
export {
  modelCheckpoint,
  earlyStopping,
  timeBudget,
  lrMonitor,
  progressBar,
  csvLogger,
  jsonlLogger,
  type Callback,
  type BatchLogs,
  type EpochLogs,
} from './callbacks.js';
export * as metrics from './metrics.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type CheckpointManifest } from './checkpoint.js';
export {
  runTraining,
  evaluateCheckpoint,
  modelFromCheckpoint,
  buildModel,
  type RunResult,
  type LmSummary,
} from './run.js';
export { loadTrainConfig, parseTrainConfig, trainConfigSchema, ConfigError, type TrainConfig } from './config.js';
export { quickstartConfig } from './quickstart.js';
export {
  loadGraphData,
  graphTrainerConfig,
  graphDataOptions,
  isGraphData,
  CORA_DIR,
  type GraphDataOptions,
} from './graph-data.js';
export {
  featureStats,
  frechetDistance,
  precisionRecall,
  fmnistFeatures,
  scoreGenerated,
  classAgreement,
  symmetricEigen,
  FID_FMNIST_CLASSIFIER,
  type FeatureStats,
  type ImageFeatures,
  type GenerativeScores,
} from './fid.js';
export { evaluateGenerative, generativeModelBytes, type GenerativeEvalResult } from './generative-eval.js';
export { generativeSplits, type EvaluateOptions } from './run.js';
export {
  distillationLoss,
  distillLoss,
  openTeacher,
  TeacherLoader,
  type DistillOptions,
  type Teacher,
} from './distill.js';
export {
  trainNerf,
  renderRays,
  psnr,
  type TrainNerfOptions,
  type TrainNerfResult,
} from './nerf.js';
