// (CLI wiring: the tuner knows no trainer; `lathe tune` hands it this loader, composing tune with train and models.)
// A tune objective that is a training config: `objective: { train: <config or file>, monitor: val_accuracy }` in a
// `lathe tune` config. The training config holds `${param}` placeholders (`lr: ${lr}`, `output: runs/x/${trial}`);
// each trial fills them with its parameters, trains through the Trainer (`runTraining`) with the pruning reporter
// as a callback — one report per epoch, TrialPruned stops the run — and returns the monitored metric.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { TuneConfigError, type TrainObjectiveSpec, type TuneConfig } from '../tune/config.js';
import { pruningReporter } from '../tune/pruners/pruning-reporter.js';
import type { ConfigObjective, ObjectiveContext, SpaceEntry, TrainObjectiveLoader } from '../tune/runner.js';
import type { Callback } from '../train/callbacks.js';
import type { Trial } from '../tune/trial.js';
import type { ParamValue } from '../tune/types.js';

type Template = unknown;

const PLACEHOLDER = /\$\{([A-Za-z_][\w.-]*)\}/g;

/** Every `${name}` in a template, with the dotted path of the field that holds it. */
export function templatePlaceholders(t: Template, path = ''): { name: string; path: string }[] {
  if (typeof t === 'string') return [...t.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1], path }));
  if (Array.isArray(t)) return t.flatMap((v, i) => templatePlaceholders(v, path ? `${path}.${i}` : String(i)));
  if (t && typeof t === 'object')
    return Object.entries(t).flatMap(([k, v]) => templatePlaceholders(v, path ? `${path}.${k}` : k));
  return [];
}

/**
 * The template with placeholders filled: a string that is exactly `${name}` becomes the value itself (a number
 * stays a number); a placeholder inside a longer string is interpolated.
 */
export function fillTemplate(t: Template, values: Readonly<Record<string, ParamValue>>): Template {
  if (typeof t === 'string') {
    const whole = /^\$\{([A-Za-z_][\w.-]*)\}$/.exec(t);
    if (whole) return lookup(values, whole[1]);
    return t.replace(PLACEHOLDER, (_, name: string) => String(lookup(values, name)));
  }
  if (Array.isArray(t)) return t.map((v) => fillTemplate(v, values));
  if (t && typeof t === 'object')
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, fillTemplate(v, values)]));
  return t;
}

function lookup(values: Readonly<Record<string, ParamValue>>, name: string): ParamValue {
  if (!(name in values))
    throw new TuneConfigError(
      `objective.train: placeholder \${${name}} has no value in this trial (a conditional parameter that was not suggested?)`,
    );
  return values[name];
}

/** Names a template may use besides the search space's parameters. */
const BUILTINS = ['trial', 'study'];

/** The training template a spec names (inline, or a YAML/JSON file relative to the tune config). */
export function loadTrainTemplate(spec: TrainObjectiveSpec, configDir: string): Template {
  if (typeof spec.train !== 'string') return spec.train;
  const path = isAbsolute(spec.train) ? spec.train : resolve(configDir, spec.train);
  try {
    return YAML.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TuneConfigError(`objective.train: cannot read training config '${path}': ${(err as Error).message}`);
  }
}

/** The filled template for a set of values, run directory defaulted to `runs/<study>/<dir>`. */
function trialConfig(
  template: Template,
  values: Readonly<Record<string, ParamValue>>,
  study: string,
  dir = `trial-${values.trial}`,
): Record<string, unknown> {
  const cfg = fillTemplate(template, values) as Record<string, unknown>;
  return { ...cfg, output: cfg.output ?? join('runs', study, dir) };
}

/**
 * Checks a training objective before any trial runs: every placeholder names a parameter of the space (or
 * `trial`/`study`), and the template filled with each parameter's first value is a valid training config.
 */
