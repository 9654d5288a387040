// Public API of the tracking layer: runs, metrics, artifacts, model registry, UI server.
export * from './types.js';
export type { TrackingStore, RunBatch } from './store.js';
export {
  openStore,
  openTracking,
  parseTrackingUrl,
  trackingUrl,
  sweepDeadWriters,
  DEFAULT_TRACKING_URL,
  DEFAULT_STALE_MS,
  type Tracking,
  type TrackingLocation,
  type OpenOptions,
} from './open.js';
export {
  startRun,
  logArtifactTo,
  isPermanentWriteError,
  Run,
  type StartRunOptions,
  type RejectedWrite,
} from './run.js';
export { checkKey, checkText, checkParam, checkTag } from './validate.js';
export { canonicalMetricKey, metricKeySpellings } from './metric-names.js';
export { runName } from './run-names.js';
export { collectLineage, configHash, canonicalJson, fingerprintFiles, gitInfo, type LineageInput } from './lineage.js';
export { versions } from '../util/version.js';
export {
  validateArtifactPath,
  blobPath,
  artifactKind,
  sweepArtifactTemp,
  DEFAULT_MAX_ARTIFACT_BYTES,
} from './artifacts.js';
export {
  registerModel,
  resolveModelUri,
  parseModelUri,
  registryResolver,
  checkModelName,
  type ModelUri,
  type RegisterModelOptions,
  type ResolvedModel,
} from './registry.js';
export {
  InMemoryStudySource,
  optimizationHistory,
  paramImportance,
  paretoFront,
  type StudySource,
  type StudySummary,
  type TrialRecord,
  type TrialState,
  type Direction,
} from './study-views.js';
export { createTrackingServer, startUi, hostOf, type TrackingServerOptions, type StartUiOptions } from './server.js';
export { trackingCallback } from './callback.js';
