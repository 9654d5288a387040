// deploy.yaml: everything `lathe deploy` flags set, validated with zod; errors name the path of the bad field.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { kubernetesNameProblem } from './names.js';

/** Bad deploy input: unknown target, missing model, invalid name or field (the message names it). */
export class DeployError extends UserError {}

/** The deployment targets `lathe deploy --target` accepts, in the order the docs list them. */
export const TARGETS = ['docker', 'k8s', 'kserve', 'knative', 'rollout', 'lambda', 'fetch', 'browser'] as const;
/** One of {@link TARGETS}. */
export type DeployTarget = (typeof TARGETS)[number];

const k8sName = z.string().superRefine((s, ctx) => {
  const problem = kubernetesNameProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi');
const resourceSchema = z.strictObject({ cpu: quantity, memory: quantity });
const positiveInt = z.number().int().positive();

/**
 * Zod schema of a deploy config (deploy.yaml or `lathe deploy` flags); unknown fields are errors. Use {@link
 * parseDeployConfig} to validate with readable errors.
 */
export const deployConfigSchema = z.strictObject({
  /** What to generate. */
  target: z.enum(TARGETS),
  /** model.onnx, a run or model folder holding model.onnx, or a registry URI (`models:/name@alias`). */
  model: z.string().min(1),
  /** Folder to write (created; files of an earlier deploy are replaced). */
  out: z.string().min(1).default('deploy'),
  /** Name of the app: Kubernetes object names, labels, the model's name in OIP routes (RFC 1035 label). */
  name: k8sName.default('lathe-model'),
  namespace: k8sName.default('default'),
  /** Container image the manifests run (build it from the generated Dockerfile). */
  image: z.string().min(1).optional(),
  /** Port the server listens on inside the container (KServe's custom-container convention is 8080). */
  port: z.number().int().min(1).max(65535).default(8080),
  replicas: positiveInt.max(1000).default(2),
  /** Autoscaling bounds (HPA, KEDA, Knative, KServe). */
  minReplicas: positiveInt.max(1000).default(2),
  maxReplicas: positiveInt.max(1000).default(10),
  /** Target CPU utilisation (percent of requests) for the HPA. */
  targetCpuPercent: positiveInt.max(100).default(70),
  /** Queued requests per replica the HPA custom metric and the KEDA trigger aim at. */
  targetQueueDepth: positiveInt.default(8),
  /** Which autoscaler the k8s target writes (both are not applied at once: KEDA creates its own HPA). */
  autoscaler: z.enum(['hpa', 'keda']).default('hpa'),
  /** Canary percentage (KServe canaryTrafficPercent, the first Argo Rollouts step). */
  canary: z.number().int().min(0).max(100).default(10),
  /** KServe deployment mode. */
  kserveMode: z.enum(['Serverless', 'RawDeployment']).default('RawDeployment'),
  /** KServe storage URI (the storage initializer puts the model at /mnt/models); the image's copy otherwise. */
  storageUri: z.string().min(1).optional(),
  resources: z
    .strictObject({
      requests: resourceSchema.default({ cpu: '1', memory: '512Mi' }),
      limits: resourceSchema.default({ cpu: '2', memory: '1Gi' }),
    })
    .default({ requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } }),
  /** Seconds the pod gets to become ready (model load + warm-up) before the startup probe gives up. */
  startupSeconds: positiveInt.max(3600).default(120),
  /** On SIGTERM: readiness false this long while requests are still answered, then the drain. */
  readinessDrainMs: z.number().int().min(0).max(600_000).default(10_000),
  drainTimeoutMs: positiveInt.max(600_000).default(20_000),
  /** Alert thresholds (PrometheusRule) and Argo analysis limits. */
  alerts: z
    .strictObject({
      errorRate: z.number().min(0).max(1).default(0.01),
      p99Seconds: z.number().positive().default(0.5),
      queueSaturation: z.number().min(0).max(1).default(0.8),
    })
    .default({ errorRate: 0.01, p99Seconds: 0.5, queueSaturation: 0.8 }),
  /** The server's batching queue bound (serve.yaml maxQueueSize), used by the saturation alert. */
  maxQueueSize: positiveInt.default(256),
  /** Browser target: image files bundled as samples (classified when the page loads). */
  samples: z.array(z.string().min(1)).default([]),
  /** Browser target: preprocessing for a model without lathe's inference metadata (else the metadata's). */
  preprocess: z
    .strictObject({
      mean: z.array(z.number()).min(1).optional(),
      std: z.array(z.number().positive()).min(1).optional(),
      classes: z.array(z.string()).optional(),
    })
    .optional(),
  /** How the image gets lathe: `vendor` copies the running lathe into the build context; else an npm spec. */
  lathePackage: z.string().min(1).default('vendor'),
});

/** A validated deploy config with every default filled in. */
export type DeployConfig = z.output<typeof deployConfigSchema>;
/** A deploy config as the user writes it: only `target` and `model` are required. */
export type DeployConfigInput = z.input<typeof deployConfigSchema>;

/** Validates a deploy config; the error lists each bad field by its path. */
export function parseDeployConfig(raw: unknown, origin = 'deploy config'): DeployConfig {
  const r = deployConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const field = i.path.join('.') || '(root)';
      const got = (raw as { target?: unknown } | null)?.target;
      const msg =
        i.code === 'invalid_value' && field === 'target'
          ? `unknown target '${String(got)}'; one of ${TARGETS.join(', ')}`
          : i.message;
      return `  ${field}: ${msg}`;
    });
    throw new DeployError(`${origin} is invalid:\n${lines.join('\n')}`);
  }
  const c = r.data;
  if (c.minReplicas > c.maxReplicas)
    throw new DeployError(`${origin}: minReplicas (${c.minReplicas}) is above maxReplicas (${c.maxReplicas})`);
  return c;
}

/** Reads deploy.yaml / deploy.json (fields as in deployConfigSchema); `overrides` (CLI flags) win. */
export function loadDeployConfig(path: string, overrides: Record<string, unknown> = {}): DeployConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new DeployError(`cannot read deploy config '${path}'`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new DeployError(`deploy config '${path}' is not valid YAML: ${(err as Error).message}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw)))
    throw new DeployError(`deploy config '${path}' must be a mapping`);
  return parseDeployConfig({ ...(raw as Record<string, unknown> | null), ...overrides }, `deploy config '${path}'`);
}
