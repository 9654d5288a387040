// What a review reports: findings, each from one rule, with its evidence in numbers, why it matters and the fix
// (a config diff where one exists). A rule is silenced by its id: `review.ignore` in a training config, the
// `ignore` option of review(), or `lathe review --ignore`.

/** error: training will fail or its result is wrong; warning: likely to cost accuracy or time; info: worth knowing. */
export type Severity = 'error' | 'warning' | 'info';

/** What a target of review is: a training config, a run directory, an ONNX model, a dataset or a live model. */
export type TargetKind = 'config' | 'run' | 'model' | 'dataset' | 'dynamic';

/** One change to a config: the dotted field path, its value now and the value to use. */
export interface ConfigChange {
  readonly path: string;
  readonly from?: unknown;
  readonly to: unknown;
}

/**
 * One problem found by a review rule: its id and severity, a one-line message with the numbers, the evidence, why
 * it matters and how to fix it (as config changes when the fix is one).
 */
export interface Finding {
  /** The rule that fired (see RULES in advise/rules.ts). */
  readonly rule: string;
  readonly severity: Severity;
  /** One line: what is wrong, with the numbers. */
  readonly message: string;
  /** The measurements behind the finding. */
  readonly evidence: Readonly<Record<string, number | string | boolean | readonly (number | string)[]>>;
  /** Why it matters. */
  readonly why: string;
  /** What to do, in words. */
  readonly fix: string;
  /** The fix as config changes, when it is one. */
  readonly diff?: readonly ConfigChange[];
  /** Where: a layer, a column, a file. */
  readonly where?: string;
}

/**
 * The result of reviewing one target (a config, run, model, dataset or live model): the findings sorted worst
 * first, the suppressed ones, the rules evaluated and the checks that could not run.
 */
export interface ReviewReport {
  readonly target: string;
  readonly kind: TargetKind;
  readonly findings: readonly Finding[];
  /** Findings silenced by id (kept so a report shows what it hid). */
  readonly suppressed: readonly Finding[];
  /** Ids of the rules that were evaluated on this target (silent ones included). */
  readonly checked: readonly string[];
  /** Checks that could not run on this target, with the reason. */
  readonly skipped: readonly string[];
}

const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Splits findings into kept and suppressed by rule id, most severe first. */
export function suppress(
  findings: readonly Finding[],
  ignore: readonly string[],
): { kept: Finding[]; suppressed: Finding[] } {
  const ids = new Set(ignore);
  const sorted = [...findings].sort((a, b) => rank[a.severity] - rank[b.severity]);
  return { kept: sorted.filter((f) => !ids.has(f.rule)), suppressed: sorted.filter((f) => ids.has(f.rule)) };
}

/** The worst severity in a report, or undefined when it found nothing. */
export function worstSeverity(r: ReviewReport): Severity | undefined {
  return r.findings.reduce<Severity | undefined>(
    (w, f) => (w === undefined || rank[f.severity] < rank[w] ? f.severity : w),
    undefined,
  );
}

const fmt = (v: unknown): string => {
  if (typeof v === 'number')
    return Number.isInteger(v)
      ? String(v)
      : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
        ? v.toExponential(2)
        : v.toPrecision(4).replace(/\.?0+$/, '');
  if (Array.isArray(v)) return `[${v.map(fmt).join(', ')}]`;
  return JSON.stringify(v);
};

/** A config diff as text: `- optimizer.lr: 0.5` / `+ optimizer.lr: 0.001`. */
export function formatDiff(diff: readonly ConfigChange[]): string {
  return diff
    .map((c) => `${c.from === undefined ? '' : `- ${c.path}: ${fmt(c.from)}\n`}+ ${c.path}: ${fmt(c.to)}`)
    .join('\n');
}

/** The report as Markdown. */
export function reportMarkdown(r: ReviewReport): string {
  const lines = [`# lathe review: ${r.target} (${r.kind})`, ''];
  const counts = (['error', 'warning', 'info'] as const).map(
    (s) => `${r.findings.filter((f) => f.severity === s).length} ${s}`,
  );
  lines.push(
    `${counts.join(', ')}; ${r.checked.length} rules checked${r.suppressed.length ? `, ${r.suppressed.length} suppressed (${[...new Set(r.suppressed.map((f) => f.rule))].join(', ')})` : ''}.`,
    '',
  );
  for (const f of r.findings) {
    lines.push(`## ${f.severity.toUpperCase()} ${f.rule}${f.where ? ` (${f.where})` : ''}`, '', f.message, '');
    const ev = Object.entries(f.evidence);
    if (ev.length) lines.push('| evidence | value |', '|---|---|', ...ev.map(([k, v]) => `| ${k} | ${fmt(v)} |`), '');
    lines.push(`**Why:** ${f.why}`, '', `**Fix:** ${f.fix}`, '');
    if (f.diff?.length) lines.push('```diff', formatDiff(f.diff), '```', '');
    lines.push(`Silence with \`--ignore ${f.rule}\` or \`review: { ignore: [${f.rule}] }\` in the config.`, '');
  }
  if (r.skipped.length) lines.push('## Not checked', '', ...r.skipped.map((s) => `- ${s}`), '');
  return lines.join('\n');
}

/** The report as one line per finding, for a terminal. */
export function reportText(r: ReviewReport): string {
  if (!r.findings.length)
    return `${r.target}: no findings (${r.checked.length} rules checked${r.suppressed.length ? `, ${r.suppressed.length} suppressed` : ''})`;
  return r.findings
    .map(
      (f) =>
        `${f.severity.padEnd(7)} ${f.rule}${f.where ? ` [${f.where}]` : ''}: ${f.message}\n        fix: ${f.fix}${f.diff?.length ? `\n${formatDiff(f.diff).replace(/^/gm, '        ')}` : ''}`,
    )
    .join('\n');
}
