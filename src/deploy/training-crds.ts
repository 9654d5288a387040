// Structural schemas (zod) of the two custom resources the k8s-train target writes, which kubernetes-models has no
// package for: JobSet (jobset.x-k8s.io/v1alpha2, fields from the JobSet API reference: spec.replicatedJobs,
// network, failurePolicy, successPolicy) and Kubeflow's PyTorchJob (kubeflow.org/v1, fields from the training
// operator's API reference: spec.runPolicy, spec.pytorchReplicaSpecs). The CRD-level objects are strict (a
// misspelt field fails); the Job and pod templates inside are checked for the fields the controllers rely on
// (the tests also validate them with kubernetes-models' Job and PodTemplate schemas). Enums follow the documented
// values. The target runs this check before it writes anything.
import { z } from 'zod';
import type { Manifest } from './manifest.js';

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'an RFC 1123 label')
  .max(63);
const metadata = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const container = z.looseObject({
  name: dnsLabel,
  image: z.string().min(1),
  ports: z
    .array(
      z.looseObject({
        name: z.string().max(15).optional(),
        containerPort: z.number().int().min(1).max(65535),
      }),
    )
    .optional(),
});
const podTemplate = z.strictObject({
  metadata: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }).optional(),
  spec: z.looseObject({
    restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).optional(),
    containers: z.array(container).min(1),
  }),
});
const indexedJobTemplate = z.strictObject({
  metadata: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }).optional(),
  spec: z
    .looseObject({
      completionMode: z.literal('Indexed'),
      completions: z.number().int().min(1),
      parallelism: z.number().int().min(1),
      backoffLimit: z.number().int().min(0),
      template: podTemplate.extend({
        // Jobs allow only Never and OnFailure
        spec: podTemplate.shape.spec.extend({ restartPolicy: z.enum(['OnFailure', 'Never']) }),
      }),
    })
    .refine((s) => s.completions === s.parallelism, 'completions and parallelism differ: some ranks would wait'),
});

/** JobSet (jobset.x-k8s.io/v1alpha2) as the k8s-train target writes it. */
const jobSetSchema = z.strictObject({
  apiVersion: z.literal('jobset.x-k8s.io/v1alpha2'),
  kind: z.literal('JobSet'),
  metadata,
  spec: z.strictObject({
    network: z
      .strictObject({
        enableDNSHostnames: z.boolean().optional(),
        subdomain: dnsLabel.optional(),
        publishNotReadyAddresses: z.boolean().optional(),
      })
      .optional(),
    failurePolicy: z
      .strictObject({
        maxRestarts: z.number().int().min(0).optional(),
        rules: z
          .array(
            z.strictObject({
              name: z.string().min(1),
              action: z.enum(['FailJobSet', 'RestartJobSet', 'RestartJobSetAndIgnoreMaxRestarts']),
              onJobFailureReasons: z
                .array(z.enum(['BackoffLimitExceeded', 'DeadlineExceeded', 'PodFailurePolicy']))
                .optional(),
              targetReplicatedJobs: z.array(dnsLabel).optional(),
            }),
          )
          .optional(),
      })
      .optional(),
    successPolicy: z
      .strictObject({ operator: z.enum(['All', 'Any']), targetReplicatedJobs: z.array(dnsLabel).optional() })
      .optional(),
    suspend: z.boolean().optional(),
    ttlSecondsAfterFinished: z.number().int().min(0).optional(),
    replicatedJobs: z
      .array(z.strictObject({ name: dnsLabel, replicas: z.number().int().min(1), template: indexedJobTemplate }))
      .min(1),
  }),
});

const replicaSpec = z.strictObject({
  replicas: z.number().int().min(1),
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never', 'ExitCode']),
  template: podTemplate.refine(
    (t) => t.spec.containers.some((c) => c.name === 'pytorch'),
    "the training operator configures the container named 'pytorch'; there is none",
  ),
});

/** Kubeflow PyTorchJob (kubeflow.org/v1) as the k8s-train target writes it. */
const pyTorchJobSchema = z.strictObject({
  apiVersion: z.literal('kubeflow.org/v1'),
  kind: z.literal('PyTorchJob'),
  metadata,
  spec: z.strictObject({
    runPolicy: z
      .strictObject({
        backoffLimit: z.number().int().min(0).optional(),
        cleanPodPolicy: z.enum(['All', 'Running', 'None']).optional(),
        activeDeadlineSeconds: z.number().int().min(0).optional(),
        ttlSecondsAfterFinished: z.number().int().min(0).optional(),
        suspend: z.boolean().optional(),
      })
      .optional(),
    pytorchReplicaSpecs: z
      .strictObject({ Master: replicaSpec.extend({ replicas: z.literal(1) }), Worker: replicaSpec.optional() })
      .refine(
        (r) => r.Master.template.spec.containers.some((c) => c.ports?.some((p) => p.name === 'pytorchjob-port')),
        "the Master container declares no port named 'pytorchjob-port' (the operator's MASTER_PORT)",
      ),
    nprocPerNode: z.string().optional(),
  }),
});

/**
 * The schema problems of a JobSet or PyTorchJob manifest, each as `path: message` (empty = valid); other kinds
 * have none here (kubernetes-models validates them in the tests).
 */
export function trainingCrdProblems(m: Manifest): string[] {
  const schema = m.kind === 'JobSet' ? jobSetSchema : m.kind === 'PyTorchJob' ? pyTorchJobSchema : undefined;
  if (!schema) return [];
  const r = schema.safeParse(m);
  return r.success
    ? []
    : r.error.issues.map((i) => `${m.kind}/${m.metadata.name}: ${i.path.join('.') || '(root)'}: ${i.message}`);
}
