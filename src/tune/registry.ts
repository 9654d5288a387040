// Samplers and pruners by name, so configs and code reach the same objects. Options in configs are snake_case
// (n_startup_trials) and checked strictly: an unknown option is an error naming it.
import { z } from 'zod';
import { formatZodIssues, TuneConfigError } from './config.js';
import type { Distribution } from './distributions.js';
import { hyperbandPruner } from './pruners/hyperband.js';
import { percentilePruner, medianPruner } from './pruners/percentile.js';
import { nopPruner, type Pruner } from './pruners/pruner.js';
import { successiveHalvingPruner } from './pruners/successive-halving.js';
import { bohbSampler } from './samplers/bohb.js';
import { cmaEsSampler } from './samplers/cmaes.js';
import { evolutionSampler } from './samplers/evolution.js';
import { gridSampler } from './samplers/grid.js';
import { nsga2Sampler } from './samplers/nsga2.js';
import { randomSampler } from './samplers/random.js';
import type { Sampler } from './samplers/sampler.js';
import { sobolSampler } from './samplers/sobol.js';
import { tpeSampler } from './samplers/tpe.js';
import type { CategoricalChoice } from './types.js';

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const seed = z.number().int().nonnegative().optional();
const pos = z.number().positive().optional();
const posInt = z.number().int().positive().optional();

const samplerOptions = {
  random: z.object({ seed }).strict(),
  tpe: z
    .object({
      seed,
      n_startup_trials: z.number().int().nonnegative().optional(),
      n_ei_candidates: posInt,
      prior_weight: pos,
      consider_magic_clip: z.boolean().optional(),
      consider_endpoints: z.boolean().optional(),
      bandwidth_weighted: z.boolean().optional(),
      multivariate: z.boolean().optional(),
      group: z.boolean().optional(),
      constant_liar: z.boolean().optional(),
    })
    .strict(),
  cmaes: z.object({ seed, sigma0: pos, popsize: z.number().int().min(2).optional() }).strict(),
  nsga2: z
    .object({
      seed,
      population_size: z.number().int().min(2).optional(),
      mutation_prob: z.number().min(0).max(1).optional(),
      crossover_prob: z.number().min(0).max(1).optional(),
      swapping_prob: z.number().min(0).max(1).optional(),
    })
    .strict(),
  sobol: z.object({ seed, scramble: z.boolean().optional() }).strict(),
  grid: z
    .object({
      seed,
      grid: z.record(z.string(), z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).min(1)).optional(),
    })
    .strict(),
  evolution: z
    .object({ seed, population_size: z.number().int().min(2).optional(), sample_size: posInt, mutations: posInt })
    .strict(),
  bohb: z
    .object({
      seed,
      min_resource: pos,
      max_resource: z.union([z.number().positive(), z.literal('auto')]).optional(),
      reduction_factor: z.number().int().min(2).optional(),
      random_fraction: z.number().min(0).max(1).optional(),
      min_points_in_model: posInt,
    })
    .strict(),
} as const;

const prunerOptions = {
  none: z.object({}).strict(),
  median: z
    .object({
      n_startup_trials: z.number().int().nonnegative().optional(),
      n_warmup_steps: z.number().int().nonnegative().optional(),
      interval_steps: posInt,
      n_min_trials: posInt,
    })
    .strict(),
  percentile: z
    .object({
      percentile: z.number().min(0).max(100),
      n_startup_trials: z.number().int().nonnegative().optional(),
      n_warmup_steps: z.number().int().nonnegative().optional(),
      interval_steps: posInt,
      n_min_trials: posInt,
    })
    .strict(),
  asha: z
    .object({
      min_resource: z.union([z.number().positive(), z.literal('auto')]).optional(),
      reduction_factor: z.number().int().min(2).optional(),
      min_early_stopping_rate: z.number().int().nonnegative().optional(),
      bootstrap_count: z.number().int().nonnegative().optional(),
    })
    .strict(),
  hyperband: z
    .object({
      min_resource: pos,
      max_resource: z.union([z.number().positive(), z.literal('auto')]).optional(),
      reduction_factor: z.number().int().min(2).optional(),
      bootstrap_count: z.number().int().nonnegative().optional(),
    })
    .strict(),
} as const;

const samplerNames = Object.keys(samplerOptions) as (keyof typeof samplerOptions)[];
const prunerNames = [...Object.keys(prunerOptions), 'successive_halving'];

