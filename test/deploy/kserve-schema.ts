// A zod schema of KServe's InferenceService (serving.kserve.io/v1beta1), written from the fields of its published
// CRD (config/crd/full/serving.kserve.io_inferenceservices.yaml) that a custom predictor uses; kubernetes-models has
// no KServe package. Objects are strict where lathe writes them, so a misspelt field fails.
import { z } from 'zod';

const quantity = z.union([z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/), z.number()]);
const resources = z.strictObject({
  requests: z.record(z.string(), quantity).optional(),
  limits: z.record(z.string(), quantity).optional(),
});
const httpGet = z.strictObject({
  path: z.string().startsWith('/'),
  port: z.union([z.number().int(), z.string()]).optional(),
  scheme: z.enum(['HTTP', 'HTTPS']).optional(),
});
const probe = z.strictObject({
  httpGet: httpGet.optional(),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
  failureThreshold: z.number().int().min(1).optional(),
  successThreshold: z.number().int().min(1).optional(),
});
const container = z.strictObject({
  name: z.string().min(1),
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  ports: z
    .array(
      z.strictObject({
        name: z.string().optional(),
        containerPort: z.number().int().min(1).max(65535),
        protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
      }),
    )
    .max(1)
    .optional(),
  env: z.array(z.strictObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
  resources: resources.optional(),
  readinessProbe: probe.optional(),
  livenessProbe: probe.optional(),
  startupProbe: probe.optional(),
  securityContext: z.record(z.string(), z.unknown()).optional(),
});
const componentExtension = {
  minReplicas: z.number().int().min(0).optional(),
  maxReplicas: z.number().int().min(0).optional(),
  scaleTarget: z.number().int().optional(),
  scaleMetric: z.enum(['cpu', 'memory', 'concurrency', 'rps']).optional(),
  containerConcurrency: z.number().int().min(0).optional(),
  timeout: z.number().int().optional(),
  canaryTrafficPercent: z.number().int().min(0).max(100).optional(),
  serviceAccountName: z.string().optional(),
};

export const inferenceServiceSchema = z.strictObject({
  apiVersion: z.literal('serving.kserve.io/v1beta1'),
  kind: z.literal('InferenceService'),
  metadata: z.strictObject({
    name: z
      .string()
      .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)
      .max(63),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z
      .record(z.string(), z.string())
      .refine(
        (a) =>
          a['serving.kserve.io/deploymentMode'] === undefined ||
          ['Serverless', 'RawDeployment', 'ModelMesh'].includes(a['serving.kserve.io/deploymentMode']),
        'serving.kserve.io/deploymentMode must be Serverless, RawDeployment or ModelMesh',
      )
      .optional(),
  }),
  spec: z.strictObject({
    predictor: z.strictObject({ ...componentExtension, containers: z.array(container).min(1) }),
  }),
});
