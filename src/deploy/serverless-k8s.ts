// KServe InferenceService (a custom predictor container speaking OIP v2) and Knative Service. Both run the image's
// own serve.yaml (the model at /mnt/models, where KServe's storage initializer also puts a `storageUri`), and
// both gate traffic on lathe's readiness: ready turns true only after the model loaded and warmed up, so a pod
// scaled from zero gets no request before it can answer (kserve #2882, knative/serving #10764).
import type { DeployConfig } from './config.js';
import { commonLabels, IMAGE_CONFIG_PATH, ROUTES, RUN_AS_USER } from './contract.js';
import { imageOf } from './k8s.js';
import type { Json, Manifest } from './manifest.js';

/** The container of a KServe/Knative revision (Knative wants the port named http1 and probes on that port). */
function revisionContainer(c: DeployConfig, name: string): Record<string, Json> {
  return {
    name,
    image: imageOf(c),
    args: ['serve', '--config', IMAGE_CONFIG_PATH],
    ports: [{ name: 'http1', containerPort: c.port, protocol: 'TCP' }],
    env: [
      { name: 'NODE_ENV', value: 'production' },
      ...(c.storageUri ? [{ name: 'STORAGE_URI', value: c.storageUri }] : []),
    ],
    readinessProbe: {
      httpGet: { path: ROUTES.ready, port: c.port },
      periodSeconds: 2,
      failureThreshold: 2,
      timeoutSeconds: 2,
    },
    livenessProbe: {
      httpGet: { path: ROUTES.live, port: c.port },
      periodSeconds: 10,
      failureThreshold: 3,
      initialDelaySeconds: Math.min(c.startupSeconds, 30),
    },
    resources: { requests: { ...c.resources.requests }, limits: { ...c.resources.limits } },
    securityContext: {
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      runAsUser: RUN_AS_USER,
      capabilities: { drop: ['ALL'] },
    },
  };
}

export function inferenceService(c: DeployConfig): Manifest {
  const serverless = c.kserveMode === 'Serverless';
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: {
      name: c.name,
      namespace: c.namespace,
      labels: commonLabels(c),
      annotations: {
        'serving.kserve.io/deploymentMode': c.kserveMode,
        ...(serverless
          ? {
              'autoscaling.knative.dev/metric': 'concurrency',
              'autoscaling.knative.dev/target': String(c.targetQueueDepth),
            }
          : {
              'serving.kserve.io/autoscalerClass': 'hpa',
              'serving.kserve.io/metrics': 'cpu',
              'serving.kserve.io/targetUtilizationPercentage': String(c.targetCpuPercent),
            }),
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(c.port),
        'prometheus.io/path': ROUTES.metrics,
      },
    },
    spec: {
      predictor: {
        minReplicas: c.minReplicas,
        maxReplicas: c.maxReplicas,
        // KServe splits traffic between the last ready and the new revision only in Serverless mode.
        ...(serverless && c.canary > 0 && c.canary < 100 ? { canaryTrafficPercent: c.canary } : {}),
        containers: [revisionContainer(c, 'kserve-container')],
      },
    },
  };
}

export function knativeService(c: DeployConfig): Manifest {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: c.name, namespace: c.namespace, labels: commonLabels(c) },
    spec: {
      template: {
        metadata: {
          labels: commonLabels(c),
          annotations: {
            'autoscaling.knative.dev/min-scale': String(c.minReplicas),
            'autoscaling.knative.dev/max-scale': String(c.maxReplicas),
            'autoscaling.knative.dev/metric': 'concurrency',
            'autoscaling.knative.dev/target': String(c.targetQueueDepth),
          },
        },
        spec: { containerConcurrency: 0, timeoutSeconds: 300, containers: [revisionContainer(c, 'lathe')] },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    },
  };
}
