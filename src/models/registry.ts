// Models by name, so YAML configs and code reach the same constructors. Each entry declares its options with a
// zod schema (errors name the exact field) and the input it expects.
import type { z } from 'zod';
import type { DType } from '../graph/dtype.js';
import type { Tensor } from '../graph/tensor.js';
import type { Module } from '../nn/module.js';
import type { GenerativeInfo } from './generative.js';

/**
 * How a generative model trains: an objective that replaces forward + loss (the Trainer's `objective`), the pixel
 * range it expects in `batch.x`, and the metric that picks the best checkpoint.
 */
export interface ModelObjective {
  /** Builds the training graph for one batch: the scalar loss to minimise and optional in-graph metrics. */
  readonly objective: (
    model: Module,
    batch: Readonly<Record<string, Tensor>>,
  ) => { readonly loss: Tensor; readonly metrics?: Readonly<Record<string, Tensor>> };
  /** 'unit': intensities in [0, 1]; 'symmetric': in [−1, 1] (instead of the dataset's normalisation). */
  readonly pixels: 'unit' | 'symmetric';
  readonly monitor: { readonly metric: string; readonly mode: 'min' | 'max' };
  /** Evaluate on a fixed binarisation of the held-out images (binary-likelihood models). */
  readonly binaryEval?: boolean;
  /** What sampling needs (written into the exported model's metadata). */
  readonly generative: GenerativeInfo;
  /**
   * Models trained by alternating objectives (GANs): the Trainer's `phases`, in cycle order; `objective` is then the
   * one `evaluate` scores (the first phase's).
   */
  readonly phases?: readonly ModelPhase[];
}

/** One phase of alternating training: its objective, the parameters it updates (name prefixes), Adam, steps per cycle. */
export interface ModelPhase {
  readonly name: string;
  /** The loss this phase minimises (same contract as {@link ModelObjective.objective}). */
  readonly objective: ModelObjective['objective'];
  readonly parameters: readonly string[];
  readonly steps: number;
  readonly optimizer: { readonly lr: number; readonly beta1: number; readonly beta2: number };
}

/** One model input without the batch dim. */
export interface ModelInput {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Name of the leading symbolic dim in exported graphs (default 'batch'; graph models: 'nodes' / 'edges'). */
  readonly batchDim?: string;
}

/**
 * A registered model: its name and description, a zod schema of its options, the input it expects, and a factory that
 * builds the Module from parsed options.
 */
export interface ModelEntry<O extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly options: O;
  /** Input shape without the batch dim, given the options (for export and summaries). */
  inputShape(opts: z.infer<O>): readonly number[];
  /**
   * Every input of `forward`, in order, when there is more than one or it is not float32 (default: one input of
   * `inputShape`, int64 for models with a `vocab` option, else float32).
   */
  inputs?(opts: z.infer<O>): readonly ModelInput[];
  /** Builds a fresh model (new parameters) from options the schema has parsed. */
  create(opts: z.infer<O>): Module;
  /** Generative models: how they train (see ModelObjective); absent for models trained on labels. */
  objective?(opts: z.infer<O>): ModelObjective;
}

const registry = new Map<string, ModelEntry>();

/** Adds a model to the registry and returns the entry; throws if a model of that name is already registered. */
export function registerModel<O extends z.ZodType>(entry: ModelEntry<O>): ModelEntry<O> {
  if (registry.has(entry.name)) throw new Error(`model ${entry.name} is registered twice`);
  registry.set(entry.name, entry as unknown as ModelEntry);
  return entry;
}

/** The registered model called `name`; throws an Error listing the known names when there is none. */
export function getModel(name: string): ModelEntry {
  const e = registry.get(name);
  if (!e) throw new Error(`unknown model "${name}" (known: ${[...registry.keys()].sort().join(', ')})`);
  return e;
}

/** The names of every registered model, sorted. */
export const modelNames = (): string[] => [...registry.keys()].sort();

/** The inputs of a registered model for parsed options (see ModelEntry.inputs). */
export function modelInputs(entry: ModelEntry, opts: unknown): readonly ModelInput[] {
  if (entry.inputs) return entry.inputs(opts);
  const ids = !!opts && typeof opts === 'object' && 'vocab' in opts;
  return [{ name: ids ? 'input_ids' : 'input', dtype: ids ? 'int64' : 'float32', shape: entry.inputShape(opts) }];
}
