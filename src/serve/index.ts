// Public API of lathe's inference server.
export { buildServer, createServer, type LatheServer, type ServeOptions } from './server.js';
export { Lifecycle, type Phase } from './lifecycle.js';
export {
  inferenceService,
  PROTO_PATH,
  type ModelInferRequest,
  type ModelInferResponse,
  type InferParameter,
  type InferTensorContents,
} from './grpc/proto.js';
export { grpcStatusOf } from './grpc/server.js';
export {
  loadServeConfig,
  parseServeConfig,
  modelDefaults,
  type ServeConfig,
  type ServeConfigInput,
  type ModelConfig,
  type ModelConfigInput,
  type ExperimentConfig,
  type FallbackStep,
} from './config.js';
export {
  expandSource,
  registerModelResolver,
  registeredModelResolvers,
  resolveFileSource,
  resolveSource,
  type ModelResolver,
  type ModelVersionFile,
} from './resolver.js';
export { ModelRepository } from './repository.js';
export { InferenceService, type InferOutcome, type ServeLogger } from './service.js';
export { ServeMetrics } from './metrics.js';
export { DynamicBatcher, type BatchingOptions, type BatchInfo } from './batcher.js';
export { ResponseCache, cacheKey, type CacheOptions } from './cache.js';
export { Experiment, compareOutputs, stickyFraction, type ShadowComparison, type Target } from './experiments.js';
export { ServeError, InferenceError, QueueFullError } from './errors.js';
export type { HostTensor, TensorSpec, ModelSignature } from './tensor.js';
export type { OipDatatype, TypedArray } from './tensor.js';
