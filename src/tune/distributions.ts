// Parameter distributions: what a search space is made of. Values travel in two forms: external (what the
// objective sees: a float, an int, a category) and internal (a number: the value itself, or a category's index).
import { SearchSpaceError } from './errors.js';
import type { CategoricalChoice, ParamValue } from './types.js';

/** A float parameter in [low, high], sampled uniformly or log-uniformly, optionally on a grid of `step`. */
export interface FloatDistribution {
  readonly type: 'float';
  readonly low: number;
  readonly high: number;
  /** Sample log-uniformly (low must be > 0). */
  readonly log: boolean;
  /** Discretization step (not with log); high is lowered to the last point of the grid. */
  readonly step: number | null;
}

/** An integer parameter in [low, high] on a grid of `step`, sampled uniformly or log-uniformly. */
export interface IntDistribution {
  readonly type: 'int';
  readonly low: number;
  readonly high: number;
  readonly log: boolean;
  /** Grid step (1 unless given; must be 1 with log). */
  readonly step: number;
}

/** A categorical parameter: one of `choices` (stored internally as its index). */
export interface CategoricalDistribution {
  readonly type: 'categorical';
  readonly choices: readonly CategoricalChoice[];
}

/** What a parameter is sampled from: a float, int or categorical distribution. */
export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;

const bad = (name: string, msg: string): never => {
  throw new SearchSpaceError(`parameter '${name}': ${msg}`);
};

/** A validated float distribution; errors name the parameter. */
export function floatDistribution(
  name: string,
  low: number,
  high: number,
  opts: { log?: boolean; step?: number | null } = {},
): FloatDistribution {
  const log = opts.log ?? false;
  const step = opts.step ?? null;
  if (typeof low !== 'number' || !Number.isFinite(low)) bad(name, `low must be a finite number, got ${String(low)}`);
  if (typeof high !== 'number' || !Number.isFinite(high))
    bad(name, `high must be a finite number, got ${String(high)}`);
  if (low > high) bad(name, `low (${low}) must be <= high (${high})`);
  if (log && low <= 0) bad(name, `log scale needs low > 0, got ${low}`);
  if (log && step !== null) bad(name, 'step cannot be combined with log');
  if (step !== null && !(step > 0)) bad(name, `step must be > 0, got ${step}`);
  const top = step !== null ? low + Math.floor((high - low) / step + 1e-9) * step : high;
  return { type: 'float', low, high: step !== null ? round12(top) : high, log, step };
}

/** A validated int distribution; errors name the parameter. */
export function intDistribution(
  name: string,
  low: number,
  high: number,
  opts: { log?: boolean; step?: number } = {},
): IntDistribution {
  const log = opts.log ?? false;
  const step = opts.step ?? 1;
  if (!Number.isInteger(low)) bad(name, `low must be an integer, got ${String(low)}`);
  if (!Number.isInteger(high)) bad(name, `high must be an integer, got ${String(high)}`);
  if (low > high) bad(name, `low (${low}) must be <= high (${high})`);
  if (!Number.isInteger(step) || step < 1) bad(name, `step must be a positive integer, got ${step}`);
  if (log && low < 1) bad(name, `log scale needs low >= 1, got ${low}`);
  if (log && step !== 1) bad(name, 'step must be 1 with log');
  return { type: 'int', low, high: low + Math.floor((high - low) / step) * step, log, step };
}

/** A validated categorical distribution; errors name the parameter. */
export function categoricalDistribution(name: string, choices: readonly CategoricalChoice[]): CategoricalDistribution {
  if (!Array.isArray(choices) || choices.length === 0) bad(name, 'choices must be a non-empty list');
  for (const c of choices) {
    if (!(c === null || ['string', 'number', 'boolean'].includes(typeof c)))
      bad(name, `choices must be strings, numbers, booleans or null, got ${JSON.stringify(c)}`);
  }
  if (new Set(choices.map((c) => JSON.stringify(c))).size !== choices.length) bad(name, 'choices must be distinct');
  return { type: 'categorical', choices: [...choices] };
}

