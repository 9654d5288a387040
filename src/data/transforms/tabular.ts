// Tabular preprocessing fitted on training data and applied unchanged to new data: standardise, one-hot, impute,
// and a pipeline of them. `step.fit(train)` returns a fitted step whose statistics are plain JSON (`toJSON`), so a
// served model applies exactly the training-time transformation (`fittedFromJSON`).
//
//   const prep = tablePipeline([impute({ strategy: 'median' }), oneHot({ columns: ['city'] }), standardize()]).fit(train);
//   writeFileSync('prep.json', JSON.stringify(prep));  ...  fittedFromJSON(JSON.parse(text)).transform(test)
import type { Column, Table } from '../readers/csv.js';
import type { NDArray } from '../../graph/ndarray.js';

/** A step before fitting: a factory's result (`standardize()`), fitted on a training table. */
export interface TableStep {
  readonly kind: string;
  /**
   * Computes this step's statistics on a training table and returns the fitted step; throws on a missing or wrongly
   * typed column.
   */
  fit(table: Table): FittedTableStep;
}

/** A fitted step: a pure function of its JSON statistics. */
export interface FittedTableStep {
  readonly kind: string;
  /** Applies the fitted statistics to a table (training or new data) and returns a new table. */
  transform(table: Table): Table;
  /** The fitted statistics as plain JSON, which {@link fittedFromJSON} rebuilds. */
  toJSON(): FittedJson;
}

/**
 * The JSON form of a fitted tabular step (standardize, impute, oneHot, or a pipeline of them), as `toJSON` writes it.
 */
export type FittedJson =
  | {
      readonly kind: 'standardize';
      readonly stats: Readonly<Record<string, { readonly mean: number; readonly std: number }>>;
    }
  | {
      readonly kind: 'impute';
      readonly strategy: TableImputeStrategy;
      readonly fills: Readonly<Record<string, number | string>>;
    }
  | {
      readonly kind: 'oneHot';
      readonly handleUnknown: 'ignore' | 'error';
      readonly categories: Readonly<Record<string, readonly string[]>>;
    }
  | { readonly kind: 'pipeline'; readonly version: 1; readonly steps: readonly FittedJson[] };

function column(step: string, t: Table, name: string): Column {
  const c = t.columns[name];
  if (!c) throw new Error(`${step}: no column "${name}" (columns: ${t.names.join(', ')})`);
  return c;
}
const numericNames = (t: Table): string[] => t.names.filter((n) => t.columns[n].type !== 'string');
const present = (v: Float64Array): number[] => Array.from(v).filter((x) => !Number.isNaN(x));
const withColumns = (t: Table, names: readonly string[], columns: Record<string, Column>): Table => ({
  rows: t.rows,
  names,
  columns,
});

// ---- standardize -------------------------------------------------------------------------------------------------

/** Options of {@link standardize}: the numeric columns scaled to zero mean and unit variance. */
export interface StandardizeOptions {
  /** Numeric columns to scale (default: every numeric column of the training table). */
  readonly columns?: readonly string[];
}

/** (x − mean) / std per column, with the training mean and population std (std 0 → 1); NaN stays NaN. */
export function standardize(options: StandardizeOptions = {}): TableStep {
  return {
    kind: 'standardize',
    fit(t) {
      const stats: Record<string, { mean: number; std: number }> = {};
      for (const name of options.columns ?? numericNames(t)) {
        const c = column('standardize', t, name);
        if (c.type === 'string') throw new Error(`standardize: column "${name}" holds strings`);
        const xs = present(c.values);
        if (xs.length === 0) throw new Error(`standardize: column "${name}" has no values to fit`);
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
        stats[name] = { mean, std: std > 0 ? std : 1 };
      }
      return fittedStandardize(stats);
    },
  };
}

function fittedStandardize(
  stats: Readonly<Record<string, { readonly mean: number; readonly std: number }>>,
): FittedTableStep {
  return {
    kind: 'standardize',
    transform(t) {
      const columns = { ...t.columns };
      for (const [name, { mean, std }] of Object.entries(stats)) {
        const c = column('standardize', t, name);
        if (c.type === 'string') throw new Error(`standardize: column "${name}" holds strings`);
        columns[name] = { type: 'number', values: c.values.map((v) => (v - mean) / std) };
      }
      return withColumns(t, t.names, columns);
    },
    toJSON: () => ({ kind: 'standardize', stats }),
  };
}

// ---- impute ------------------------------------------------------------------------------------------------------

/** How {@link impute} fills missing values: the training column's mean, median, most frequent value, or a constant. */
export type TableImputeStrategy = 'mean' | 'median' | 'mostFrequent' | 'constant';

