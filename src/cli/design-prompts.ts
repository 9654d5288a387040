// `lathe design` on a terminal: the requirements the flags and file left out are asked for, one question at a time
// (required ones until answered validly, budgets skippable with Enter). Off a terminal, or with --json, nothing is
// asked and a missing requirement is an error naming its flag.
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { TASKS, type Requirements, type Task } from '../advise/design.js';
import { CliError } from './errors.js';

/** Where the questions go and the answers come from (a terminal in the CLI; streams in tests). */
export interface PromptIO {
  readonly input: Readable;
  readonly output: Writable;
}

type Draft = { -readonly [K in keyof Requirements]?: Requirements[K] };

const positive = (s: string): number | undefined => {
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? n : undefined;
};
const shape = (s: string): number[] | undefined => {
  const d = s
    .split(/[,x×\s]+/)
    .filter(Boolean)
    .map(Number);
  return d.length && d.every((n) => Number.isInteger(n) && n > 0) ? d : undefined;
};
const classified = (t: Task | undefined): boolean => !!t && t.endsWith('classification');
const tokens = (t: Task | undefined): boolean =>
  t === 'text-classification' || t === 'sequence-classification' || t === 'language-modelling' || t === 'generation';

/** Asks for what `draft` lacks and returns it completed (required fields always; budgets when `budgets` is set). */
export async function promptRequirements(draft: Draft, io: PromptIO, budgets = true): Promise<Draft> {
  const rl = createInterface({ input: io.input, output: io.output, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (q: string): Promise<string | undefined> => {
    io.output.write(q);
    const next = await lines.next();
    return next.done ? undefined : String(next.value).trim();
  };
  // a required value: asked until it parses; the end of input is an error naming the field
  const need = async <T>(field: string, q: string, parse: (s: string) => T | undefined, hint: string): Promise<T> => {
    for (;;) {
      const a = await ask(q);
      if (a === undefined) throw new CliError(`${field}: no answer (input ended)`);
      const v = parse(a);
      if (v !== undefined) return v;
      io.output.write(`  ${hint}\n`);
    }
  };
  const maybe = async (q: string): Promise<number | undefined> => {
    for (;;) {
      const a = await ask(q);
      if (!a) return undefined;
      const v = positive(a);
      if (v !== undefined) return v;
      io.output.write('  a positive number, or Enter to skip\n');
    }
  };
  const r: Draft = { ...draft };
  try {
    if (!r.task) {
      io.output.write(TASKS.map((t, i) => `  ${i + 1}. ${t}`).join('\n') + '\n');
      r.task = await need(
        'task',
        'task (number or name): ',
        (s) => ((TASKS as readonly string[]).includes(s) ? (s as Task) : TASKS[Number(s) - 1]),
        `one of 1–${TASKS.length} or a name above`,
      );
    }
    if (!r.inputShape)
      r.inputShape = await need(
        'inputShape',
        tokens(r.task) || r.task === 'language-modelling' || r.task === 'generation'
          ? 'sequence length in tokens: '
          : 'per-sample input shape (e.g. 1,28,28 or 20): ',
        shape,
        'positive integers separated by commas',
      );
    if (classified(r.task) && r.classes === undefined)
      r.classes = await need('classes', 'number of classes: ', positive, 'a positive number');
    if (tokens(r.task) && r.vocab === undefined)
      r.vocab = await need('vocab', 'vocabulary size (256 for bytes): ', positive, 'a positive number');
    if ((r.task === 'language-modelling' || r.task === 'generation') && r.textPath === undefined)
      r.textPath = await need(
        'textPath',
        'training text file: ',
        (s) => (s && existsSync(s) ? s : undefined),
        'an existing file',
      );
    if (r.datasetSize === undefined)
      r.datasetSize = await need('datasetSize', 'training samples: ', positive, 'a positive number');
    if (budgets) {
      if (r.latencyMs === undefined) r.latencyMs = await maybe('latency budget in ms at batch 1 (Enter: none): ');
      if (r.maxParams === undefined) r.maxParams = await maybe('parameter budget (Enter: none): ');
      if (r.trainMinutes === undefined) r.trainMinutes = await maybe('training-time budget in minutes (Enter: none): ');
    }
  } finally {
    rl.close();
  }
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Draft;
}
