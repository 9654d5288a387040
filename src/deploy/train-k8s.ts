// Distributed-training manifests: every worker runs the lathe image unchanged with `lathe train /config/<cfg>.yaml`
// and finds its rank, the world size and rank 0's address in the environment (MASTER_ADDR, MASTER_PORT, RANK,
// WORLD_SIZE), which each of the three launchers sets its own way:
//
// - Indexed Job + headless Service (plain Kubernetes): pod hostnames are `<job>-<index>` under the Service's
//   subdomain, so rank 0 is `<name>-0.<name>`; RANK is the pod's completion index. A rank that dies makes the
//   others exit with an error (the collective's timeout), every pod is replaced, and the group restarts from the
//   last checkpoint: each group restart costs up to `worldSize` pod failures, so backoffLimit is maxRestarts ×
//   worldSize. Exit code 2 (bad input: config, data) fails the Job at once; evictions and preemptions
//   (DisruptionTarget) do not count.
// - JobSet (jobset.x-k8s.io/v1alpha2): one replicated Job of `worldSize` indexed pods; hostnames are
//   `<name>-worker-0-<index>.<name>`; the Job fails on its first pod failure (backoffLimit 0) and the JobSet
//   recreates all of it, up to failurePolicy.maxRestarts times — exactly the local launcher's group restart.
// - Kubeflow PyTorchJob (kubeflow.org/v1): the training operator sets MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE in the
//   container named `pytorch` from the port named `pytorchjob-port`; Master is rank 0, Workers ranks 1..N-1;
//   failed containers restart in place (OnFailure) up to runPolicy.backoffLimit.
//
// With checkpoints on a PVC a restarted worker resumes (`lathe train --resume <run>`) when the run directory holds
// a checkpoint (last.json, written by rank 0 only); with an emptyDir a restart starts over (`--overwrite`).
import { basename, extname } from 'node:path';
import { containerSecurity, IMAGE_LATHE_BIN, podSecurity } from './contract.js';
import type { Json, Manifest } from './manifest.js';
import type { TrainDeployConfig } from './train-config.js';

/** Where the ConfigMap holding the training config is mounted. */
const CONFIG_MOUNT = '/config';
/** Where the checkpoint volume is mounted; the run directory is `<mount>/<name>`. */
const CHECKPOINT_MOUNT = '/checkpoints';
/** Where `dataClaimName` is mounted (read-only). */
const DATA_MOUNT = '/data';
/** The replicated Job of the JobSet. */
const JOBSET_REPLICATED_JOB = 'worker';
/** The container name and port name the Kubeflow training operator looks for. */
const PYTORCH_CONTAINER = 'pytorch';
const PYTORCH_PORT_NAME = 'pytorchjob-port';
const CONTAINER = 'lathe';
/** `lathe train` exits with 2 on bad input (a config or data error): retrying cannot help. */
const BAD_INPUT_EXIT_CODE = 2;
/** The pod annotation holding an Indexed Job pod's completion index (its rank). */
const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

/** The launchers the target writes manifests for, each in its own folder under `k8s-train/`. */
export type TrainLauncher = 'job' | 'jobset' | 'pytorchjob';

/** The file name (ConfigMap key) the training config gets: its base name with `.yaml`. */
export function trainConfigFileName(configPath: string): string {
  return `${basename(configPath, extname(configPath))}.yaml`;
}

/** The run directory inside the containers (the training config's `output`). */
export function trainRunDir(c: TrainDeployConfig): string {
  return `${CHECKPOINT_MOUNT}/${c.name}`;
}

/** The address of rank 0 each launcher gives its pods (the PyTorchJob's is set by the operator). */
export function masterAddress(c: TrainDeployConfig, launcher: Exclude<TrainLauncher, 'pytorchjob'>): string {
  return launcher === 'job' ? `${c.name}-0.${c.name}` : `${c.name}-${JOBSET_REPLICATED_JOB}-0-0.${c.name}`;
}

/** Labels on every object and pod of a training deploy. */
function trainLabels(c: TrainDeployConfig): Record<string, string> {
  return {
    'app.kubernetes.io/name': c.name,
    'app.kubernetes.io/component': 'trainer',
    'app.kubernetes.io/part-of': 'lathe',
    'app.kubernetes.io/managed-by': 'lathe-deploy',
  };
}

const meta = (c: TrainDeployConfig, name: string = c.name) => ({
  name,
  namespace: c.namespace,
  labels: trainLabels(c),
});

