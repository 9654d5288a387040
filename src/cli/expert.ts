// `lathe review`, `lathe design`, `lathe lr-find`, `lathe profile`: the expert's commands over advise/.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { review } from '../advise/review.js';
import { reportMarkdown, reportText, type Severity } from '../advise/finding.js';
import { CliError } from './errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { design, type Candidate, type Requirements } from '../advise/design.js';
import { designStudy } from '../advise/design-study.js';
import { promptRequirements } from './design-prompts.js';
import { lrFindConfig } from '../advise/lr-find.js';
import { formatProfileResult, profileConfig, profileModel } from '../advise/profile.js';
import { join } from 'node:path';
import { statSync } from 'node:fs';

const list = (v: string, acc: string[]): string[] => [
  ...acc,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];
const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function registerExpert(program: Command): void {
  program
    .command('review')
    .description(
      'review a training config, run directory, ONNX model or dataset (catalog name, IDX folder, CSV): rules with evidence, why and the fix',
    )
    .argument('<target>', 'config.yaml | run directory | model.onnx | dataset')
    .option(
      '--ignore <ids>',
      'rule ids to silence, comma-separated (repeatable); configs can also list them in review.ignore',
      list,
      [] as string[],
    )
    .option('--no-dynamic', 'skip the checks that run training steps')
    .option(
      '--set <path=value>',
      'override a config field before reviewing it (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--label <column>', 'CSV datasets: the label column (default `label`, else the last)')
    .option('--json', 'print the report as JSON')
    .option('--markdown <file>', 'also write the report as Markdown to this file')
    .option(
      '--fail-on <severity>',
      'exit with status 1 when a finding is at least this severe: error, warning, info or none',
      'error',
    )
    .action(
      async (
        target: string,
        o: {
          ignore: string[];
          dynamic: boolean;
          set: string[];
          label?: string;
          json?: boolean;
          markdown?: string;
          failOn: string;
        },
      ) => {
        if (!['error', 'warning', 'info', 'none'].includes(o.failOn))
          throw new CliError(`--fail-on: expected error, warning, info or none, got "${o.failOn}"`);
        const r = await review(target, { ignore: o.ignore, dynamic: o.dynamic, overrides: o.set, label: o.label });
        if (o.markdown) writeFileSync(o.markdown, reportMarkdown(r));
        console.log(o.json ? JSON.stringify(r, null, 2) : reportText(r));
        if (o.failOn !== 'none' && r.findings.some((f) => rank[f.severity] <= rank[o.failOn as Severity]))
          process.exitCode = 1;
      },
    );
}

