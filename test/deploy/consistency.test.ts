// Probe paths, ports and selectors agree between the Deployment (or Rollout), Service, PDB, HPA/KEDA,
// NetworkPolicy and ServiceMonitor, and with the routes of a real lathe serve: the check fails for each mutation,
// and the server started from the ConfigMap's serve.yaml answers every probe path, the metrics path and the infer
// route, and exports every metric the alerts, dashboard and autoscalers query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { checkConsistency, inferPath, QUERIED_METRICS, type Manifest } from '../../src/deploy/index.js';
import { createServer, parseServeConfig, type ServeConfigInput } from '../../src/serve/index.js';
import { CNN, generated, manifestsOf } from './helpers.js';
import { checkOipConformance } from './oip-conformance.js';

type Mutable = Record<string, any>;

async function manifests(target: 'k8s' | 'rollout', extra: Record<string, unknown> = {}): Promise<Manifest[]> {
  return manifestsOf(await generated({ target, ...extra })).map((m) => m.manifest);
}

function mutated(list: readonly Manifest[], kind: string, change: (m: Mutable) => void): Manifest[] {
  let done = false;
  return list.map((m) => {
    if (m.kind !== kind || done) return m;
    done = true;
    const copy = structuredClone(m) as Mutable;
    change(copy);
    return copy as Manifest;
  });
}

const pod = (m: Mutable): Mutable => m.spec.template.spec.containers[0];

test('the generated manifests are consistent (k8s with HPA or KEDA, rollout)', async () => {
  for (const [target, extra] of [
    ['k8s', {}],
    ['k8s', { autoscaler: 'keda' }],
    ['rollout', {}],
  ] as const) {
    assert.deepEqual(checkConsistency(await manifests(target, extra)), [], `${target} ${JSON.stringify(extra)}`);
  }
});

test('the check fails when a probe path, a port or a selector disagrees', async () => {
  const base = await manifests('k8s');
  const keda = await manifests('k8s', { autoscaler: 'keda' });
  const roll = await manifests('rollout');
  const cases: [string, Manifest[], RegExp][] = [
    [
      'readiness path',
      mutated(base, 'Deployment', (m) => (pod(m).readinessProbe.httpGet.path = '/healthz')),
      /readinessProbe path \/healthz is not a health route/,
    ],
    [
      'startup path',
      mutated(base, 'Deployment', (m) => (pod(m).startupProbe.httpGet.path = '/v2/health/readyz')),
      /startupProbe path/,
    ],
    [
      'liveness on ready',
      mutated(base, 'Deployment', (m) => (pod(m).livenessProbe.httpGet.path = '/v2/health/ready')),
      /liveness probe watches readiness/,
    ],
    [
      'probe port',
      mutated(base, 'Deployment', (m) => (pod(m).livenessProbe.httpGet.port = 'metrics')),
      /livenessProbe port metrics is not a port/,
    ],
    [
      'container port renamed',
      mutated(base, 'Deployment', (m) => (pod(m).ports[0].name = 'web')),
      /port http is not a port/,
    ],
    [
      'deployment selector',
      mutated(base, 'Deployment', (m) => (m.spec.selector.matchLabels['app.kubernetes.io/name'] = 'other')),
      /spec\.selector does not match/,
    ],
    [
      'service selector',
      mutated(base, 'Service', (m) => (m.spec.selector['app.kubernetes.io/component'] = 'web')),
      /Service\/fashion-cnn: selector does not select/,
    ],
    [
      'service extra selector key',
      mutated(base, 'Service', (m) => (m.spec.selector.tier = 'x')),
      /Service\/fashion-cnn: selector does not select/,
    ],
    [
      'service targetPort',
      mutated(base, 'Service', (m) => (m.spec.ports[0].targetPort = 9000)),
      /targetPort 9000 is not a container port/,
    ],
    [
      'pdb selector',
      mutated(base, 'PodDisruptionBudget', (m) => (m.spec.selector.matchLabels['app.kubernetes.io/name'] = 'x')),
      /PodDisruptionBudget\/fashion-cnn: selector/,
    ],
    [
      'hpa target',
      mutated(base, 'HorizontalPodAutoscaler', (m) => (m.spec.scaleTargetRef.name = 'other')),
      /scaleTargetRef Deployment\/other/,
    ],
    [
      'keda target',
      mutated(keda, 'ScaledObject', (m) => (m.spec.scaleTargetRef.name = 'other')),
      /ScaledObject\/fashion-cnn: scaleTargetRef/,
    ],
    [
      'rollout hpa kind',
      mutated(roll, 'HorizontalPodAutoscaler', (m) => (m.spec.scaleTargetRef.kind = 'Deployment')),
      /is not Rollout\/fashion-cnn/,
    ],
    [
      'network policy port',
      mutated(base, 'NetworkPolicy', (m) => (m.spec.ingress[0].ports[0].port = 8081)),
      /ingress port 8081/,
    ],
    [
      'servicemonitor path',
      mutated(base, 'ServiceMonitor', (m) => (m.spec.endpoints[0].path = '/stats')),
      /path \/stats is not lathe serve's \/metrics/,
    ],
    [
      'servicemonitor port',
      mutated(base, 'ServiceMonitor', (m) => (m.spec.endpoints[0].port = 'web')),
      /port web is not a named Service port/,
    ],
  ];
  for (const [what, list, message] of cases) {
    const problems = checkConsistency(list);
    assert.ok(
      problems.some((p) => message.test(p)),
      `${what}: expected ${message}, got ${JSON.stringify(problems)}`,
    );
  }
});