type Spec = string | { readonly type: string; readonly [k: string]: unknown };

function split(spec: Spec, field: string): { type: string; options: Record<string, unknown> } {
  if (typeof spec === 'string') return { type: spec, options: {} };
  const { type, ...options } = spec;
  if (typeof type !== 'string') throw new TuneConfigError(`${field}.type: must be a string`);
  return { type, options };
}

function parse<T extends z.ZodType>(schema: T, options: unknown, field: string): z.infer<T> {
  const r = schema.safeParse(options);
  if (!r.success) throw new TuneConfigError(formatZodIssues(field, r.error));
  return r.data;
}

const camelize = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));

/** A sampler from a config entry (`'tpe'` or `{ type: tpe, seed: 1, multivariate: true }`). */
export function samplerFromConfig(
  spec: Spec | undefined,
  ctx: { directions: number; space?: Readonly<Record<string, Distribution>> } = { directions: 1 },
): Sampler {
  const { type, options } = split(spec ?? (ctx.directions > 1 ? 'nsga2' : 'tpe'), 'sampler');
  if (!(type in samplerOptions))
    throw new TuneConfigError(`sampler.type: unknown sampler '${type}' (one of ${samplerNames.join(', ')})`);
  const o = camelize(
    parse(samplerOptions[type as keyof typeof samplerOptions], options, 'sampler') as Record<string, unknown>,
  );
  switch (type as keyof typeof samplerOptions) {
    case 'random':
      return randomSampler(o);
    case 'tpe':
      return tpeSampler(o);
    case 'cmaes':
      return cmaEsSampler(o);
    case 'nsga2':
      return nsga2Sampler(o);
    case 'sobol':
      return sobolSampler({ ...o, space: ctx.space });
    case 'evolution':
      return evolutionSampler(o);
    case 'bohb':
      return bohbSampler(o);
    case 'grid': {
      const grid = (o.grid as Record<string, CategoricalChoice[]> | undefined) ?? gridFromSpace(ctx.space ?? {});
      return gridSampler(grid, { seed: o.seed as number | undefined });
    }
  }
}

function gridFromSpace(space: Readonly<Record<string, Distribution>>): Record<string, CategoricalChoice[]> {
  const out: Record<string, CategoricalChoice[]> = {};
  for (const [k, d] of Object.entries(space)) {
    if (d.type === 'categorical') out[k] = [...d.choices];
    else if (d.type === 'int' && !d.log)
      out[k] = Array.from({ length: (d.high - d.low) / d.step + 1 }, (_, i) => d.low + i * d.step);
    else if (d.type === 'float' && d.step !== null)
      out[k] = Array.from(
        { length: Math.round((d.high - d.low) / d.step) + 1 },
        (_, i) => Math.round((d.low + i * d.step!) * 1e12) / 1e12,
      );
    else
      throw new TuneConfigError(
        `sampler.grid: parameter '${k}' is continuous; give sampler.grid.${k} as a list of values`,
      );
  }
  return out;
}

/** A pruner from a config entry (`'median'`, `{ type: asha, reduction_factor: 3 }`); BOHB defaults to Hyperband. */
export function prunerFromConfig(spec: Spec | undefined, samplerSpec?: Spec): Pruner {
  if (spec === undefined) {
    const s = samplerSpec === undefined ? undefined : split(samplerSpec, 'sampler');
    if (s?.type === 'bohb') {
      const { seed: _s, random_fraction: _r, min_points_in_model: _m, ...hb } = s.options;
      return prunerFromConfig({ type: 'hyperband', ...hb });
    }
    return nopPruner();
  }
  let { type, options } = split(spec, 'pruner');
  if (type === 'successive_halving') type = 'asha';
  if (!(type in prunerOptions))
    throw new TuneConfigError(`pruner.type: unknown pruner '${type}' (one of ${prunerNames.join(', ')})`);
  const o = camelize(
    parse(prunerOptions[type as keyof typeof prunerOptions], options, 'pruner') as Record<string, unknown>,
  );
  switch (type as keyof typeof prunerOptions) {
    case 'none':
      return nopPruner();
    case 'median':
      return medianPruner(o);
    case 'percentile':
      return percentilePruner(o.percentile as number, o);
    case 'asha':
      return successiveHalvingPruner(o);
    case 'hyperband':
      return hyperbandPruner(o);
  }
}
