// (CLI wiring: the tuner knows no trainer; `lathe tune` hands it this loader, composing tune with train and models.)
// A tune objective that is a training config: `objective: { train: <config or file>, monitor: val_accuracy }` in a
// `lathe tune` config. The training config holds `${param}` placeholders (`lr: ${lr}`, `output: runs/x/${trial}`);
// each trial fills them with its parameters, trains through the Trainer (`runTraining`) with the pruning reporter
// as a callback — one report per epoch, TrialPruned stops the run — and returns the monitored metric.
// `variants` lets a categorical parameter choose among partial configs (architectures: what `lathe design --tune`
// writes), and `latency` adds the trained model's inference latency as a second, minimised objective.
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

const isMapping = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** `over` merged into `base`: mappings recursively, anything else (arrays included) replaced. */
function deepMerge(base: Template, over: Template): Template {
  if (!isMapping(base) || !isMapping(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

type Variants = TrainObjectiveSpec['variants'];

/** The template with the variant the values choose merged in (the template itself without variants). */
function withVariant(template: Template, variants: Variants, values: Readonly<Record<string, ParamValue>>): Template {
  if (!variants) return template;
  const key = String(values[variants.by]);
  const v = variants.configs[key];
  if (!v)
    throw new TuneConfigError(
      `objective.variants.configs: no config for ${variants.by} = ${key} (have: ${Object.keys(variants.configs).join(', ')})`,
    );
  return deepMerge(template, v);
}

/** The filled template for a set of values, run directory defaulted to `runs/<study>/<dir>`. */
function trialConfig(
  template: Template,
  values: Readonly<Record<string, ParamValue>>,
  study: string,
  dir = `trial-${values.trial}`,
  variants?: Variants,
): Record<string, unknown> {
  const cfg = fillTemplate(withVariant(template, variants, values), values) as Record<string, unknown>;
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
  if (!isMapping(template))
    throw new TuneConfigError('objective.train: must be a training config (a mapping) or the path of one');
  const v = spec.variants;
  const holders = [
    ...templatePlaceholders(template).map((p) => ({ ...p, path: `train.${p.path}` })),
    ...Object.entries(v?.configs ?? {}).flatMap(([k, c]) =>
      templatePlaceholders(c).map((p) => ({ ...p, path: `variants.configs.${k}.${p.path}` })),
    ),
  ];
  for (const p of holders) {
    if (!(p.name in space) && !BUILTINS.includes(p.name)) {
      throw new TuneConfigError(
        `objective.${p.path}: placeholder \${${p.name}} is not a parameter of space (have: ${[...Object.keys(space), ...BUILTINS].join(', ')})`,
      );
    }
  }
  if (v) {
    const by = space[v.by]?.distribution;
    if (by?.type !== 'categorical')
      throw new TuneConfigError(`objective.variants.by: '${v.by}' must be a categorical parameter of space`);
    const missing = by.choices.filter((c) => !(String(c) in v.configs));
    if (missing.length)
      throw new TuneConfigError(
        `objective.variants.configs: no config for ${v.by} = ${missing.join(', ')} (have: ${Object.keys(v.configs).join(', ')})`,
      );
  }
  const sample: Record<string, ParamValue> = { trial: 0, study: cfg.study };
  for (const [k, e] of Object.entries(space)) {
    const d = e.distribution;
    sample[k] = d.type === 'categorical' ? d.choices[0] : d.low;
  }
  const { parseTrainConfig } = await import('../train/config.js');
  const { getModel } = await import('../models/index.js');
  // each variant (or the template alone) filled with every parameter's first value must be a valid training config
  for (const key of v ? Object.keys(v.configs) : [undefined]) {
    const where = key === undefined ? 'objective.train' : `objective.variants.configs.${key}`;
    const values = v && key !== undefined ? { ...sample, [v.by]: key } : sample;
    let train: ReturnType<typeof parseTrainConfig>;
    try {
      train = parseTrainConfig(trialConfig(template, values, cfg.study, undefined, v), where);
    } catch (err) {
      throw new TuneConfigError((err as Error).message.replace(new RegExp(`^${where}: `, 'gm'), `${where}.`));
    }
    let model: ReturnType<typeof getModel>;
    try {
      model = getModel(train.model.name);
    } catch (err) {
      throw new TuneConfigError(`${where}.model.name: ${(err as Error).message}`);
    }
    const options = model.options.safeParse(train.model.options);
    if (!options.success)
      throw new TuneConfigError(
        options.error.issues
          .map((i) => `${where}.model.options${i.path.map((k) => `.${String(k)}`).join('')}: ${i.message}`)
          .join('\n'),
      );
  }
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
  ): Promise<number | number[]> => {
    const { runTraining } = await import('../train/run.js');
    const { parseTrainConfig } = await import('../train/config.js');
    const train = parseTrainConfig(
      trialConfig(template, { ...params, trial: trial.number, study: cfg.study }, cfg.study, undefined, spec.variants),
      `trial ${trial.number} training config`,
    );
    // several objectives cannot be pruned (Trial.report refuses): the metric is then only watched
    const rep = spec.latency
      ? undefined
      : pruningReporter(trial, { monitor: spec.monitor, finalStep: train.trainer.epochs });
    let last: number | undefined;
    let best = direction === 'maximize' ? -Infinity : Infinity;
    const track = {
      name: 'TuneObjective',
      onEpochEnd(_t: unknown, logs: { readonly metrics: Readonly<Record<string, number>> }) {
        const v = logs.metrics[spec.monitor];
        if (typeof v !== 'number') return;
        last = v;
        best = direction === 'maximize' ? Math.max(best, v) : Math.min(best, v);
      },
    };
    const r = await runTraining(train, {
      quiet: true,
      callbacks: [...((ctx?.callbacks ?? []) as Callback[]), track, ...(rep ? [rep] : [])],
    });
    trial.setUserAttr('run_dir', r.runDir);
    trial.setUserAttr('epochs', r.epochs);
    trial.setUserAttr('train_seconds', r.seconds);
    if (r.testAccuracy !== undefined) trial.setUserAttr('test_accuracy', r.testAccuracy);
    trial.setUserAttr('test_loss', r.testLoss);
    const value = spec.value === 'best' ? best : last;
    if (value === undefined || !Number.isFinite(value))
      throw new Error(
        `objective: metric '${spec.monitor}' was never reported (is it a validation metric of this run?)`,
      );
    if (!spec.latency) return value;
    const { onnxLatencyMs } = await import('../advise/latency.js');
    const ms = await onnxLatencyMs(r.onnxPath, undefined, {
      batch: spec.latency.batch,
      threads: spec.latency.threads,
      runs: spec.latency.runs,
      vocab: vocabOf(train.model.options),
    });
    trial.setUserAttr('latency_ms', ms);
    return [value, ms];
  };
}

/** Token ids in a synthetic latency batch stay below the model's vocabulary when its options name one. */
function vocabOf(options: unknown): number | undefined {
  const v = isMapping(options) ? options.vocab : undefined;
  return typeof v === 'number' ? v : undefined;
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
  const variants = typeof cfg.objective === 'string' ? undefined : cfg.objective.variants;
  return trialConfig(template, { ...params, trial: trialNumber, study: cfg.study }, cfg.study, 'best', variants);
}