test("the manifests' probe, metrics and infer paths are the real server's routes, and its metrics cover every query", {
  timeout: 60_000,
}, async () => {
  const files = await generated({ target: 'k8s' });
  const list = manifestsOf(files).map((m) => m.manifest as Mutable);
  const cm = list.find((m) => m.kind === 'ConfigMap')!;
  const dep = list.find((m) => m.kind === 'Deployment')!;
  const sm = list.find((m) => m.kind === 'ServiceMonitor')!;
  // The container's own serve.yaml, with the model where this machine has it and no real port.
  const serveYaml = parse(cm.data['serve.yaml']) as ServeConfigInput & { models: Record<string, { source: string }> };
  assert.deepEqual(Object.keys(serveYaml.models), ['fashion-cnn']);
  assert.equal(serveYaml.models['fashion-cnn'].source, '/mnt/models/model.onnx');
  assert.equal(serveYaml.server?.port, pod(dep).ports[0].containerPort);
  assert.equal(serveYaml.server?.host, '0.0.0.0');
  const config = parseServeConfig({
    ...serveYaml,
    server: { ...serveYaml.server, host: '127.0.0.1', port: 0, logLevel: 'silent', readinessDrainMs: 0 },
    models: {
      'fashion-cnn': {
        ...serveYaml.models['fashion-cnn'],
        source: CNN,
        instances: 1,
        intraOpThreads: 1,
        warmup: { runs: 1 },
      },
    },
  });
  const server = await createServer({ config });
  try {
    for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const r = await server.app.inject({ method: 'GET', url: pod(dep)[kind].httpGet.path });
      assert.equal(r.statusCode, 200, `${kind} ${pod(dep)[kind].httpGet.path}: ${r.body}`);
    }
    const infer = await server.app.inject({
      method: 'POST',
      url: inferPath('fashion-cnn'),
      payload: { inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: new Array(784).fill(0.5) }] },
    });
    assert.equal(infer.statusCode, 200, infer.body);
    const metrics = await server.app.inject({ method: 'GET', url: sm.spec.endpoints[0].path });
    assert.equal(metrics.statusCode, 200);
    for (const name of QUERIED_METRICS)
      assert.match(metrics.body, new RegExp(`^${name}[{ ]`, 'm'), `${name} missing from /metrics`);
    // The OIP conformance checks the container must pass (docker.test.ts), here against the reference server.
    const url = await server.listen();
    assert.equal(await checkOipConformance(url, 'fashion-cnn'), 26);
  } finally {
    await server.close();
  }
  // While closing, readiness fails and liveness holds: the readiness probe takes the pod out, liveness does not kill it.
  const closing = await createServer({
    config: parseServeConfig({ ...config, server: { ...config.server, readinessDrainMs: 1000 } }),
  });
  const url = await closing.listen();
  const closed = closing.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await fetch(url + pod(dep).readinessProbe.httpGet.path)).status, 400);
  assert.equal((await fetch(url + pod(dep).livenessProbe.httpGet.path)).status, 200);
  await closed;
});