function claimName(c: TrainDeployConfig): string {
  return c.checkpoints.claimName ?? `${c.name}-checkpoints`;
}

/** The container's command: resume from the run directory's checkpoint when there is one (PVC), else start. */
function trainCommand(c: TrainDeployConfig): { command?: string[]; args: string[] } {
  const config = `${CONFIG_MOUNT}/${trainConfigFileName(c.config)}`;
  if (c.checkpoints.volume === 'emptyDir') return { args: ['train', config, '--overwrite'] };
  const lathe = `node ${IMAGE_LATHE_BIN}`;
  return {
    command: ['/bin/sh', '-c'],
    args: [
      `if [ -f "$RUN_DIR/last.json" ]; then exec ${lathe} train --resume "$RUN_DIR"; else exec ${lathe} train ${config}; fi`,
    ],
  };
}

function resources(c: TrainDeployConfig): Record<string, Json> {
  const r = c.resources ?? {
    requests: { cpu: String(c.threads), memory: '2Gi' },
    limits: { cpu: String(c.threads), memory: '4Gi' },
  };
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/** The environment of a worker: threads, the run directory and the launcher's rendezvous variables. */
function trainEnv(c: TrainDeployConfig, rendezvous: Json[]): Json[] {
  return [
    { name: 'NODE_ENV', value: 'production' },
    { name: 'LATHE_THREADS', value: String(c.threads) },
    { name: 'RUN_DIR', value: trainRunDir(c) },
    // dataset downloads go to the pod's /tmp (the root filesystem is read-only)
    { name: 'LATHE_CACHE', value: '/tmp/lathe-cache' },
    ...rendezvous,
  ];
}

/** MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK (the completion index) for the Job and the JobSet. */
function indexedRendezvous(c: TrainDeployConfig, master: string): Json[] {
  return [
    { name: 'MASTER_ADDR', value: master },
    { name: 'MASTER_PORT', value: String(c.masterPort) },
    { name: 'WORLD_SIZE', value: String(c.worldSize) },
    {
      name: 'RANK',
      valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } },
    },
  ];
}

function container(c: TrainDeployConfig, name: string, portName: string, rendezvous: Json[]): Record<string, Json> {
  return {
    name,
    image: c.image,
    imagePullPolicy: 'IfNotPresent',
    ...trainCommand(c),
    ports: [{ name: portName, containerPort: c.masterPort, protocol: 'TCP' }],
    env: trainEnv(c, rendezvous),
    resources: resources(c),
    securityContext: containerSecurity(),
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_MOUNT, readOnly: true },
      { name: 'checkpoints', mountPath: CHECKPOINT_MOUNT },
      { name: 'tmp', mountPath: '/tmp' },
      ...(c.dataClaimName ? [{ name: 'data', mountPath: DATA_MOUNT, readOnly: true }] : []),
    ],
  };
}

/** A pod template running one worker; `spec` adds the launcher's fields (restartPolicy, subdomain). */
function podTemplate(
  c: TrainDeployConfig,
  worker: Record<string, Json>,
  spec: Record<string, Json>,
): Record<string, Json> {
  return {
    metadata: { labels: trainLabels(c) },
    spec: {
      ...spec,
      securityContext: podSecurity(),
      automountServiceAccountToken: false,
      containers: [worker],
      volumes: [
        { name: 'config', configMap: { name: `${c.name}-config` } },
        c.checkpoints.volume === 'pvc'
          ? { name: 'checkpoints', persistentVolumeClaim: { claimName: claimName(c) } }
          : { name: 'checkpoints', emptyDir: {} },
        { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
        ...(c.dataClaimName
          ? [{ name: 'data', persistentVolumeClaim: { claimName: c.dataClaimName, readOnly: true } }]
          : []),
      ],
    },
  };
}

/** The ConfigMap holding the training config (`configText`: the YAML the workers run). */
export function trainConfigMap(c: TrainDeployConfig, configText: string): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(c, `${c.name}-config`),
    data: { [trainConfigFileName(c.config)]: configText },
  };
}

/** The claim the run directory lives on (written only when the config names no existing claim). */
export function checkpointClaim(c: TrainDeployConfig): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(c, claimName(c)),
    spec: {
      accessModes: [c.checkpoints.accessMode],
      resources: { requests: { storage: c.checkpoints.size } },
      ...(c.checkpoints.storageClassName ? { storageClassName: c.checkpoints.storageClassName } : {}),
    },
  };
}

