// `lathe review`, `lathe design`, `lathe lr-find`, `lathe profile`: the expert's commands over advise/.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { review } from '../advise/review.js';
import { reportMarkdown, reportText, type Severity } from '../advise/finding.js';
import { CliError } from './errors.js';

const list = (v: string, acc: string[]): string[] => [...acc, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function registerExpert(program: Command): void {
  program
    .command('review')
    .description('review a training config, run directory, ONNX model or dataset (catalog name, IDX folder, CSV): rules with evidence, why and the fix')
    .argument('<target>', 'config.yaml | run directory | model.onnx | dataset')
    .option('--ignore <ids>', 'rule ids to silence, comma-separated (repeatable); configs can also list them in review.ignore', list, [] as string[])
    .option('--no-dynamic', 'skip the checks that run training steps')
    .option('--set <path=value>', 'override a config field before reviewing it (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--label <column>', 'CSV datasets: the label column (default `label`, else the last)')
    .option('--json', 'print the report as JSON')
    .option('--markdown <file>', 'also write the report as Markdown to this file')
    .option('--fail-on <severity>', 'exit with status 1 when a finding is at least this severe: error, warning, info or none', 'error')
    .action(async (target: string, o: { ignore: string[]; dynamic: boolean; set: string[]; label?: string; json?: boolean; markdown?: string; failOn: string }) => {
      if (!['error', 'warning', 'info', 'none'].includes(o.failOn)) throw new CliError(`--fail-on: expected error, warning, info or none, got "${o.failOn}"`);
      const r = await review(target, { ignore: o.ignore, dynamic: o.dynamic, overrides: o.set, label: o.label });
      if (o.markdown) writeFileSync(o.markdown, reportMarkdown(r));
      console.log(o.json ? JSON.stringify(r, null, 2) : reportText(r));
      if (o.failOn !== 'none' && r.findings.some((f) => rank[f.severity] <= rank[o.failOn as Severity])) process.exitCode = 1;
    });
}
