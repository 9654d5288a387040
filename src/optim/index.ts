export type { Optimizer, StepScalars } from './optimizer.js';
export { sgd, type SgdOptions } from './sgd.js';
export { adam, adamw, type AdamOptions } from './adam.js';
export { rmsprop } from './rmsprop.js';
export { lion } from './lion.js';
export {
  constantLr,
  stepLr,
  exponentialLr,
  cosineWithWarmup,
  oneCycle,
  reduceOnPlateau,
  type Schedule,
} from './schedules.js';
export {
  optimizerConfig,
  scheduleConfig,
  createOptimizer,
  createSchedule,
  createTraining,
  type OptimizerConfig,
  type ScheduleConfig,
} from './registry.js';
