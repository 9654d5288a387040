// Training configs (YAML or JSON), validated with zod; errors name the exact path of the bad field and the file.
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { optimizerConfig, scheduleConfig } from '../optim/registry.js';
import { textDataOptions } from './text-data.js';
import { graphDataOptions } from './graph-data.js';

export const trainConfigSchema = z.object({
  name: z.string().min(1).default('run'),
  seed: z.number().int().default(0),
  model: z.object({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) }).strict(),
  data: z.object({
    name: z.string().min(1),
    /** Folder with the dataset files (otherwise the dataset's own search path / download cache). */
    root: z.string().optional(),
    batchSize: z.number().int().positive().default(64),
    /** Fraction of the training split held out for validation (0: validate on the test split). */
    valFraction: z.number().min(0).lt(1).default(0),
    /** Use only the first N training samples (quick runs). */
    limit: z.number().int().positive().optional(),
    /** Random crop (padding 2) + horizontal flip of training images, in worker threads. */
    augment: z.boolean().default(false),
    /** Worker threads that decode and augment batches (default: 1 when augmenting, else 0 = in memory). */
    workers: z.number().int().min(0).max(16).optional(),
    /** For `name: text`: a text file cut into token windows for language models (see src/train/text-data.ts). */
    text: textDataOptions.optional(),
    /** For graph data (`name: cora` or `name: graph`): the files and their preprocessing (src/train/graph-data.ts). */
    graph: graphDataOptions.optional(),
  }).strict(),
  /**
   * 'cross-entropy' (default): class logits [B, C] against integer labels. 'lm': next-token cross-entropy of logits
   * [B, T, vocab] against targets [B, T] (gpt, char-rnn), reported per token with token accuracy.
   */
  loss: z.enum(['cross-entropy', 'lm']).optional(),
  optimizer: optimizerConfig,
  schedule: scheduleConfig.optional(),
  trainer: z.object({
    epochs: z.number().int().positive(),
    clipGradNorm: z.number().positive().optional(),
    accumulate: z.number().int().positive().default(1),
    ema: z.number().gt(0).lt(1).optional(),
    threads: z.number().int().positive().optional(),
  }).strict(),
  callbacks: z.object({
    checkpoint: z.object({ monitor: z.string().default('val_accuracy'), saveTopK: z.number().int().min(0).default(1) }).strict().default({ monitor: 'val_accuracy', saveTopK: 1 }),
    earlyStopping: z.object({ monitor: z.string().default('val_loss'), patience: z.number().int().positive().default(3) }).strict().optional(),
  }).strict().default({ checkpoint: { monitor: 'val_accuracy', saveTopK: 1 } }),
  /** Run directory (checkpoints, metrics.csv, model.onnx). */
  output: z.string().optional(),
}).strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** A config error that names the file and the field path. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function formatIssues(source: string, error: z.ZodError): string {
  return error.issues
    .map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('\n');
}

/** Validates a parsed config object. */
export function parseTrainConfig(raw: unknown, source = 'config'): TrainConfig {
  const r = trainConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(source, r.error));
  return r.data;
}

/** Reads and validates a YAML/JSON training config file. */
export function loadTrainConfig(path: string): TrainConfig {
  if (!existsSync(path)) throw new ConfigError(`${path}: config file not found`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML/JSON: ${(err as Error).message}`);
  }
  return parseTrainConfig(raw, path);
}
