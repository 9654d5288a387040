// `lathe models [list] | show <name>`: the model zoo, with parameter counts, and one model's layer table.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { getModel, modelInputs, modelNames, type ModelEntry } from '../models/index.js';
import { formatSummary, humanCount, summarize, type ModelSummary } from '../models/summary.js';
import { manualSeed } from '../nn/module.js';
import { CliError } from './errors.js';

/** Options for `show`: a training config's model.options (or a bare options file), then --options on top. */
function readOptions(o: { config?: string; options?: string }): Record<string, unknown> {
  let opts: Record<string, unknown> = {};
  if (o.config) {
    if (!existsSync(o.config)) throw new CliError(`${o.config}: config file not found`);
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(o.config, 'utf8'));
    } catch (err) {
      throw new CliError(`${o.config}: not valid YAML/JSON: ${(err as Error).message}`);
    }
    const r = (raw ?? {}) as { model?: { options?: Record<string, unknown> } };
    opts = r.model ? { ...(r.model.options ?? {}) } : { ...(raw as Record<string, unknown>) };
  }
  if (o.options) {
    try {
      opts = { ...opts, ...(JSON.parse(o.options) as Record<string, unknown>) };
    } catch (err) {
      throw new CliError(`--options: not valid JSON: ${(err as Error).message}`);
    }
  }
  return opts;
}

/** The model name of a training config (when `show` is given --config without a name). */
function configModelName(path?: string): string | undefined {
  if (!path || !existsSync(path)) return undefined;
  const raw = parseYaml(readFileSync(path, 'utf8')) as { model?: { name?: string } } | undefined;
  return raw?.model?.name;
}

function parseShape(s: string): number[] {
  const dims = s.split(/[,x×]/).map((d) => Number(d.trim()));
  if (!dims.length || dims.some((d) => !Number.isInteger(d) || d < 1))
    throw new CliError(`--input: expected positive integers like 1,3,32,32, got "${s}"`);
  return dims;
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description(
      'list the registered models with parameter counts for their default options (`models show <name>` for a layer table)',
    )
    .option('--json', 'one JSON object per model')
    .action((o: { json?: boolean }) => {
      for (const n of modelNames()) {
        const e = getModel(n);
        const parsed = e.options.safeParse({});
        let params: number | undefined;
        if (parsed.success) {
          manualSeed(0);
          params = e.create(parsed.data).parameterCount();
        }
        const needs = parsed.success ? undefined : parsed.error.issues.map((i) => i.path.join('.')).join(', ');
        if (o.json)
          console.log(
            JSON.stringify({ name: n, params: params ?? null, needs: needs ?? null, description: e.description }),
          );
        else
          console.log(
            `${n.padEnd(22)} ${(params !== undefined ? humanCount(params) : `needs: ${needs}`).padStart(10)}  ${e.description}`,
          );
      }
    });

  models
    .command('show')
    .description(
      'layer table of a model: module path, type, output shape, parameters, FLOPs (from the traced graph), totals',
    )
    .argument('[name]', 'registered model name (default: the model of --config)')
    .option('-c, --config <file>', 'a training config (its model.options) or a YAML/JSON file of options')
    .option('--options <json>', 'model options as JSON (applied over --config)')
    .option(
      '--input <shape>',
      'full input shape with batch, e.g. 1,3,32,32 (default: batch 1 and the model’s input shape)',
    )
    .option('--depth <n>', 'show modules up to this depth')
    .option('--json', 'the summary as JSON')
    .action((nameArg: string | undefined, _o: unknown, cmd: Command) => {
      // --json is also the parent's option: read both levels
      const o = cmd.optsWithGlobals<{
        config?: string;
        options?: string;
        input?: string;
        depth?: string;
        json?: boolean;
      }>();
      const name = nameArg ?? configModelName(o.config);
      if (!name) throw new CliError('give a model name (see `lathe models`) or a --config with model.name');
      let entry: ModelEntry;
      try {
        entry = getModel(name);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const parsed = entry.options.safeParse(readOptions(o));
      if (!parsed.success)
        throw new CliError(parsed.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`).join('\n'));
      manualSeed(0);
      const model = entry.create(parsed.data);
      const inputs = modelInputs(entry, parsed.data).map((i) => ({ dtype: i.dtype, shape: [1, ...i.shape] }));
      if (o.input) inputs[0] = { dtype: inputs[0].dtype, shape: parseShape(o.input) };
      let s: ModelSummary;
      try {
        s = summarize(model, inputs);
      } catch (err) {
        throw new CliError(
          `${name}: cannot trace the model on inputs ${inputs.map((i) => `${i.dtype}[${i.shape}]`).join(', ')}: ${(err as Error).message}`,
        );
      }
      if (o.json) console.log(JSON.stringify({ name, options: parsed.data, inputs, ...s }));
      else {
        console.log(`${name}: inputs ${inputs.map((i) => `${i.dtype}[${i.shape.join(', ')}]`).join(', ')}\n`);
        console.log(formatSummary(s, { maxDepth: o.depth !== undefined ? Number(o.depth) : undefined }));
      }
    });
}
