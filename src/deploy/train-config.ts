// The config of `lathe deploy --target k8s-train`: the training config to run, the world size, threads and
// resources per worker, the rendezvous port, the restart budget and where checkpoints live. Validated with zod;
// errors name the field. A training deploy ships no model, so it has its own schema beside deploy.yaml's.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DeployError } from './config.js';
import { kubernetesNameProblem } from './names.js';

/** The `lathe deploy` target that writes distributed-training manifests (Indexed Job, JobSet, PyTorchJob). */
export const TRAIN_TARGET = 'k8s-train';

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const quantity = z.string().regex(QUANTITY, 'a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi');
const resourceSchema = z.strictObject({ cpu: quantity, memory: quantity });
const k8sName = z.string().superRefine((s, ctx) => {
  const problem = kubernetesNameProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const count = (what: string, min: number, max: number) =>
  z
    .number({ error: `${what}: a whole number from ${min} to ${max}` })
    .int(`${what}: a whole number from ${min} to ${max}`)
    .min(min, `${what} must be at least ${min}`)
    .max(max, `${what} must be at most ${max}`);

/**
 * Zod schema of a `k8s-train` deploy config (flags or a YAML file); unknown fields are errors. Use {@link
 * parseTrainDeployConfig} for readable errors.
 */
export const trainDeployConfigSchema = z.strictObject({
  target: z.literal(TRAIN_TARGET),
  /** The training config (YAML/JSON, as `lathe train` reads it); shipped in a ConfigMap, mounted at /config. */
  config: z.string().min(1),
  /** Folder to write. */
  out: z.string().min(1).default('deploy'),
  /** Name of the Job / JobSet / PyTorchJob, its Service and ConfigMap (an RFC 1035 label). */
  name: k8sName.default('lathe-train'),
  namespace: k8sName.default('default'),
  /** The lathe image (as `lathe deploy --target docker` builds it); the training command replaces its CMD only. */
  image: z.string({ error: 'required: the lathe image the workers run' }).min(1),
  /** Ranks (pods), one per worker. */
  worldSize: count('worldSize', 1, 1000),
  /** Intra-op threads per rank (LATHE_THREADS); the default resources request this many CPUs. */
  threads: count('threads', 1, 256).default(2),
  /** The port rank 0 listens on for the rendezvous and the collective. */
  masterPort: count('masterPort', 1024, 65535).default(29500),
  /** Group restarts from the last checkpoint before the job fails (like `lathe train --max-restarts`). */
  maxRestarts: count('maxRestarts', 0, 100).default(3),
  /** Per-worker resources; default requests and limits `threads` CPUs, 2Gi/4Gi memory. */
  resources: z
    .strictObject({
      requests: resourceSchema,
      limits: resourceSchema,
    })
    .optional(),
  /** Where the run directory (checkpoints, metrics, model.onnx) lives: a PersistentVolumeClaim or an emptyDir. */
  checkpoints: z
    .strictObject({
      volume: z.enum(['pvc', 'emptyDir']).default('pvc'),
      /** An existing claim to use; without it the target writes a PVC named `<name>-checkpoints`. */
      claimName: k8sName.optional(),
      size: quantity.default('10Gi'),
      storageClassName: z.string().min(1).optional(),
      /** ReadWriteMany lets every rank read the checkpoint it resumes from, on any node. */
      accessMode: z.enum(['ReadWriteMany', 'ReadWriteOnce']).default('ReadWriteMany'),
    })
    .default({ volume: 'pvc', size: '10Gi', accessMode: 'ReadWriteMany' }),
  /** An existing claim holding the dataset, mounted read-only at /data (point the config's data.root there). */
  dataClaimName: k8sName.optional(),
});

/** A validated `k8s-train` deploy config with every default filled in. */
export type TrainDeployConfig = z.output<typeof trainDeployConfigSchema>;
/** A `k8s-train` deploy config as the user writes it: `target`, `config`, `image` and `worldSize` are required. */
export type TrainDeployConfigInput = z.input<typeof trainDeployConfigSchema>;

/** Validates a `k8s-train` deploy config; the error lists each bad field by its path. */
export function parseTrainDeployConfig(raw: unknown, origin = 'k8s-train config'): TrainDeployConfig {
  const r = trainDeployConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new DeployError(`${origin} is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Reads a `k8s-train` deploy config file (YAML/JSON); `overrides` (CLI flags) win. */
export function loadTrainDeployConfig(path: string, overrides: Record<string, unknown> = {}): TrainDeployConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DeployError(`cannot read deploy config '${path}': ${(err as Error).message}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw)))
    throw new DeployError(`deploy config '${path}' must be a mapping`);
  return parseTrainDeployConfig(
    { ...(raw as Record<string, unknown> | null), ...overrides },
    `deploy config '${path}'`,
  );
}