/** Options of {@link impute}: the fill strategy, the constant for 'constant', and the columns to fill. */
export interface ImputeOptions {
  /** Default 'mean'; string columns use 'mostFrequent' unless the strategy is 'constant'. */
  readonly strategy?: TableImputeStrategy;
  /** The value for 'constant' (default 0 for numeric columns, 'missing' for string columns). */
  readonly fill?: number | string;
  /** Columns to fill (default: every column). */
  readonly columns?: readonly string[];
}

/** Most frequent value; ties go to the smallest (numbers) or first in code-unit order (strings), for determinism. */
function mostFrequent<T extends number | string>(xs: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best: T | undefined;
  let n = 0;
  for (const [x, c] of counts) if (c > n || (c === n && best !== undefined && x < best)) [best, n] = [x, c];
  return best;
}

/** Replaces missing values (NaN, null) with a statistic of the training column. */
export function impute(options: ImputeOptions = {}): TableStep {
  const strategy = options.strategy ?? 'mean';
  return {
    kind: 'impute',
    fit(t) {
      const fills: Record<string, number | string> = {};
      for (const name of options.columns ?? t.names) {
        const c = column('impute', t, name);
        let fill: number | string | undefined;
        if (strategy === 'constant') {
          const v = options.fill ?? (c.type === 'string' ? 'missing' : 0);
          if (c.type !== 'string' && typeof v !== 'number')
            throw new Error(`impute: column "${name}" holds numbers; fill ${JSON.stringify(v)} is not a number`);
          fill = c.type === 'string' ? String(v) : v;
        } else if (c.type === 'string') fill = mostFrequent(c.values.filter((v): v is string => v !== null));
        else {
          const xs = present(c.values).sort((a, b) => a - b);
          if (strategy === 'mean') fill = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
          else if (strategy === 'median')
            fill = xs.length
              ? xs.length % 2
                ? xs[(xs.length - 1) / 2]
                : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2
              : undefined;
          else fill = mostFrequent(xs);
        }
        if (fill === undefined) throw new Error(`impute: column "${name}" has no values to fit`);
        fills[name] = fill;
      }
      return fittedImpute(strategy, fills);
    },
  };
}

function fittedImpute(
  strategy: TableImputeStrategy,
  fills: Readonly<Record<string, number | string>>,
): FittedTableStep {
  return {
    kind: 'impute',
    transform(t) {
      const columns = { ...t.columns };
      for (const [name, fill] of Object.entries(fills)) {
        const c = column('impute', t, name);
        if (c.type === 'string') {
          if (typeof fill !== 'string')
            throw new Error(`impute: column "${name}" holds strings but was fitted on numbers`);
          columns[name] = { type: 'string', values: c.values.map((v) => v ?? fill) };
        } else {
          if (typeof fill !== 'number')
            throw new Error(`impute: column "${name}" holds numbers but was fitted on strings`);
          columns[name] = { type: c.type, values: c.values.map((v) => (Number.isNaN(v) ? fill : v)) };
        }
      }
      return withColumns(t, t.names, columns);
    },
    toJSON: () => ({ kind: 'impute', strategy, fills }),
  };
}

// ---- one-hot -----------------------------------------------------------------------------------------------------

/** Options of {@link oneHot}: the columns to encode and what a category unseen in training becomes. */
export interface OneHotOptions {
  /** Columns to encode (default: every string column). Numbers are encoded by their decimal text. */
  readonly columns?: readonly string[];
  /** A category not seen in training: all zeros ('ignore', default) or an error naming it ('error'). */
  readonly handleUnknown?: 'ignore' | 'error';
}

/** Replaces each column by one 0/1 column per training category, named `column=category`, in sorted order. */
export function oneHot(options: OneHotOptions = {}): TableStep {
  return {
    kind: 'oneHot',
    fit(t) {
      const categories: Record<string, string[]> = {};
      for (const name of options.columns ?? t.names.filter((n) => t.columns[n].type === 'string')) {
        const seen = new Set(labels(column('oneHot', t, name)).filter((v): v is string => v !== null));
        categories[name] = [...seen].sort();
      }
      return fittedOneHot(options.handleUnknown ?? 'ignore', categories);
    },
  };
}

const labels = (c: Column): (string | null)[] =>
  c.type === 'string' ? [...c.values] : Array.from(c.values, (v) => (Number.isNaN(v) ? null : String(v)));

