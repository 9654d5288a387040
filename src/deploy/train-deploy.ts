// `lathe deploy <train.yaml> --target k8s-train`: validates the deploy config and the training config, generates
// the three launchers' manifests in memory, checks them (pod hostnames fit a DNS label; JobSet and PyTorchJob
// against their schemas) and only then writes the folder:
//
//   k8s-train/base/        ConfigMap (the training config, its output set to the checkpoint volume) [+ PVC]
//   k8s-train/job/         headless Service + Indexed Job          kubectl apply -k k8s-train/job
//   k8s-train/jobset/      JobSet                                  kubectl apply -k k8s-train/jobset
//   k8s-train/pytorchjob/  Kubeflow PyTorchJob                     kubectl apply -k k8s-train/pytorchjob
//
// Each launcher folder is a kustomization over base/, so exactly one launcher runs the training.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { loadTrainConfig } from '../train/config.js';
import { UserError } from '../util/errors.js';
import { writeAtomicFile } from '../util/write-atomic.js';
import { DeployError } from './config.js';
import type { DeployFiles } from './deploy.js';
import type { ManifestFile } from './manifest.js';
import { parseTrainDeployConfig, type TrainDeployConfig, type TrainDeployConfigInput } from './train-config.js';
import {
  checkpointClaim,
  headlessService,
  indexedJob,
  jobSet,
  longestTrainHostname,
  pyTorchJob,
  trainConfigFileName,
  trainConfigMap,
  trainRunDir,
} from './train-k8s.js';
import { trainingCrdProblems } from './training-crds.js';

const ROOT = 'k8s-train';
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_HOSTNAME = 63;

/** What {@link deployTraining} returns: the folder written, its files and the training config shipped. */
export interface TrainDeployResult {
  /** Absolute path of the folder written. */
  readonly out: string;
  /** Files written, relative to `out`. */
  readonly files: readonly string[];
  /** The training config shipped (as given). */
  readonly config: string;
}

/**
 * The training config text the workers run: the user's file with `output` set to the run directory on the
 * checkpoint volume; validated as `lathe train` validates it (a bad or missing config is a DeployError naming it).
 */
function shippedTrainConfig(c: TrainDeployConfig): string {
  const output = trainRunDir(c);
  try {
    loadTrainConfig(c.config);
  } catch (err) {
    if (err instanceof UserError) throw new DeployError(`config: ${err.message}`);
    throw err;
  }
  const raw = parseYaml(readFileSync(c.config, 'utf8')) as Record<string, unknown>;
  return stringify({ ...raw, output }, { lineWidth: 0 });
}

/** The manifests of every launcher (base/ first), each with its file; throws DeployError on a name too long. */
export function trainManifests(c: TrainDeployConfig, configText: string): ManifestFile[] {
  const host = longestTrainHostname(c);
  if (host.length > MAX_HOSTNAME)
    throw new DeployError(
      `name: '${c.name}' makes the pod hostname '${host}' (${host.length} characters) with worldSize ${c.worldSize}; a hostname is at most ${MAX_HOSTNAME}: choose a shorter name`,
    );
  if (!CONFIG_KEY.test(trainConfigFileName(c.config)))
    throw new DeployError(
      `config: the file name '${trainConfigFileName(c.config)}' cannot be a ConfigMap key (letters, digits, '-', '_', '.'): rename the file`,
    );
  const f = (file: string, manifest: ManifestFile['manifest']): ManifestFile => ({ file: `${ROOT}/${file}`, manifest });
  const createClaim = c.checkpoints.volume === 'pvc' && c.checkpoints.claimName === undefined;
  return [
    f('base/configmap.yaml', trainConfigMap(c, configText)),
    ...(createClaim ? [f('base/pvc.yaml', checkpointClaim(c))] : []),
    f('job/service.yaml', headlessService(c)),
    f('job/job.yaml', indexedJob(c)),
    f('jobset/jobset.yaml', jobSet(c)),
    f('pytorchjob/pytorchjob.yaml', pyTorchJob(c)),
  ];
}

/** Generates every file of the k8s-train target in memory (throws DeployError on bad input; nothing is written). */
export function generateTraining(c: TrainDeployConfig): DeployFiles {
  const manifests = trainManifests(c, shippedTrainConfig(c));
  const problems = manifests.flatMap((m) => trainingCrdProblems(m.manifest));
  if (problems.length > 0)
    throw new Error(`lathe deploy generated invalid training manifests (a bug):\n  ${problems.join('\n  ')}`);
  const files: DeployFiles = new Map();
  const folders = new Map<string, string[]>();
  for (const m of manifests) {
    files.set(m.file, stringify(m.manifest, { lineWidth: 0 }));
    const [, folder, name] = m.file.split('/');
    folders.set(folder, [...(folders.get(folder) ?? []), name]);
  }
  const kustomization = (resources: string[]): string =>
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: c.namespace,
      resources,
    });
  for (const [folder, names] of folders)
    files.set(`${ROOT}/${folder}/kustomization.yaml`, kustomization(folder === 'base' ? names : ['../base', ...names]));
  files.set('deploy.yaml', stringify({ ...c, out: undefined }, { lineWidth: 0 }));
  return files;
}

/** Validates, generates and writes the k8s-train folder (see the launchers in docs/distributed-kubernetes.md). */
export function deployTraining(input: TrainDeployConfigInput): TrainDeployResult {
  const c = parseTrainDeployConfig(input);
  const files = generateTraining(c);
  const out = resolve(c.out);
  for (const [rel, content] of files) {
    const path = join(out, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeAtomicFile(path, content);
  }
  return { out, files: [...files.keys()].sort(), config: c.config };
}
