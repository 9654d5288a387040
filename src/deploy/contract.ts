// What every artifact agrees on with the server: the routes lathe serve answers (src/serve/routes/health.ts and
// metrics.ts), the port, the labels that select the pods, where the model and the config live in the container,
// and the serve.yaml the container runs. The consistency check (consistency.ts) and its test hold the manifests
// to these values, and the test holds these values to the real server's routes.
import { createHash } from 'node:crypto';
import { parseServeConfig, type ServeConfig } from '../serve/config.js';
import type { DeployConfig } from './config.js';

export { ROUTES, inferPath } from './routes.js';
/** Name of the container port every manifest refers to. */
export const PORT_NAME = 'http';
/** KServe's convention: the model lives (or its storage initializer puts it) here. */
const MODEL_DIR = '/mnt/models';
/** Where the model file lives inside the container: /mnt/models/model.onnx, KServe's storage convention. */
export const MODEL_PATH = `${MODEL_DIR}/model.onnx`;
/** The serve.yaml baked into the image, and where the ConfigMap mounts its own. */
export const IMAGE_CONFIG_PATH = '/app/serve.yaml';
export const CONFIG_DIR = '/etc/lathe';
/** The lathe CLI inside the image (its ENTRYPOINT runs it with node). */
export const IMAGE_LATHE_BIN = '/app/node_modules/lathe/bin/lathe.js';
/** The `node` user of the official Node images. */
export const RUN_AS_USER = 1000;

/** The container security context of every long-running lathe container: non-root, read-only root, no capabilities. */
export const containerSecurity = () => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: RUN_AS_USER,
  capabilities: { drop: ['ALL'] },
});

/** The pod security context of lathe pods: the image's user and group, the runtime's default seccomp profile. */
export const podSecurity = () => ({
  runAsNonRoot: true,
  runAsUser: RUN_AS_USER,
  runAsGroup: RUN_AS_USER,
  fsGroup: RUN_AS_USER,
  seccompProfile: { type: 'RuntimeDefault' },
});

/** Labels on every object; the selector labels are the first two. */
export function selectorLabels(c: DeployConfig): Record<string, string> {
  return { 'app.kubernetes.io/name': c.name, 'app.kubernetes.io/component': 'predictor' };
}

/**
 * The Kubernetes labels put on every generated object: the selector labels plus part-of `lathe` and managed-by
 * `lathe-deploy`.
 */
export function commonLabels(c: DeployConfig): Record<string, string> {
  return { ...selectorLabels(c), 'app.kubernetes.io/part-of': 'lathe', 'app.kubernetes.io/managed-by': 'lathe-deploy' };
}

/** The server configuration the container runs: listening on every interface of the pod, the model at /mnt/models. */
export function containerServeConfig(c: DeployConfig): ServeConfig {
  return parseServeConfig(
    {
      server: {
        host: '0.0.0.0',
        port: c.port,
        readinessDrainMs: c.readinessDrainMs,
        drainTimeoutMs: c.drainTimeoutMs,
        logLevel: 'info',
      },
      models: { [c.name]: { source: MODEL_PATH, versions: 'latest', batching: { maxQueueSize: c.maxQueueSize } } },
    },
    'generated serve config',
  );
}

/** Seconds Kubernetes waits after SIGTERM: the readiness drain, the request drain, and a margin. */
export function terminationGraceSeconds(c: DeployConfig): number {
  return Math.ceil((c.readinessDrainMs + c.drainTimeoutMs) / 1000) + 10;
}

/** Short content hash (pods roll when the config changes). */
export function contentHash(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