/** The headless Service that gives the Indexed Job's pods their DNS names (`<name>-<index>.<name>`). */
export function headlessService(c: TrainDeployConfig): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(c),
    spec: {
      clusterIP: 'None',
      // ranks resolve each other while they start (they have no readiness probe to pass)
      publishNotReadyAddresses: true,
      selector: trainLabels(c),
      ports: [{ name: 'rendezvous', port: c.masterPort, targetPort: 'rendezvous', protocol: 'TCP' }],
    },
  };
}

/** The pod failure rules of a worker Job: bad input fails the Job; evictions are not the job's failures. */
function podFailurePolicy(ignoreDisruptions: boolean): Record<string, Json> {
  return {
    rules: [
      {
        action: 'FailJob',
        onExitCodes: { containerName: CONTAINER, operator: 'In', values: [BAD_INPUT_EXIT_CODE] },
      },
      ...(ignoreDisruptions
        ? [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }]
        : []),
    ],
  };
}

/** The Indexed Job: `worldSize` pods, rank = completion index, rank 0 at `<name>-0.<name>`. */
export function indexedJob(c: TrainDeployConfig): Manifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(c),
    spec: {
      completionMode: 'Indexed',
      completions: c.worldSize,
      parallelism: c.worldSize,
      backoffLimit: c.maxRestarts * c.worldSize,
      podFailurePolicy: podFailurePolicy(true),
      template: podTemplate(c, container(c, CONTAINER, 'rendezvous', indexedRendezvous(c, masterAddress(c, 'job'))), {
        restartPolicy: 'Never',
        subdomain: c.name,
      }),
    },
  };
}

/** The JobSet: one replicated Indexed Job; any pod failure restarts the whole set, maxRestarts times. */
export function jobSet(c: TrainDeployConfig): Manifest {
  return {
    apiVersion: 'jobset.x-k8s.io/v1alpha2',
    kind: 'JobSet',
    metadata: meta(c),
    spec: {
      network: { enableDNSHostnames: true, subdomain: c.name, publishNotReadyAddresses: true },
      failurePolicy: {
        maxRestarts: c.maxRestarts,
        // a Job failed by its pod failure policy (exit code 2: bad input) fails the set without a restart
        rules: [{ name: 'bad-input', action: 'FailJobSet', onJobFailureReasons: ['PodFailurePolicy'] }],
      },
      successPolicy: { operator: 'All', targetReplicatedJobs: [JOBSET_REPLICATED_JOB] },
      replicatedJobs: [
        {
          name: JOBSET_REPLICATED_JOB,
          replicas: 1,
          template: {
            metadata: { labels: trainLabels(c) },
            spec: {
              completionMode: 'Indexed',
              completions: c.worldSize,
              parallelism: c.worldSize,
              backoffLimit: 0,
              podFailurePolicy: podFailurePolicy(false),
              template: podTemplate(
                c,
                container(c, CONTAINER, 'rendezvous', indexedRendezvous(c, masterAddress(c, 'jobset'))),
                { restartPolicy: 'Never' },
              ),
            },
          },
        },
      ],
    },
  };
}

/** The Kubeflow PyTorchJob: Master (rank 0) and worldSize − 1 Workers; the operator sets the rendezvous. */
export function pyTorchJob(c: TrainDeployConfig): Manifest {
  const replica = (replicas: number): Record<string, Json> => ({
    replicas,
    restartPolicy: 'OnFailure',
    template: podTemplate(c, container(c, PYTORCH_CONTAINER, PYTORCH_PORT_NAME, []), {}),
  });
  return {
    apiVersion: 'kubeflow.org/v1',
    kind: 'PyTorchJob',
    metadata: meta(c),
    spec: {
      runPolicy: { backoffLimit: c.maxRestarts * c.worldSize, cleanPodPolicy: 'None' },
      pytorchReplicaSpecs: {
        Master: replica(1),
        ...(c.worldSize > 1 ? { Worker: replica(c.worldSize - 1) } : {}),
      },
    },
  };
}

/**
 * The longest pod hostname a launcher gives (`<name>-worker-<N-1>` for the PyTorchJob's, `<name>-worker-0-<N-1>`
 * for the JobSet's, `<name>-<N-1>` for the Job's); a hostname is one DNS label of at most 63 characters.
 */
export function longestTrainHostname(c: TrainDeployConfig): string {
  return `${c.name}-${JOBSET_REPLICATED_JOB}-0-${c.worldSize - 1}`;
}
