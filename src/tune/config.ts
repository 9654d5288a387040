// `lathe tune` configs (YAML or JSON), validated with zod; errors name the exact field.
import { UserError } from '../util/errors.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';

const num = z.number();
const condition = z.record(
  z.string(),
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])),
  ]),
);

const paramSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('float'),
      low: num,
      high: num,
      log: z.boolean().optional(),
      step: num.optional(),
      when: condition.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('int'),
      low: z.number().int(),
      high: z.number().int(),
      log: z.boolean().optional(),
      step: z.number().int().optional(),
      when: condition.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('categorical'),
      choices: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).min(1),
      when: condition.optional(),
    })
    .strict(),
]);

/** A training config as the objective: `${param}` placeholders filled per trial, trained through the Trainer. */
const trainObjectiveSchema = z
  .object({
    /** The training config (inline) or the path of a YAML/JSON one, relative to the tune config. */
    train: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    /** Validation metric reported each epoch to the pruner and returned as the trial's value. */
    monitor: z.string().min(1),
    /** The trial's value: the metric at the last epoch (default) or its best over epochs. */
    value: z.enum(['last', 'best']).optional(),
    /**
     * Architecture choice: the categorical parameter `by` picks one of `configs` (partial training configs keyed by
     * that parameter's choices), deep-merged over `train` before the placeholders are filled.
     */
    variants: z
      .object({
        by: z.string().min(1),
        configs: z.record(z.string(), z.record(z.string(), z.unknown())),
      })
      .strict()
      .optional(),
    /**
     * A second objective: the trained model's inference latency (ms per batch, exported model.onnx in ORT, median
     * of `runs`), minimised; the study then needs `directions: [<monitor's direction>, minimize]`.
     */
    latency: z
      .object({
        batch: z.number().int().positive().optional(),
        threads: z.number().int().positive().optional(),
        runs: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const named = z.union([z.string(), z.object({ type: z.string() }).passthrough()]);

const tuneConfigSchema = z
  .object({
    study: z.string().min(1),
    direction: z.enum(['minimize', 'maximize']).optional(),
    directions: z
      .array(z.enum(['minimize', 'maximize']))
      .min(1)
      .optional(),
    sampler: named.optional(),
    pruner: named.optional(),
    storage: z.string().optional(),
    n_trials: z.number().int().positive(),
    timeout: z.number().positive().optional(),
    workers: z.number().int().positive().optional(),
    catch: z.boolean().optional(),
    heartbeat: z
      .object({
        interval_s: z.number().positive().optional(),
        grace_s: z.number().positive().optional(),
        requeue: z.union([z.boolean(), z.number().int().min(0)]).optional(),
      })
      .strict()
      .optional(),
    space: z.record(z.string(), paramSchema).optional(),
    objective: z.union([
      z.string().regex(/^[^#]+(#[A-Za-z_$][\w$]*)?$/, 'must be <module path>[#export], e.g. ./objective.js#objective'),
      trainObjectiveSchema,
    ]),
    export: z
      .object({ base: z.string().optional(), paths: z.record(z.string(), z.string()).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => !(c.direction && c.directions), {
    message: 'give direction or directions, not both',
    path: ['directions'],
  });

/**
 * A validated `lathe tune` config (see `tuneConfigSchema`) plus `configDir`, the folder relative paths in it are
 * resolved against.
 */
export type TuneConfig = z.infer<typeof tuneConfigSchema> & { readonly configDir: string };
export type ParamSpec = z.infer<typeof paramSchema>;
export type TrainObjectiveSpec = z.infer<typeof trainObjectiveSchema>;

/** A `lathe tune` config that cannot be read or is invalid; the message names the file and each bad field. */
export class TuneConfigError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'TuneConfigError';
  }
}

export function formatZodIssues(prefix: string, err: z.ZodError): string {
  return err.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`).join('\n');
}

/** Parses a config object; `configDir` anchors relative paths (objective module, sqlite file, export base). */
export function parseTuneConfig(raw: unknown, configDir: string, source = 'config'): TuneConfig {
  const r = tuneConfigSchema.safeParse(raw);
  if (!r.success) throw new TuneConfigError(`${source}: invalid tune config\n${formatZodIssues('', r.error)}`);
  return { ...r.data, configDir };
}

/**
 * Reads and validates a tune config file (YAML, or JSON for `.json`); relative paths in it resolve against its folder;
 * throws a TuneConfigError naming the file when it cannot be read or parsed or a field is invalid.
 */
export function loadTuneConfig(path: string): TuneConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TuneConfigError(
      `${path}: cannot read config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new TuneConfigError(
      `${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  return parseTuneConfig(raw, dirname(resolve(path)), path);
}
