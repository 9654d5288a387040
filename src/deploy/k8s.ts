// Core Kubernetes objects: Deployment (or the pod template a Rollout reuses), Service, PodDisruptionBudget,
// HorizontalPodAutoscaler (autoscaling/v2), NetworkPolicy and the ConfigMap holding serve.yaml.
//
// Probes follow lathe serve's lifecycle (docs/serve.md): the port opens first, live answers at once, ready turns
// true only after every model loaded and passed its warm-up. So the startup probe watches *ready* for
// `startupSeconds` (liveness does not start before it passes, so a slow load is never killed), readiness polls
// ready every 2 s (after SIGTERM the server reports not-ready for `readinessDrainMs` while still answering, and
// two failed polls take the pod out of the endpoints well within that), liveness polls live.
import { stringify } from 'yaml';
import type { DeployConfig } from './config.js';
import {
  CONFIG_DIR,
  commonLabels,
  containerServeConfig,
  contentHash,
  PORT_NAME,
  ROUTES,
  containerSecurity,
  podSecurity,
  selectorLabels,
  terminationGraceSeconds,
} from './contract.js';
import type { Json, Manifest } from './manifest.js';

const READINESS_PERIOD_S = 2;
const READINESS_FAILURES = 2;

const meta = (c: DeployConfig, name: string = c.name, extra: Record<string, string> = {}) => ({
  name,
  namespace: c.namespace,
  labels: { ...commonLabels(c), ...extra },
});
const probe = (path: string, periodSeconds: number, failureThreshold: number, timeoutSeconds = 2) => ({
  httpGet: { path, port: PORT_NAME },
  periodSeconds,
  failureThreshold,
  timeoutSeconds,
});

export function imageOf(c: DeployConfig): string {
  return c.image ?? `${c.name}:latest`;
}

/** The serve.yaml text of the container (ConfigMap and image). */
export function serveYaml(c: DeployConfig): string {
  return stringify(containerServeConfig(c));
}

/** The lathe container: probes, resources, a read-only root with /tmp writable, non-root. */
function latheContainer(c: DeployConfig): Record<string, Json> {
  return {
    name: 'lathe',
    image: imageOf(c),
    imagePullPolicy: 'IfNotPresent',
    args: ['serve', '--config', `${CONFIG_DIR}/serve.yaml`],
    ports: [{ name: PORT_NAME, containerPort: c.port, protocol: 'TCP' }],
    env: [{ name: 'NODE_ENV', value: 'production' }],
    startupProbe: probe(ROUTES.ready, 2, Math.ceil(c.startupSeconds / 2)),
    readinessProbe: probe(ROUTES.ready, READINESS_PERIOD_S, READINESS_FAILURES),
    livenessProbe: probe(ROUTES.live, 10, 3),
    resources: { requests: { ...c.resources.requests }, limits: { ...c.resources.limits } },
    securityContext: containerSecurity(),
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

/** The pod template shared by the Deployment and the Rollout. */
export function podTemplate(c: DeployConfig): Record<string, Json> {
  return {
    metadata: {
      labels: { ...commonLabels(c) },
      annotations: {
        'checksum/config': contentHash(serveYaml(c)),
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(c.port),
        'prometheus.io/path': ROUTES.metrics,
      },
    },
    spec: {
      terminationGracePeriodSeconds: terminationGraceSeconds(c),
      securityContext: podSecurity(),
      automountServiceAccountToken: false,
      containers: [latheContainer(c)],
      volumes: [
        { name: 'config', configMap: { name: `${c.name}-config` } },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
      topologySpreadConstraints: ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selectorLabels(c) },
      })),
    },
  };
}

export function configMap(c: DeployConfig): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(c, `${c.name}-config`),
    data: { 'serve.yaml': serveYaml(c) },
  };
}

export function deployment(c: DeployConfig): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(c),
    spec: {
      replicas: c.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(c) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: podTemplate(c),
    },
  };
}

export function service(c: DeployConfig, name: string = c.name): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(c, name),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(c),
      ports: [{ name: PORT_NAME, port: c.port, targetPort: PORT_NAME, protocol: 'TCP' }],
    },
  };
}

export function podDisruptionBudget(c: DeployConfig): Manifest {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(c),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(c) } },
  };
}

/** HPA on CPU plus lathe's queue depth per pod (served to the metrics API by prometheus-adapter). */
export function horizontalPodAutoscaler(
  c: DeployConfig,
  target: { apiVersion: string; kind: string } = { apiVersion: 'apps/v1', kind: 'Deployment' },
): Manifest {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(c),
    spec: {
      scaleTargetRef: { ...target, name: c.name },
      minReplicas: c.minReplicas,
      maxReplicas: c.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: c.targetCpuPercent } },
        },
        {
          type: 'Pods',
          pods: {
            metric: { name: 'lathe_queue_depth' },
            target: { type: 'AverageValue', averageValue: String(c.targetQueueDepth) },
          },
        },
      ],
      behavior: {
        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] },
        scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }] },
      },
    },
  };
}

/** Ingress only to the serving port (Prometheus scrapes it too); nothing else reaches the pods. */
export function networkPolicy(c: DeployConfig): Manifest {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(c),
    spec: {
      podSelector: { matchLabels: selectorLabels(c) },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: c.port }] }],
    },
  };
}
