// Training configs (YAML or JSON), validated with zod; errors name the exact path of the bad field and the file.
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { optimizerConfig, scheduleConfig } from '../optim/registry.js';
import { textDataOptions } from './text-data.js';
import { graphDataOptions } from './graph-data.js';

/**
 * The zod schema of a training config (YAML or JSON): run name and seed, model and its options, data, loss, optimizer
 * and schedule, trainer settings, callbacks, output folder and export options; unknown keys are errors.
 */
export const trainConfigSchema = z
  .object({
    name: z.string().min(1).default('run'),
    seed: z.number().int().default(0),
    model: z.object({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) }).strict(),
    data: z
      .object({
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
      })
      .strict(),
    /**
     * 'cross-entropy' (default): class logits [B, C] against integer labels. 'lm': next-token cross-entropy of logits
     * [B, T, vocab] against targets [B, T] (gpt, char-rnn), reported per token with token accuracy.
     */
    loss: z.enum(['cross-entropy', 'lm']).optional(),
    /**
     * Knowledge distillation (classifiers): a frozen teacher's logits enter the loss
     * α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(student, y) (src/train/distill.ts).
     */
    distill: z
      .object({
        /** An .onnx file, a run directory (its model.onnx) or a checkpoint .json; it takes the student's inputs. */
        teacher: z.string().min(1),
        temperature: z.number().positive().default(4),
        alpha: z.number().min(0).max(1).default(0.9),
      })
      .strict()
      .optional(),
    optimizer: optimizerConfig,
    schedule: scheduleConfig.optional(),
    trainer: z
      .object({
        epochs: z.number().int().positive(),
        clipGradNorm: z.number().positive().optional(),
        accumulate: z.number().int().positive().default(1),
        ema: z.number().gt(0).lt(1).optional(),
        threads: z.number().int().positive().optional(),
        /** Stop after this many minutes of training (at a step boundary; validated and checkpointed as usual). */
        maxMinutes: z.number().positive().optional(),
        /**
         * BatchNorm statistics over all ranks' rows (PyTorch's SyncBatchNorm). Not implemented: refused with more than
         * one rank (docs/distributed.md, "BatchNorm"); one process already normalises over its whole batch.
         */
        syncBatchNorm: z.boolean().optional(),
        /** Checkpoint (`last`) within epochs too: every `steps` optimizer steps and/or every `seconds`; resume is exact. */
        checkpointEvery: z
          .object({ steps: z.number().int().positive().optional(), seconds: z.number().positive().optional() })
          .strict()
          .optional(),
      })
      .strict(),
    callbacks: z
      .object({
        /** `monitor` defaults to val_loss for language models (`loss: lm`), val_accuracy otherwise. */
        checkpoint: z
          .object({ monitor: z.string().optional(), saveTopK: z.number().int().min(0).default(1) })
          .strict()
          .default({ saveTopK: 1 }),
        earlyStopping: z
          .object({ monitor: z.string().default('val_loss'), patience: z.number().int().positive().default(3) })
          .strict()
          .optional(),
      })
      .strict()
      .default({ checkpoint: { saveTopK: 1 } }),
    /** Run directory (checkpoints, metrics.csv, model.onnx). */
    output: z.string().optional(),
    /** The model.onnx written after training: BatchNorm folded into the preceding conv (default true; onnx/inference.ts). */
    export: z
      .object({ foldBatchNorm: z.boolean().default(true) })
      .strict()
      .optional(),
    /** `lathe review`: rule ids whose findings this config silences (docs/expert.md lists the rules). */
    review: z
      .object({ ignore: z.array(z.string().min(1)).default([]) })
      .strict()
      .optional(),
  })
  .strict();

/** A validated training config with every default filled in (see {@link trainConfigSchema}). */
export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** A config error that names the file and the field path. */
export class ConfigError extends UserError {}

export function formatIssues(source: string, error: z.ZodError): string {
  return error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n');
}

/** Configs that came out of parseTrainConfig: validated once, never again on their way through a run. */
const validated = new WeakSet<object>();

/** Validates a parsed config object (a config it returned earlier is returned as it is). */
export function parseTrainConfig(raw: unknown, source = 'config'): TrainConfig {
  if (typeof raw === 'object' && raw !== null && validated.has(raw)) return raw as TrainConfig;
  const r = trainConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(source, r.error));
  validated.add(r.data);
  return r.data;
}

/**
 * Applies command-line overrides `path.to.field=value` to a raw config before it is validated; values are read as
 * YAML scalars or flow collections (`3e-4`, `true`, `[32, 64]`, `{steps: 100}`).
 */
function applyOverrides(raw: unknown, overrides: readonly string[]): unknown {
  const root = structuredClone(raw ?? {}) as Record<string, unknown>;
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${o}: expected path.to.field=value`);
    const path = o.slice(0, eq).split('.');
    if (path.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype'))
      throw new ConfigError(`--set ${o}: bad field path`);
    let value: unknown;
    try {
      value = parseYaml(o.slice(eq + 1));
    } catch (err) {
      throw new ConfigError(`--set ${o}: value is not valid YAML: ${(err as Error).message}`);
    }
    let node = root;
    for (const [i, k] of path.slice(0, -1).entries()) {
      const next = node[k];
      if (next === undefined) node[k] = {};
      else if (typeof next !== 'object' || next === null || Array.isArray(next))
        throw new ConfigError(`--set ${o}: ${path.slice(0, i + 1).join('.')} is not an object`);
      node = node[k] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
  return root;
}

/** Reads and validates a YAML/JSON training config file, with optional `--set` overrides. */
export function loadTrainConfig(path: string, overrides: readonly string[] = []): TrainConfig {
  if (!existsSync(path)) throw new ConfigError(`${path}: config file not found`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML/JSON: ${(err as Error).message}`);
  }
  return parseTrainConfig(
    overrides.length ? applyOverrides(raw, overrides) : raw,
    overrides.length ? `${path} with --set` : path,
  );
}
