// Argo Rollouts: a canary Rollout over the same pod template as the Deployment, with a stable and a canary
// Service, and an AnalysisTemplate that queries lathe's Prometheus metrics of the canary pods (error rate and p99
// latency) between steps: a failed analysis aborts the rollout and scales the canary away.
import type { DeployConfig } from './config.js';
import { commonLabels, selectorLabels } from './contract.js';
import { podTemplate } from './k8s.js';
import type { Manifest } from './manifest.js';
import { queries } from './monitoring.js';

export const canaryServiceName = (c: DeployConfig): string => `${c.name}-canary`;
const analysisName = (c: DeployConfig): string => `${c.name}-analysis`;

export function rollout(c: DeployConfig): Manifest {
  const analysis = {
    templates: [{ templateName: analysisName(c) }],
    args: [{ name: 'service', value: canaryServiceName(c) }],
  };
  const steps = [
    { setWeight: c.canary },
    { pause: { duration: '2m' } },
    { analysis },
    ...(c.canary < 50 ? [{ setWeight: 50 }, { pause: { duration: '2m' } }, { analysis }] : []),
  ];
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: c.name, namespace: c.namespace, labels: commonLabels(c) },
    spec: {
      replicas: c.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(c) },
      template: podTemplate(c),
      strategy: {
        canary: {
          stableService: c.name,
          canaryService: canaryServiceName(c),
          maxSurge: '25%',
          maxUnavailable: 0,
          steps,
        },
      },
    },
  };
}

export function analysisTemplate(
  c: DeployConfig,
  prometheusUrl = 'http://prometheus-operated.monitoring.svc:9090',
): Manifest {
  const q = queries(c, '{{args.service}}');
  // No traffic yet gives an empty vector or NaN: that passes (the next measurement decides).
  const atMost = (limit: number) => `len(result) == 0 || isNaN(result[0]) || result[0] <= ${limit}`;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: analysisName(c), namespace: c.namespace, labels: commonLabels(c) },
    spec: {
      args: [{ name: 'service' }],
      metrics: [
        {
          name: 'error-rate',
          interval: '1m',
          count: 3,
          failureLimit: 1,
          successCondition: atMost(c.alerts.errorRate),
          provider: { prometheus: { address: prometheusUrl, query: q.errorRate } },
        },
        {
          name: 'p99-latency',
          interval: '1m',
          count: 3,
          failureLimit: 1,
          successCondition: atMost(c.alerts.p99Seconds),
          provider: { prometheus: { address: prometheusUrl, query: q.p99Seconds } },
        },
      ],
    },
  };
}