function fittedOneHot(
  handleUnknown: 'ignore' | 'error',
  categories: Readonly<Record<string, readonly string[]>>,
): FittedTableStep {
  return {
    kind: 'oneHot',
    transform(t) {
      for (const name of Object.keys(categories)) column('oneHot', t, name);
      const columns: Record<string, Column> = { ...t.columns };
      const names: string[] = [];
      for (const name of t.names) {
        const cats = categories[name];
        if (!cats) {
          names.push(name);
          continue;
        }
        delete columns[name];
        const values = labels(column('oneHot', t, name));
        const index = new Map(cats.map((c, i) => [c, i]));
        const out = cats.map(() => new Float64Array(t.rows));
        values.forEach((v, r) => {
          if (v === null) return;
          const k = index.get(v);
          if (k !== undefined) out[k][r] = 1;
          else if (handleUnknown === 'error')
            throw new Error(`oneHot: column "${name}" row ${r}: category "${v}" was not seen in training`);
        });
        cats.forEach((c, i) => {
          names.push(`${name}=${c}`);
          columns[`${name}=${c}`] = { type: 'number', values: out[i] };
        });
      }
      return withColumns(t, names, columns);
    },
    toJSON: () => ({ kind: 'oneHot', handleUnknown, categories }),
  };
}

// ---- pipeline and JSON -------------------------------------------------------------------------------------------

/** Steps fitted in order, each on the output of the previous ones. */
export function tablePipeline(steps: readonly TableStep[]): TableStep {
  return {
    kind: 'pipeline',
    fit(t) {
      const fitted: FittedTableStep[] = [];
      let cur = t;
      for (const s of steps) {
        const f = s.fit(cur);
        fitted.push(f);
        cur = f.transform(cur);
      }
      return fittedPipeline(fitted);
    },
  };
}

function fittedPipeline(steps: readonly FittedTableStep[]): FittedTableStep {
  return {
    kind: 'pipeline',
    transform: (t) => steps.reduce((cur, s) => s.transform(cur), t),
    toJSON: () => ({ kind: 'pipeline', version: 1, steps: steps.map((s) => s.toJSON()) }),
  };
}

/** Rebuilds a fitted step or pipeline from its `toJSON()` (errors name what is malformed). */
export function fittedFromJSON(json: unknown): FittedTableStep {
  const j = json as { kind?: unknown } | null;
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new Error(`fittedFromJSON: ${what} must be an object`);
    return v as Record<string, unknown>;
  };
  switch (j?.kind) {
    case 'standardize': {
      const stats = obj((j as { stats?: unknown }).stats, 'standardize.stats') as Record<
        string,
        { mean: number; std: number }
      >;
      for (const [k, s] of Object.entries(stats))
        if (typeof s?.mean !== 'number' || !(s.std > 0))
          throw new Error(`fittedFromJSON: standardize.stats["${k}"] needs a mean and a std > 0`);
      return fittedStandardize(stats);
    }
    case 'impute': {
      const { strategy, fills } = j as { strategy?: unknown; fills?: unknown };
      if (strategy !== 'mean' && strategy !== 'median' && strategy !== 'mostFrequent' && strategy !== 'constant')
        throw new Error(`fittedFromJSON: impute.strategy "${String(strategy)}" is unknown`);
      return fittedImpute(strategy, obj(fills, 'impute.fills') as Record<string, number | string>);
    }
    case 'oneHot': {
      const { handleUnknown, categories } = j as { handleUnknown?: unknown; categories?: unknown };
      if (handleUnknown !== 'ignore' && handleUnknown !== 'error')
        throw new Error(`fittedFromJSON: oneHot.handleUnknown "${String(handleUnknown)}" is unknown`);
      return fittedOneHot(handleUnknown, obj(categories, 'oneHot.categories') as Record<string, string[]>);
    }
    case 'pipeline': {
      const { version, steps } = j as { version?: unknown; steps?: unknown };
      if (version !== 1 || !Array.isArray(steps))
        throw new Error('fittedFromJSON: pipeline needs version 1 and steps[]');
      return fittedPipeline(steps.map(fittedFromJSON));
    }
    default:
      throw new Error(`fittedFromJSON: unknown kind "${String(j?.kind)}" (standardize, impute, oneHot, pipeline)`);
  }
}

/** Numeric columns as float32 [rows, columns] (string columns are an error: one-hot them first). */
export function tableToArray(t: Table, columns: readonly string[] = t.names): NDArray<'float32'> {
  const data = new Float32Array(t.rows * columns.length);
  columns.forEach((name, j) => {
    const c = column('tableToArray', t, name);
    if (c.type === 'string') throw new Error(`tableToArray: column "${name}" holds strings (one-hot it first)`);
    for (let r = 0; r < t.rows; r++) data[r * columns.length + j] = c.values[r];
  });
  return { dtype: 'float32', shape: [t.rows, columns.length], data };
}
