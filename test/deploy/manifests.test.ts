// Every generated manifest is schema-valid: core objects, HPA, PDB and NetworkPolicy with kubernetes-models; KEDA,
// Knative, Argo Rollouts and Prometheus Operator objects with their @kubernetes-models packages; KServe with the
// zod schema written from its CRD. YAML is parsed back with the yaml library (the text is what users apply).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1';
import { AnalysisTemplate, Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { QUERIED_METRICS, type DeployTarget, type Manifest } from '../../src/deploy/index.js';
import { inferenceServiceSchema } from './kserve-schema.js';
import { generated, manifestsOf } from './helpers.js';

type Validator = (m: Manifest) => void;
// Each model class validates its own JSON schema; `new X(obj).validate()` throws naming the bad path.
const wrap =
  <T extends { validate(): void }>(C: new (data: never) => T): Validator =>
  (m) =>
    new C(m as never).validate();
const VALIDATORS: Record<string, Validator> = {
  'v1/ConfigMap': wrap(ConfigMap),
  'v1/Service': wrap(Service),
  'apps/v1/Deployment': wrap(Deployment),
  'policy/v1/PodDisruptionBudget': wrap(PodDisruptionBudget),
  'autoscaling/v2/HorizontalPodAutoscaler': wrap(HorizontalPodAutoscaler),
  'networking.k8s.io/v1/NetworkPolicy': wrap(NetworkPolicy),
  'keda.sh/v1alpha1/ScaledObject': wrap(ScaledObject),
  'serving.knative.dev/v1/Service': wrap(KnativeService),
  'argoproj.io/v1alpha1/Rollout': wrap(Rollout),
  'argoproj.io/v1alpha1/AnalysisTemplate': wrap(AnalysisTemplate),
  'monitoring.coreos.com/v1/ServiceMonitor': wrap(ServiceMonitor),
  'monitoring.coreos.com/v1/PrometheusRule': wrap(PrometheusRule),
  'serving.kserve.io/v1beta1/InferenceService': (m) => void inferenceServiceSchema.parse(m),
};

const CASES: { target: DeployTarget; extra?: Record<string, unknown>; kinds: string[] }[] = [
  {
    target: 'k8s',
    kinds: [
      'ConfigMap',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'ServiceMonitor',
      'PrometheusRule',
    ],
  },
  {
    target: 'k8s',
    extra: { autoscaler: 'keda' },
    kinds: [
      'ConfigMap',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'ScaledObject',
      'NetworkPolicy',
      'ServiceMonitor',
      'PrometheusRule',
    ],
  },
  {
    target: 'rollout',
    kinds: [
      'ConfigMap',
      'Rollout',
      'Service',
      'Service',
      'AnalysisTemplate',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'ServiceMonitor',
      'PrometheusRule',
    ],
  },
  { target: 'kserve', kinds: ['InferenceService'] },
  {
    target: 'kserve',
    extra: { kserveMode: 'Serverless', storageUri: 's3://models/fashion-cnn' },
    kinds: ['InferenceService'],
  },
  { target: 'knative', kinds: ['Service'] },
];

for (const { target, extra, kinds } of CASES) {
  test(`${target}${extra ? ' ' + JSON.stringify(extra) : ''}: every manifest is schema-valid`, async () => {
    const files = await generated({ target, ...extra });
    const manifests = manifestsOf(files);
    assert.deepEqual(manifests.map((m) => m.manifest.kind).sort(), [...kinds].sort());
    for (const { file, manifest } of manifests) {
      const validate = VALIDATORS[`${manifest.apiVersion}/${manifest.kind}`];
      assert.ok(validate, `${file}: no validator for ${manifest.apiVersion} ${manifest.kind}`);
      assert.doesNotThrow(() => validate(manifest), `${file} (${manifest.kind}) is not schema-valid`);
      assert.equal(manifest.metadata.namespace, 'ml', `${file}: namespace`);
    }
    const kustomization = parse(String(files.get(`${manifests[0].file.split('/')[0]}/kustomization.yaml`))) as {
      resources: string[];
    };
    assert.deepEqual(
      kustomization.resources.sort(),
      manifests.map((m) => m.file.split('/')[1]).sort(),
      'kustomization lists every manifest',
    );
  });
}

test('the validators reject broken manifests (they can fail)', async () => {
  const files = await generated({ target: 'rollout' });
  const byKind = new Map(manifestsOf(files).map((m) => [m.manifest.kind, m.manifest]));
  const broken = (kind: string, mutate: (m: Record<string, any>) => void): Manifest => {
    const m = structuredClone(byKind.get(kind)) as Record<string, any>;
    mutate(m);
    return m as Manifest;
  };
  assert.throws(() =>
    VALIDATORS['argoproj.io/v1alpha1/Rollout'](
      broken('Rollout', (m) => (m.spec.template.spec.containers[0].ports[0].containerPort = 'http')),
    ),
  );
  assert.throws(() =>
    VALIDATORS['autoscaling/v2/HorizontalPodAutoscaler'](
      broken('HorizontalPodAutoscaler', (m) => delete m.spec.maxReplicas),
    ),
  );
  assert.throws(() =>
    VALIDATORS['monitoring.coreos.com/v1/PrometheusRule'](
      broken('PrometheusRule', (m) => delete m.spec.groups[0].rules[0].expr),
    ),
  );
  const isvc = manifestsOf(await generated({ target: 'kserve' }))[0].manifest as Record<string, any>;
  assert.throws(() =>
    VALIDATORS['serving.kserve.io/v1beta1/InferenceService']({
      ...isvc,
      spec: { predictor: { ...isvc.spec.predictor, canaryTrafficPercent: 120 } },
    } as unknown as Manifest),
  );
  assert.throws(() =>
    VALIDATORS['serving.kserve.io/v1beta1/InferenceService']({
      ...isvc,
      spec: { predictor: { ...isvc.spec.predictor, contianers: [] } },
    } as unknown as Manifest),
  );
});

test('KServe: canaryTrafficPercent only in Serverless mode; the model at /mnt/models or from storageUri', async () => {
  const raw = manifestsOf(await generated({ target: 'kserve', canary: 20 }))[0].manifest as Record<string, any>;
  assert.equal(raw.metadata.annotations['serving.kserve.io/deploymentMode'], 'RawDeployment');
  assert.equal(raw.spec.predictor.canaryTrafficPercent, undefined);
  const sl = manifestsOf(
    await generated({ target: 'kserve', canary: 20, kserveMode: 'Serverless', storageUri: 'gs://b/m' }),
  )[0].manifest as Record<string, any>;
  assert.equal(sl.spec.predictor.canaryTrafficPercent, 20);
  assert.deepEqual(
    sl.spec.predictor.containers[0].env.find((e: { name: string }) => e.name === 'STORAGE_URI'),
    { name: 'STORAGE_URI', value: 'gs://b/m' },
  );
  assert.deepEqual(sl.spec.predictor.containers[0].args, ['serve', '--config', '/app/serve.yaml']);
});

test('Grafana dashboard and alerts query only lathe metrics the server exports', async () => {
  const files = await generated({ target: 'k8s' });
  const dash = JSON.parse(String(files.get('monitoring/grafana-dashboard.json'))) as {
    panels: { targets: { expr: string }[] }[];
  };
  assert.ok(dash.panels.length >= 6);
  const rule = parse(String(files.get('k8s/prometheusrule.yaml'))) as {
    spec: { groups: { rules: { alert: string; expr: string }[] }[] };
  };
  assert.deepEqual(
    rule.spec.groups[0].rules.map((r) => r.alert),
    ['LatheHighErrorRate', 'LatheHighP99Latency', 'LatheQueueSaturated'],
  );
  const exprs = [
    ...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...rule.spec.groups[0].rules.map((r) => r.expr),
  ];
  const known = new Set<string>([...QUERIED_METRICS, 'lathe_batch_size_sum', 'lathe_batch_size_count']);
  for (const e of exprs) {
    for (const name of e.match(/\b(lathe_[a-z_]+|process_[a-z_]+)\{/g) ?? [])
      assert.ok(known.has(name.slice(0, -1)), `${name.slice(0, -1)} in '${e}' is not a queried metric`);
    assert.match(e, /namespace="ml",service="fashion-cnn"/);
  }
});
