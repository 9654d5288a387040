// `lathe deploy`: one call that validates the config, resolves the model and writes a self-contained folder for
// one target. Everything is generated in memory and checked (config, model, Kubernetes name, the consistency of
// the manifests) before the first byte is written, so bad input writes nothing.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { writeAtomicFile } from '../util/write-atomic.js';
import { parseDeployConfig, type DeployConfig, type DeployConfigInput, type DeployTarget } from './config.js';
import { checkConsistency } from './consistency.js';
import { addDockerContext } from './docker.js';
import { configMap, deployment, horizontalPodAutoscaler, networkPolicy, podDisruptionBudget, service } from './k8s.js';
import type { ManifestFile } from './manifest.js';
import { loadDeployModel, type DeployModel } from './model.js';
import { grafanaDashboard, prometheusRule, scaledObject, serviceMonitor } from './monitoring.js';
import { analysisTemplate, canaryServiceName, rollout } from './rollout.js';
import { inferenceService, knativeService } from './serverless-k8s.js';
import { addBrowserBundle, addFetchHandler, addLambdaHandler } from './edge.js';

/** The files of a deploy folder before they are written: relative path → text or bytes. */
export type DeployFiles = Map<string, string | Uint8Array>;

/** What {@link deploy} returns: the target, the folder written, the files in it and the model shipped. */
export interface DeployResult {
  readonly target: DeployTarget;
  /** Absolute path of the folder written. */
  readonly out: string;
  /** Files written, relative to `out`. */
  readonly files: readonly string[];
  /** The model shipped. */
  readonly model: string;
}

/** The Kubernetes objects a target writes, each with its file. */
export function manifestsFor(c: DeployConfig): ManifestFile[] {
  const f = (file: string, manifest: ManifestFile['manifest']): ManifestFile => ({ file, manifest });
  const monitoring = [f('k8s/servicemonitor.yaml', serviceMonitor(c)), f('k8s/prometheusrule.yaml', prometheusRule(c))];
  switch (c.target) {
    case 'k8s':
      return [
        f('k8s/configmap.yaml', configMap(c)),
        f('k8s/deployment.yaml', deployment(c)),
        f('k8s/service.yaml', service(c)),
        f('k8s/pdb.yaml', podDisruptionBudget(c)),
        c.autoscaler === 'keda'
          ? f('k8s/scaledobject.yaml', scaledObject(c))
          : f('k8s/hpa.yaml', horizontalPodAutoscaler(c)),
        f('k8s/networkpolicy.yaml', networkPolicy(c)),
        ...monitoring,
      ];
    case 'rollout':
      return [
        f('k8s/configmap.yaml', configMap(c)),
        f('k8s/rollout.yaml', rollout(c)),
        f('k8s/service.yaml', service(c)),
        f('k8s/service-canary.yaml', service(c, canaryServiceName(c))),
        f('k8s/analysistemplate.yaml', analysisTemplate(c)),
        f('k8s/pdb.yaml', podDisruptionBudget(c)),
        f('k8s/hpa.yaml', horizontalPodAutoscaler(c, { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' })),
        f('k8s/networkpolicy.yaml', networkPolicy(c)),
        ...monitoring,
      ];
    case 'kserve':
      return [f('kserve/inferenceservice.yaml', inferenceService(c))];
    case 'knative':
      return [f('knative/service.yaml', knativeService(c))];
    default:
      return [];
  }
}

/** Generates every file of the target in memory (throws DeployError on bad input; nothing is written). */
export function generate(c: DeployConfig, model: DeployModel): DeployFiles {
  const files: DeployFiles = new Map();
  const manifests = manifestsFor(c);
  if (manifests.length > 0) {
    const problems = checkConsistency(manifests.map((m) => m.manifest));
    if (problems.length > 0)
      throw new Error(`lathe deploy generated inconsistent manifests (a bug):\n  ${problems.join('\n  ')}`);
    for (const m of manifests) files.set(m.file, stringify(m.manifest, { lineWidth: 0 }));
    const dir = dirname(manifests[0].file);
    files.set(
      `${dir}/kustomization.yaml`,
      stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        namespace: c.namespace,
        resources: manifests.map((m) => m.file.slice(dir.length + 1)),
      }),
    );
    if (c.target === 'k8s' || c.target === 'rollout')
      files.set('monitoring/grafana-dashboard.json', JSON.stringify(grafanaDashboard(c), null, 2) + '\n');
  }
  switch (c.target) {
    case 'docker':
    case 'k8s':
    case 'rollout':
    case 'kserve':
    case 'knative':
      addDockerContext(c, model.bytes, files);
      break;
    case 'lambda':
      addLambdaHandler(c, model, files);
      break;
    case 'fetch':
      addFetchHandler(c, model, files);
      break;
    case 'browser':
      addBrowserBundle(c, model, files);
      break;
  }
  files.set('deploy.yaml', stringify({ ...c, out: undefined }, { lineWidth: 0 }));
  return files;
}

/** Validates, generates and writes the deploy folder. */
export async function deploy(input: DeployConfigInput): Promise<DeployResult> {
  const c = parseDeployConfig(input);
  const model = await loadDeployModel(c.model);
  const files = generate(c, model);
  const out = resolve(c.out);
  for (const [rel, content] of files) {
    const path = join(out, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeAtomicFile(path, content);
  }
  return { target: c.target, out, files: [...files.keys()].sort(), model: model.path };
}
