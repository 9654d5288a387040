export { Trainer, type TrainerConfig, type EvalResult } from './trainer.js';
export { ArrayLoader, permutation, type BatchLoader, type Batch, type ArrayLoaderOptions } from './loader.js';
export { modelCheckpoint, earlyStopping, lrMonitor, progressBar, csvLogger, jsonlLogger, type Callback, type BatchLogs, type EpochLogs } from './callbacks.js';
export * as metrics from './metrics.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type CheckpointManifest } from './checkpoint.js';
export { runTraining, evaluateCheckpoint, modelFromCheckpoint, buildModel, type RunResult } from './run.js';
export { loadTrainConfig, parseTrainConfig, trainConfigSchema, ConfigError, type TrainConfig } from './config.js';
export { getDataset, registerDataset, datasetNames, readIdx, type DatasetEntry } from './datasets.js';
export { quickstartConfig } from './quickstart.js';