const num =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag}: a positive number expected, got "${v}"`);
    return n;
  };

function formatCandidate(c: Candidate): string {
  const exp = c.expected
    ? `${(c.expected.accuracy * 100).toFixed(2)} % (${c.expected.basis}, ${c.expected.epochs} epochs)`
    : 'unknown';
  return [
    `${c.rank}. ${c.id}: ${c.model.name} ${JSON.stringify(c.model.options)}`,
    `   ${c.params.toLocaleString('en-US')} params, ${(c.flops / 1e6).toFixed(2)} MFLOPs/sample, ${c.latency.ms.toFixed(3)} ms at batch ${c.latency.batch} (${c.latency.how})`,
    `   expected accuracy ${exp}; training ~${c.training.minutes.toFixed(1)} min for ${c.training.epochs} epochs (${c.training.stepMs.toFixed(1)} ms/step at batch ${c.training.batchSize}, measured)`,
    ...c.reasonsFor.map((r) => `   + ${r}`),
    ...c.reasonsAgainst.map((r) => `   - ${r}`),
    ...c.violations.map((r) => `   ! ${r}`),
    ...(c.configPath ? [`   config: ${c.configPath}  (npx lathe train ${c.configPath})`] : []),
  ].join('\n');
}

export function registerDesign(program: Command): void {
  program
    .command('design')
    .description(
      'rank zoo architectures for a task and budgets: params and FLOPs from the traced graph, latency measured with ORT, expected accuracy from recorded runs, training time from measured steps; writes ready-to-run configs',
    )
    .option('--file <requirements.yaml>', 'requirements as YAML/JSON (the flags below override it)')
    .option(
      '--task <task>',
      'image-classification | text-classification | sequence-classification | tabular-classification | graph-classification | regression | language-modelling | generation',
    )
    .option('--input <shape>', 'per-sample input shape, e.g. 1,28,28 (images) or 64 (tokens)')
    .option('--classes <n>', 'output classes', num('--classes'))
    .option('--vocab <n>', 'token vocabulary (text and language models)', num('--vocab'))
    .option('--dataset-size <n>', 'training samples', num('--dataset-size'))
    .option('--dataset <name>', 'catalog dataset for the configs (quality records are matched on it)')
    .option('--text <file>', 'language modelling: the training text (UTF-8, read as bytes)')
    .option('--latency-ms <ms>', 'inference latency budget per batch', num('--latency-ms'))
    .option('--latency-batch <n>', 'batch size of the latency budget (default 1)', num('--latency-batch'))
    .option('--max-params <n>', 'parameter budget', num('--max-params'))
    .option('--max-memory-mb <mb>', 'weight memory budget', num('--max-memory-mb'))
    .option('--platform <p>', 'server-cpu (measured) | gpu | browser | edge-int8 (estimated)')
    .option('--train-minutes <min>', 'training-time budget on this machine', num('--train-minutes'))
    .option('--out <dir>', 'write the ready-to-run configs here', 'designs')
    .option('--top <k>', 'candidates to show', num('--top'))
    .option(
      '--tune [trials]',
      'also write <out>/tune.yaml: a `lathe tune` study over the top 3 candidates (architecture, learning rate, weight decay) with measured latency as a second objective',
    )
    .option('--no-prompt', 'never ask on a terminal: missing requirements are errors')
    .option('--json', 'print the result as JSON')
    .action(async (o: Record<string, string | number | boolean | undefined>) => {
      let base: Partial<Requirements> = {};
      if (typeof o.file === 'string') {
        if (!existsSync(o.file)) throw new CliError(`${o.file}: requirements file not found`);
        base = (parseYaml(readFileSync(o.file, 'utf8')) ?? {}) as Partial<Requirements>;
      }
      const shape = typeof o.input === 'string' ? o.input.split(/[,x×]/).map((d) => Number(d.trim())) : base.inputShape;
      const req = {
        ...base,
        ...(o.task !== undefined ? { task: o.task } : {}),
        ...(shape ? { inputShape: shape } : {}),
        ...(o.classes !== undefined ? { classes: o.classes } : {}),
        ...(o.vocab !== undefined ? { vocab: o.vocab } : {}),
        ...(o.datasetSize !== undefined ? { datasetSize: o.datasetSize } : {}),
        ...(o.dataset !== undefined ? { dataset: o.dataset } : {}),
        ...(o.text !== undefined ? { textPath: o.text } : {}),
        ...(o.latencyMs !== undefined ? { latencyMs: o.latencyMs } : {}),
        ...(o.latencyBatch !== undefined ? { latencyBatch: o.latencyBatch } : {}),
        ...(o.maxParams !== undefined ? { maxParams: o.maxParams } : {}),
        ...(o.maxMemoryMb !== undefined ? { maxMemoryMB: o.maxMemoryMb } : {}),
        ...(o.platform !== undefined ? { platform: o.platform } : {}),
        ...(o.trainMinutes !== undefined ? { trainMinutes: o.trainMinutes } : {}),
        ...(o.top !== undefined ? { top: o.top } : {}),
        outDir: base.outDir ?? (o.out as string),
      } as Requirements;
      if (o.prompt !== false && !o.json && process.stdin.isTTY && process.stdout.isTTY) {
        const missing = !req.task || !req.inputShape || !req.datasetSize;
        if (missing)
          Object.assign(
            req,
            await promptRequirements(req, { input: process.stdin, output: process.stdout }, !req.task),
          );
      }
      if (!req.task) throw new CliError('--task is required (or task: in --file)');
      if (!req.inputShape) throw new CliError('--input is required (or inputShape: in --file)');
      if (!req.datasetSize) throw new CliError('--dataset-size is required (or datasetSize: in --file)');
      const r = await design(req, { onProgress: o.json ? undefined : (m) => process.stderr.write(`${m}\n`) });
      let trials: number | undefined;
      if (typeof o.tune === 'string') {
        trials = Number(o.tune);
        if (!Number.isInteger(trials) || trials < 1)
          throw new CliError(`--tune: a positive number of trials expected, got "${o.tune}"`);
      }
      const study = o.tune !== undefined ? designStudy(r, { outDir: req.outDir ?? 'designs', trials }) : undefined;
      if (o.json) console.log(JSON.stringify(study ? { ...r, study } : r, null, 2));
      else {
        console.log(r.candidates.map(formatCandidate).join('\n\n'));
        if (r.rejected.length)
          console.log(`\nover budget: ${r.rejected.map((c) => `${c.id} (${c.violations.join('; ')})`).join(', ')}`);
        if (study)
          console.log(
            `\nstudy: ${study.path} (${String(study.config.n_trials)} trials; accuracy and latency, Pareto front)  npx lathe tune ${study.path}`,
          );
      }
    });
}

export function registerLrFind(program: Command): void {
  program
    .command('lr-find')
    .description(
      'learning-rate range test (Smith 2017) on a training config: loss against an exponentially growing rate, a suggested rate, and a PNG plot',
    )
    .argument('<config>', 'training config (YAML/JSON)')
    .option('--start <lr>', 'first learning rate', num('--start'), 1e-7)
    .option('--end <lr>', 'last learning rate', num('--end'), 10)
    .option('--steps <n>', 'batches (default 100)', num('--steps'), 100)
    .option('--png <file>', 'plot file', 'lr-find.png')
    .option(
      '--set <path=value>',
      'override a config field (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--json', 'print the curve and suggestion as JSON')
    .action(
      async (
        config: string,
        o: { start: number; end: number; steps: number; png: string; set: string[]; json?: boolean },
      ) => {
        const r = await lrFindConfig(config, {
          start: o.start,
          end: o.end,
          steps: o.steps,
          png: o.png,
          overrides: o.set,
        });
        if (o.json) console.log(JSON.stringify(r));
        else
          console.log(
            `suggested lr ${r.suggestion.toPrecision(2)} (lowest loss at ${r.minLossLr.toPrecision(2)}${r.stoppedEarly ? ', stopped when the loss blew up' : ''}); plot: ${r.png}\n  set it: --set optimizer.lr=${r.suggestion.toPrecision(2)}`,
          );
      },
    );
}

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description(
      'per-op time of a training step (config or run directory) by lathe module, or of an inference (.onnx); achieved GFLOP/s against a measured MatMul roofline; the top changes, measured',
    )
    .argument('<target>', 'config.yaml | run directory | model.onnx')
    .option('--threads <n>', 'ORT intra-op threads (default 1)', num('--threads'))
    .option('--steps <n>', 'profiled training steps (default 20)', num('--steps'))
    .option('--batch <n>', 'inference batch size for .onnx targets (default 1)', num('--batch'))
    .option(
      '--set <path=value>',
      'override a config field (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--json', 'print the profile as JSON')
    .action(
      async (
        target: string,
        o: { threads?: number; steps?: number; batch?: number; set: string[]; json?: boolean },
      ) => {
        let r: Awaited<ReturnType<typeof profileModel>>;
        if (target.toLowerCase().endsWith('.onnx'))
          r = await profileModel(target, { batch: o.batch, threads: o.threads });
        else {
          const path = existsSync(target) && statSync(target).isDirectory() ? join(target, 'config.json') : target;
          if (!existsSync(path))
            throw new CliError(`${path}: no such config (give a config file, a run directory or an .onnx model)`);
          r = await profileConfig(path, { threads: o.threads, steps: o.steps, overrides: o.set });
        }
        console.log(o.json ? JSON.stringify(r, null, 2) : formatProfileResult(r));
      },
    );
}
