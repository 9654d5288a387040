// Public API of `lathe deploy` (lathe/deploy). The serverless handlers are their own subpaths so that an image or
// a function loads only what it runs: lathe/deploy/lambda (onnxruntime-node), lathe/deploy/fetch (onnxruntime-web).
export { deploy, generate, manifestsFor, type DeployResult, type DeployFiles } from './deploy.js';
export {
  parseDeployConfig,
  loadDeployConfig,
  deployConfigSchema,
  DeployError,
  TARGETS,
  type DeployConfig,
  type DeployConfigInput,
  type DeployTarget,
} from './config.js';
export { kubernetesNameProblem, MAX_NAME_LENGTH } from './names.js';
export { checkConsistency } from './consistency.js';
export {
  ROUTES,
  PORT_NAME,
  MODEL_PATH,
  inferPath,
  selectorLabels,
  commonLabels,
  containerServeConfig,
} from './contract.js';
export { queries, QUERIED_METRICS, grafanaDashboard } from './monitoring.js';
export { dockerfile, imageLockfile, BASE_IMAGE } from './docker.js';
export { loadDeployModel, type DeployModel } from './model.js';
export { startPreview, type PreviewServer } from './preview.js';
export { OipHandler, type HttpAnswer, type SessionLike } from './oip-handler.js';
export type { Manifest, ManifestFile } from './manifest.js';
export { deployTraining, generateTraining, trainManifests, type TrainDeployResult } from './train-deploy.js';
export {
  TRAIN_TARGET,
  parseTrainDeployConfig,
  loadTrainDeployConfig,
  trainDeployConfigSchema,
  type TrainDeployConfig,
  type TrainDeployConfigInput,
} from './train-config.js';
export { masterAddress, trainRunDir, trainConfigFileName, type TrainLauncher } from './train-k8s.js';
export { trainingCrdProblems } from './training-crds.js';
