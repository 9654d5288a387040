// Public API of the tune layer: studies, trials, samplers, pruners, storages, NAS helpers and analysis.
export {
  Study,
  ObjectiveError,
  type StudyOptions,
  type OptimizeOptions,
  type Objective,
  type ObjectiveResult,
  type TellResult,
} from './study.js';
export { Trial } from './trial.js';
export { TrialPruned, SearchSpaceError, StorageError } from './errors.js';
export type {
  Direction,
  TrialState,
  FrozenTrial,
  ParamValue,
  CategoricalChoice,
  JsonValue,
  TrialCounts,
} from './types.js';
export {
  floatDistribution,
  intDistribution,
  categoricalDistribution,
  type Distribution,
  type FloatDistribution,
  type IntDistribution,
  type CategoricalDistribution,
} from './distributions.js';
export { Rng } from '../util/random.js';
export type { Sampler, StudyView, RelativeSample, RelativeParam } from './samplers/sampler.js';
export { randomSampler } from './samplers/random.js';
export { gridSampler } from './samplers/grid.js';
export { sobolSampler, sobolPoint } from './samplers/sobol.js';
export { tpeSampler, type TpeOptions } from './samplers/tpe.js';
export { cmaEsSampler, type CmaEsOptions } from './samplers/cmaes.js';
export { nsga2Sampler, type Nsga2Options } from './samplers/nsga2.js';
export { evolutionSampler, type EvolutionOptions } from './samplers/evolution.js';
export { bohbSampler, bohb, type BohbOptions } from './samplers/bohb.js';
export type { Pruner } from './pruners/pruner.js';
export { nopPruner } from './pruners/pruner.js';
export { medianPruner, percentilePruner, type PercentilePrunerOptions } from './pruners/percentile.js';
export { successiveHalvingPruner, ashaPruner, type SuccessiveHalvingOptions } from './pruners/successive-halving.js';
export { hyperbandPruner, type HyperbandOptions, type HyperbandPruner } from './pruners/hyperband.js';
export type { Storage, StudyRecord } from './storage/storage.js';
export { openStorage, parseStorageUrl } from './storage/open.js';
export { MemoryStorage } from './storage/memory.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { pruningReporter, type PruningReporter, type PruningReporterOptions } from './pruners/pruning-reporter.js';
export {
  suggestArchitecture,
  latencyAwareObjective,
  type ArchitectureSpace,
  type ArchitectureConfig,
  type LayerConfig,
} from './nas.js';
export {
  optimizationHistory,
  bestTrial,
  bestTrials,
  paramImportance,
  paretoFront,
  exportTrialConfig,
  type HistoryPoint,
} from './analysis.js';
export { loadTuneConfig, parseTuneConfig, TuneConfigError, type TuneConfig } from './config.js';
export { samplerFromConfig, prunerFromConfig } from './registry.js';
export {
  runWorker,
  runWorkers,
  spaceFromConfig,
  suggestFromSpace,
  type TrialObserver,
  type TrialObservation,
  type WorkerOptions,
  type RunWorkersOptions,
  type TrainObjectiveLoader,
  type ObjectiveContext,
} from './runner.js';
