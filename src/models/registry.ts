// Models by name, so YAML configs and code reach the same constructors. Each entry declares its options with a
// zod schema (errors name the exact field) and the input it expects.
import { z } from 'zod';
import type { Module } from '../nn/module.js';

export interface ModelEntry<O extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly description: string;
  readonly options: O;
  /** Input shape without the batch dim, given the options (for export and summaries). */
  inputShape(opts: z.infer<O>): readonly number[];
  create(opts: z.infer<O>): Module;
}

const registry = new Map<string, ModelEntry>();

export function registerModel<O extends z.ZodType>(entry: ModelEntry<O>): ModelEntry<O> {
  if (registry.has(entry.name)) throw new Error(`model ${entry.name} is registered twice`);
  registry.set(entry.name, entry as unknown as ModelEntry);
  return entry;
}

export function getModel(name: string): ModelEntry {
  const e = registry.get(name);
  if (!e) throw new Error(`unknown model "${name}" (known: ${[...registry.keys()].sort().join(', ')})`);
  return e;
}

export const modelNames = (): string[] => [...registry.keys()].sort();