/** Checks a distribution read from JSON/YAML or built by hand (same errors as the constructors). */
export function validateDistribution(name: string, d: Distribution): Distribution {
  switch (d?.type) {
    case 'float':
      return floatDistribution(name, d.low, d.high, { log: d.log, step: d.step });
    case 'int':
      return intDistribution(name, d.low, d.high, { log: d.log, step: d.step });
    case 'categorical':
      return categoricalDistribution(name, d.choices);
    default:
      return bad(name, `unknown distribution type ${JSON.stringify((d as { type?: unknown })?.type)}`);
  }
}

const round12 = (x: number): number => Math.round(x * 1e12) / 1e12;

/** Internal number -> the value the objective sees. */
export function toExternal(d: Distribution, internal: number): ParamValue {
  if (d.type === 'categorical') return d.choices[internal];
  if (d.type === 'int') return Math.round(internal);
  return internal;
}

/** Objective value -> internal number (a categorical's index); throws if the value is not in the distribution. */
export function toInternal(name: string, d: Distribution, value: ParamValue): number {
  if (d.type === 'categorical') {
    const i = d.choices.indexOf(value);
    if (i < 0) bad(name, `${JSON.stringify(value)} is not one of ${JSON.stringify(d.choices)}`);
    return i;
  }
  if (typeof value !== 'number' || !contains(d, value))
    bad(name, `${JSON.stringify(value)} is outside [${d.low}, ${d.high}]`);
  return value as number;
}

/** Whether an internal value lies in the distribution (and on its grid). */
export function contains(d: Distribution, internal: number): boolean {
  if (!Number.isFinite(internal)) return false;
  if (d.type === 'categorical') return Number.isInteger(internal) && internal >= 0 && internal < d.choices.length;
  if (internal < d.low - 1e-12 || internal > d.high + 1e-12) return false;
  if (d.type === 'int') return Number.isInteger(internal) && (internal - d.low) % d.step === 0;
  if (d.step !== null) {
    const k = (internal - d.low) / d.step;
    return Math.abs(k - Math.round(k)) < 1e-8;
  }
  return true;
}

/** Whether the distribution has a single possible value. */
export function isSingle(d: Distribution): boolean {
  return d.type === 'categorical' ? d.choices.length === 1 : d.low === d.high;
}

/** A canonical string for equality checks (same type, bounds, scale, step, choices). */
export function distributionKey(d: Distribution): string {
  return d.type === 'categorical'
    ? `c:${JSON.stringify(d.choices)}`
    : `${d.type}:${d.low}:${d.high}:${d.log ? 1 : 0}:${d.step ?? ''}`;
}

/** Snaps a continuous internal value onto the distribution (clip to bounds, round to the step / integer). */
export function snap(d: FloatDistribution | IntDistribution, x: number): number {
  let v = Math.min(d.high, Math.max(d.low, x));
  if (d.type === 'int') {
    v = d.low + Math.round((v - d.low) / d.step) * d.step;
    return Math.min(d.high, Math.max(d.low, v));
  }
  if (d.step !== null) v = round12(Math.min(d.high, d.low + Math.round((v - d.low) / d.step) * d.step));
  return v;
}

/**
 * Numeric distributions mapped to the unit interval (log scale for log distributions; discrete ones get half a
 * step of margin at each end so every grid point owns an equal share). Used by CMA-ES, QMC and evolution.
 */
export function toUnit(d: FloatDistribution | IntDistribution, x: number): number {
  const [lo, hi] = unitBounds(d);
  const t = d.log ? Math.log(x) : x;
  return hi === lo ? 0.5 : (t - lo) / (hi - lo);
}

export function fromUnit(d: FloatDistribution | IntDistribution, u: number): number {
  const [lo, hi] = unitBounds(d);
  const t = lo + Math.min(1, Math.max(0, u)) * (hi - lo);
  return snap(d, d.log ? Math.exp(t) : t);
}

/** The continuous interval the distribution is modeled on: log-transformed when log, widened by step/2 when discrete. */
function unitBounds(d: FloatDistribution | IntDistribution): [number, number] {
  const half = d.type === 'int' ? d.step / 2 : d.step !== null ? d.step / 2 : 0;
  if (d.log) return [Math.log(d.low - (d.type === 'int' ? 0.5 : 0)), Math.log(d.high + (d.type === 'int' ? 0.5 : 0))];
  return [d.low - half, d.high + half];
}
