// serve.yaml: the server's configuration, validated with zod; errors name the path of the bad field.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { OIP_DATATYPES } from './tensor.js';

const positiveInt = z.number().int().positive();

const batchingSchema = z.strictObject({
  /** Most rows in one session run (1 disables batching). */
  maxBatchSize: positiveInt.default(32),
  /** How long an idle instance may wait for a fuller batch (0 = work-conserving, never wait). */
  maxQueueDelayMs: z.number().min(0).max(10_000).default(0),
  /** Batch sizes to prefer when more rows are queued. */
  preferredBatchSizes: z.array(positiveInt).default([]),
  /** Most queued requests before 503 + Retry-After. */
  maxQueueSize: positiveInt.default(256),
});

const targetSchema = z.strictObject({ model: z.string().min(1), version: z.string().min(1).optional() });

const fallbackSchema = z.union([
  targetSchema,
  z.strictObject({
    response: z.strictObject({
      outputs: z.array(
        z.strictObject({
          name: z.string(),
          datatype: z.enum(OIP_DATATYPES as [string, ...string[]]),
          shape: z.array(z.number().int().min(0)),
          data: z.array(z.union([z.number(), z.boolean()])),
        }),
      ),
    }),
  }),
]);

const modelSchema = z.strictObject({
  /** Path (file or version folder) or URI (`models:/name@alias`) of the model. */
  source: z.string().min(1),
  /** Versions to serve: all found, only the highest, or a list. */
  versions: z.union([z.enum(['all', 'latest']), z.array(z.string().min(1)).min(1)]).default('all'),
  /** Worker threads (session instances) per version. */
  instances: positiveInt.max(64).default(1),
  /** ORT intra-op threads per instance. */
  intraOpThreads: positiveInt.max(256).default(2),
  /**
   * Batches sent to one instance at a time: with 2 the next batch already waits in the worker when a run
   * ends, so the session never idles while the event loop answers the previous batch (1 = strictly one).
   */
  inflight: positiveInt.max(8).default(2),
  /** Execution provider of the sessions (runtime/device.ts): 'cuda' falls back to the CPU when it cannot start. */
  device: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Let ORT's thread pool spin while idle (costs the event loop CPU on small machines). */
  spinning: z.boolean().default(false),
  /** Per-request deadline in milliseconds (queue + run); after it the fallback chain answers or 504. */
  timeoutMs: positiveInt.default(30_000),
  batching: batchingSchema.default({
    maxBatchSize: 32,
    maxQueueDelayMs: 0,
    preferredBatchSizes: [],
    maxQueueSize: 256,
  }),
  /** Response cache (LRU + TTL); off unless set. */
  cache: z
    .strictObject({ maxEntries: positiveInt.default(1024), ttlMs: z.number().int().min(0).default(60_000) })
    .optional(),
  /** Warm-up runs per instance at load; the version is not ready until they pass. */
  warmup: z.strictObject({ runs: z.number().int().min(0).max(100).default(2) }).default({ runs: 2 }),
  /** Accept NaN and ±Infinity in FP32/FP64 inputs (default: a 400 names the first such element). */
  allowNonFinite: z.boolean().default(false),
  /** Tried in order when this model errors or times out: another model/version, or a fixed response. */
  fallback: z.array(fallbackSchema).default([]),
});

const experimentSchema = z.strictObject({
  /** Weighted variants; a request key keeps a client on one variant (sticky). */
  variants: z.array(targetSchema.extend({ weight: z.number().min(0) })).default([]),
  /** Shorthand: send this percentage to a canary, the rest to the first variant. */
  canary: targetSchema.extend({ percent: z.number().min(0).max(100) }).optional(),
  /** Mirror a percentage of traffic to another target; its answer is discarded and compared. */
  shadow: targetSchema.extend({ percent: z.number().min(0).max(100).default(100) }).optional(),
  /** Header whose value is the sticky key (default x-lathe-key; OIP parameters.key also works). */
  stickyHeader: z.string().min(1).default('x-lathe-key'),
  /** JSON-lines file that receives one record per shadow comparison (for offline analysis). */
  shadowLog: z.string().optional(),
});

const serveConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8000),
      /** Port of the gRPC endpoint (inference.GRPCInferenceService); off unless set (0 = any free port). */
      grpcPort: z.number().int().min(0).max(65535).optional(),
      /** Largest request body in bytes (413 above). */
      bodyLimitBytes: positiveInt.default(8 * 1024 * 1024),
      /** Bearer token for /v2/repository/* admin endpoints; admin is off without it. */
      adminToken: z.string().min(8).optional(),
      /** Longest wait for in-flight requests on shutdown. */
      drainTimeoutMs: positiveInt.default(30_000),
      /**
       * On shutdown, how long readiness reports false while the server still answers (so load balancers
       * stop sending) before the listener closes.
       */
      readinessDrainMs: z.number().int().min(0).max(600_000).default(5_000),
      /** Most distinct values of each metrics label (model, version); later values are counted as `_other`. */
      maxLabelValues: positiveInt.max(100_000).default(256),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .default({
      host: '127.0.0.1',
      port: 8000,
      bodyLimitBytes: 8 * 1024 * 1024,
      drainTimeoutMs: 30_000,
      readinessDrainMs: 5_000,
      maxLabelValues: 256,
      logLevel: 'info',
    }),
  models: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), modelSchema).default({}),
  experiments: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), experimentSchema).default({}),
});

/**
 * A validated serve config (from {@link parseServeConfig}) with every default filled in: server settings, models by
 * name and experiments by name.
 */
export type ServeConfig = z.output<typeof serveConfigSchema>;
/** A serve config as written in YAML/JSON or code, before validation (defaults optional). */
export type ServeConfigInput = z.input<typeof serveConfigSchema>;
/**
 * One served model's validated config: source, versions policy, instances, batching, cache, timeout and fallback chain.
 */
export type ModelConfig = z.output<typeof modelSchema>;
/** One served model's config as written, before validation (defaults optional). */
export type ModelConfigInput = z.input<typeof modelSchema>;
/**
 * One validated experiment: weighted variants or a canary split, optional shadow traffic, the sticky-key header and the
 * shadow log.
 */
export type ExperimentConfig = z.output<typeof experimentSchema>;
/** One step of a model's fallback chain: another model (and optional version) to ask, or a fixed response to return. */
export type FallbackStep = z.output<typeof fallbackSchema>;

/** Validates a config object; the error lists each bad field by its path (`models.cnn.batching.maxBatchSize`). */
export function parseServeConfig(raw: unknown, origin = 'config'): ServeConfig {
  const r = serveConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${origin} is invalid:\n${lines.join('\n')}`);
  }
  const cfg = r.data;
  for (const [name, exp] of Object.entries(cfg.experiments)) {
    if (cfg.models[name]) throw new Error(`${origin}: experiment '${name}' has the same name as a model`);
    if (exp.variants.length === 0 && !exp.canary)
      throw new Error(`${origin}: experiments.${name} needs variants (or a canary)`);
    if (exp.canary && exp.variants.length === 0)
      throw new Error(`${origin}: experiments.${name}.canary needs a first variant to split from`);
  }
  return cfg;
}

/** Reads serve.yaml / serve.json. */
export function loadServeConfig(path: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`cannot read config file '${path}'`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`config file '${path}' is not valid YAML: ${(err as Error).message}`);
  }
  return parseServeConfig(raw, `config file '${path}'`);
}

/** Defaults applied to a model given only by source. */
export function modelDefaults(source: string, overrides: Partial<ModelConfigInput> = {}): ModelConfig {
  return modelSchema.parse({ source, ...overrides });
}