async function checkTrainObjective(
  cfg: TuneConfig,
  spec: TrainObjectiveSpec,
  space: Readonly<Record<string, SpaceEntry>>,
): Promise<Template> {
  const template = loadTrainTemplate(spec, cfg.configDir);
  if (!template || typeof template !== 'object' || Array.isArray(template))
    throw new TuneConfigError('objective.train: must be a training config (a mapping) or the path of one');
  for (const p of templatePlaceholders(template)) {
    if (!(p.name in space) && !BUILTINS.includes(p.name)) {
      throw new TuneConfigError(
        `objective.train.${p.path}: placeholder \${${p.name}} is not a parameter of space (have: ${[...Object.keys(space), ...BUILTINS].join(', ')})`,
      );
    }
  }
  const sample: Record<string, ParamValue> = { trial: 0, study: cfg.study };
  for (const [k, e] of Object.entries(space)) {
    const d = e.distribution;
    sample[k] = d.type === 'categorical' ? d.choices[0] : d.low;
  }
  const { parseTrainConfig } = await import('../train/config.js');
  const { getModel } = await import('../models/index.js');
  let train: ReturnType<typeof parseTrainConfig>;
  try {
    train = parseTrainConfig(trialConfig(template, sample, cfg.study), 'objective.train');
  } catch (err) {
    throw new TuneConfigError((err as Error).message.replace(/^objective\.train: /gm, 'objective.train.'));
  }
  let model: ReturnType<typeof getModel>;
  try {
    model = getModel(train.model.name);
  } catch (err) {
    throw new TuneConfigError(`objective.train.model.name: ${(err as Error).message}`);
  }
  const options = model.options.safeParse(train.model.options);
  if (!options.success)
    throw new TuneConfigError(
      options.error.issues
        .map((i) => `objective.train.model.options${i.path.map((k) => `.${String(k)}`).join('')}: ${i.message}`)
        .join('\n'),
    );
  return template;
}

/**
 * The objective of a training config: fills the template, trains with the pruning reporter as a Trainer callback,
 * and returns the last (or, with `value: best`, the best) reported value of `monitor`. Test accuracy, run directory
 * and epochs go into the trial's user attributes.
 */
function trainObjective(
  cfg: TuneConfig,
  spec: TrainObjectiveSpec,
  template: Template,
  direction: 'minimize' | 'maximize',
): ConfigObjective {
  return async (
    trial: Trial,
    params: Readonly<Record<string, ParamValue>>,
    ctx?: ObjectiveContext,
  ): Promise<number> => {
    const { runTraining } = await import('../train/run.js');
    const { parseTrainConfig } = await import('../train/config.js');
    const train = parseTrainConfig(
      trialConfig(template, { ...params, trial: trial.number, study: cfg.study }, cfg.study),
      `trial ${trial.number} training config`,
    );
    const rep = pruningReporter(trial, { monitor: spec.monitor, finalStep: train.trainer.epochs });
    let best = direction === 'maximize' ? -Infinity : Infinity;
    const track = {
      name: 'TuneObjective',
      onEpochEnd(_t: unknown, logs: { readonly metrics: Readonly<Record<string, number>> }) {
        const v = logs.metrics[spec.monitor];
        if (typeof v === 'number') best = direction === 'maximize' ? Math.max(best, v) : Math.min(best, v);
      },
    };
    const r = await runTraining(train, {
      quiet: true,
      callbacks: [...((ctx?.callbacks ?? []) as Callback[]), track, rep],
    });
    trial.setUserAttr('run_dir', r.runDir);
    trial.setUserAttr('epochs', r.epochs);
    trial.setUserAttr('train_seconds', r.seconds);
    if (r.testAccuracy !== undefined) trial.setUserAttr('test_accuracy', r.testAccuracy);
    trial.setUserAttr('test_loss', r.testLoss);
    const value = spec.value === 'best' ? best : rep.lastValue;
    if (value === undefined || !Number.isFinite(value))
      throw new Error(
        `objective: metric '${spec.monitor}' was never reported (is it a validation metric of this run?)`,
      );
    return value;
  };
}

/** What `lathe tune` passes the tuner (`WorkerOptions.trainObjective`): checks the spec, then builds the objective. */
export const loadTrainObjective: TrainObjectiveLoader = async (cfg, spec, space, direction) =>
  trainObjective(cfg, spec, await checkTrainObjective(cfg, spec, space), direction);

/** The training config of a finished trial (for `--export-best`): the template filled with its parameters. */
export function exportTrainConfig(
  cfg: TuneConfig,
  template: Template,
  params: Readonly<Record<string, ParamValue>>,
  trialNumber: number,
): Record<string, unknown> {
  return trialConfig(template, { ...params, trial: trialNumber, study: cfg.study }, cfg.study, 'best');
}
