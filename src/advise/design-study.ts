// `lathe design --tune`: the top candidates of a design as one `lathe tune` study. A categorical parameter `arch`
// chooses the candidate (its training config is a variant of the objective), each candidate gets its own learning
// rate around its recipe's, the weight decay is shared, and the trained model's measured inference latency at the
// budget's batch size is the second objective, so the study's Pareto front trades accuracy against latency.
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeAtomicFile } from '../util/write-atomic.js';
import type { Candidate, DesignResult } from './design.js';

/** Options of {@link designStudy}. */
export interface DesignStudyOptions {
  /** Folder the study config is written to. */
  readonly outDir: string;
  /** How many of the ranked candidates enter the study (default 3). */
  readonly candidates?: number;
  /** Trials of the study (default 4 per candidate). */
  readonly trials?: number;
}

/** The study {@link designStudy} wrote: its path and the config (a `lathe tune` config). */
export interface DesignStudy {
  readonly path: string;
  readonly config: Readonly<Record<string, unknown>>;
}

const paramName = (id: string): string => `lr_${id.replace(/[^\w]/g, '_')}`;
/** A whole-field tune placeholder: the trial's value of `name` (its type kept). */
const placeholder = (name: string): string => `\${${name}}`;

/** A candidate's training config as a variant: its own learning rate and the shared weight decay as placeholders. */
function variant(c: Candidate): Record<string, unknown> {
  const { name: _name, output: _output, seed: _seed, ...rest } = c.config as Record<string, unknown>;
  const optimizer = (rest.optimizer ?? {}) as Record<string, unknown>;
  return {
    ...rest,
    optimizer: { ...optimizer, lr: placeholder(paramName(c.id)), weightDecay: placeholder('weight_decay') },
  };
}

/** Writes `<outDir>/tune.yaml`, a two-objective study over the top candidates of `result` (see the file header). */
export function designStudy(result: DesignResult, opts: DesignStudyOptions): DesignStudy {
  const top = result.candidates.slice(0, opts.candidates ?? 3);
  const req = result.requirements;
  const lm = req.task === 'language-modelling' || req.task === 'generation' || req.task === 'regression';
  const space: Record<string, unknown> = {
    arch: { type: 'categorical', choices: top.map((c) => c.id) },
    weight_decay: { type: 'float', low: 1e-5, high: 1e-2, log: true },
  };
  for (const c of top) {
    const lr = Number(((c.config as { optimizer?: { lr?: unknown } }).optimizer?.lr as number | undefined) ?? 1e-3);
    space[paramName(c.id)] = { type: 'float', low: lr / 3, high: lr * 3, log: true, when: { arch: [c.id] } };
  }
  const study = `design-${req.task}`;
  const config = {
    study,
    directions: [lm ? 'minimize' : 'maximize', 'minimize'],
    sampler: { type: 'nsga2', seed: 0, population_size: Math.max(4, top.length * 2) },
    storage: `sqlite:///${study}.tune.db`,
    n_trials: opts.trials ?? 4 * top.length,
    space,
    objective: {
      monitor: lm ? 'val_loss' : 'val_accuracy',
      value: 'best',
      latency: { batch: req.latencyBatch ?? 1, threads: 1 },
      variants: { by: 'arch', configs: Object.fromEntries(top.map((c) => [c.id, variant(c)])) },
      train: { seed: 0, output: `runs/${study}/trial-${placeholder('trial')}` },
    },
  };
  const path = join(opts.outDir, 'tune.yaml');
  writeAtomicFile(
    path,
    `# lathe design --tune: ${top.map((c) => c.id).join(', ')} for ${req.task}; objectives: ${config.objective.monitor} (${config.directions[0]}), latency in ms at batch ${config.objective.latency.batch} (minimize)\n# run: npx lathe tune ${path}\n${stringify(config)}`,
  );
  return { path, config };
}
