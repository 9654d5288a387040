// Monitoring and metric-driven scaling over lathe serve's Prometheus metrics (docs/serve.md § Metrics):
// ServiceMonitor (Prometheus Operator scrapes /metrics), PrometheusRule alerts (error rate, p99 latency, queue
// saturation), a Grafana dashboard, and a KEDA ScaledObject on the queue depth. The PromQL lives in one place
// (`queries`) so alerts, dashboard, KEDA and Argo's analysis read the same expressions.
import type { DeployConfig } from './config.js';
import { commonLabels, PORT_NAME, ROUTES, selectorLabels } from './contract.js';
import type { Json, Manifest } from './manifest.js';

/** Every lathe metric name the generated artifacts query (the test checks each exists on a real server). */
export const QUERIED_METRICS = [
  'lathe_requests_total',
  'lathe_request_duration_seconds_bucket',
  'lathe_queue_depth',
  'lathe_batch_size_bucket',
  'lathe_batch_run_duration_seconds_bucket',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
] as const;

/** PromQL over the pods behind `service` (the `service` label is the one Prometheus Operator adds). */
export function queries(c: DeployConfig, service: string = c.name) {
  const sel = `namespace="${c.namespace}",service="${service}"`;
  return {
    requestRate: `sum(rate(lathe_requests_total{${sel}}[2m]))`,
    errorRate: `sum(rate(lathe_requests_total{${sel},code=~"5.."}[2m])) / clamp_min(sum(rate(lathe_requests_total{${sel}}[2m])), 1e-9)`,
    p99Seconds: `histogram_quantile(0.99, sum by (le) (rate(lathe_request_duration_seconds_bucket{${sel}}[2m])))`,
    p50Seconds: `histogram_quantile(0.5, sum by (le) (rate(lathe_request_duration_seconds_bucket{${sel}}[2m])))`,
    queueDepth: `sum(lathe_queue_depth{${sel}})`,
    queueSaturation: `max(lathe_queue_depth{${sel}}) / ${c.maxQueueSize}`,
    meanBatch: `sum(rate(lathe_batch_size_sum{${sel}}[2m])) / clamp_min(sum(rate(lathe_batch_size_count{${sel}}[2m])), 1e-9)`,
    runP99Seconds: `histogram_quantile(0.99, sum by (le) (rate(lathe_batch_run_duration_seconds_bucket{${sel}}[2m])))`,
    cpuCores: `sum by (pod) (rate(process_cpu_seconds_total{${sel}}[2m]))`,
    memoryBytes: `sum by (pod) (process_resident_memory_bytes{${sel}})`,
  };
}

export function serviceMonitor(c: DeployConfig): Manifest {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: c.name, namespace: c.namespace, labels: commonLabels(c) },
    spec: {
      selector: { matchLabels: selectorLabels(c) },
      namespaceSelector: { matchNames: [c.namespace] },
      endpoints: [{ port: PORT_NAME, path: ROUTES.metrics, interval: '15s', scrapeTimeout: '10s' }],
    },
  };
}

export function prometheusRule(c: DeployConfig): Manifest {
  const q = queries(c);
  const labels = { severity: 'warning', service: c.name };
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: c.name, namespace: c.namespace, labels: commonLabels(c) },
    spec: {
      groups: [
        {
          name: `${c.name}.lathe`,
          rules: [
            {
              alert: 'LatheHighErrorRate',
              expr: `${q.errorRate} > ${c.alerts.errorRate}`,
              for: '5m',
              labels: { ...labels, severity: 'critical' },
              annotations: {
                summary: `${c.name}: more than ${c.alerts.errorRate * 100}% of inference requests fail with 5xx`,
              },
            },
            {
              alert: 'LatheHighP99Latency',
              expr: `${q.p99Seconds} > ${c.alerts.p99Seconds}`,
              for: '10m',
              labels,
              annotations: { summary: `${c.name}: p99 inference latency above ${c.alerts.p99Seconds} s` },
            },
            {
              alert: 'LatheQueueSaturated',
              expr: `${q.queueSaturation} > ${c.alerts.queueSaturation}`,
              for: '5m',
              labels,
              annotations: {
                summary: `${c.name}: a batch queue is over ${c.alerts.queueSaturation * 100}% of maxQueueSize (${c.maxQueueSize}); requests will get 503`,
              },
            },
          ],
        },
      ],
    },
  };
}

/** KEDA: scale on the queue depth from Prometheus, plus CPU (KEDA creates and owns the HPA). */
export function scaledObject(
  c: DeployConfig,
  prometheusUrl = 'http://prometheus-operated.monitoring.svc:9090',
): Manifest {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: c.name, namespace: c.namespace, labels: commonLabels(c) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: c.name },
      minReplicaCount: c.minReplicas,
      maxReplicaCount: c.maxReplicas,
      pollingInterval: 15,
      cooldownPeriod: 300,
      triggers: [
        {
          type: 'prometheus',
          metadata: {
            serverAddress: prometheusUrl,
            query: queries(c).queueDepth,
            threshold: String(c.targetQueueDepth),
          },
        },
        { type: 'cpu', metricType: 'Utilization', metadata: { value: String(c.targetCpuPercent) } },
      ],
    },
  };
}

/** A Grafana dashboard (import the JSON, or load it with a dashboard sidecar) over a Prometheus data source. */
export function grafanaDashboard(c: DeployConfig): Record<string, Json> {
  const q = queries(c);
  const panel = (
    id: number,
    title: string,
    exprs: Record<string, string>,
    unit: string,
    x: number,
    y: number,
  ): Json => ({
    id,
    type: 'timeseries',
    title,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { h: 8, w: 12, x, y },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: Object.entries(exprs).map(([legend, expr], i) => ({
      refId: String.fromCharCode(65 + i),
      expr,
      legendFormat: legend,
    })),
  });
  return {
    title: `lathe: ${c.name}`,
    uid: `lathe-${c.name}`.slice(0, 40),
    tags: ['lathe', 'inference'],
    timezone: 'browser',
    schemaVersion: 39,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }] },
    panels: [
      panel(1, 'Requests per second', { 'req/s': q.requestRate }, 'reqps', 0, 0),
      panel(2, 'Error rate (5xx)', { errors: q.errorRate }, 'percentunit', 12, 0),
      panel(3, 'Latency', { p50: q.p50Seconds, p99: q.p99Seconds, 'session run p99': q.runP99Seconds }, 's', 0, 8),
      panel(
        4,
        'Queue depth and batch size',
        { 'queued requests': q.queueDepth, 'mean batch': q.meanBatch },
        'short',
        12,
        8,
      ),
      panel(5, 'CPU per pod (cores)', { '{{pod}}': q.cpuCores }, 'short', 0, 16),
      panel(6, 'Memory per pod', { '{{pod}}': q.memoryBytes }, 'bytes', 12, 16),
    ],
  };
}
