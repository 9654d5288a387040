// Tabular preprocessing: impute, standardise and one-hot encode, with statistics fitted on the training table and
// kept as plain JSON (saved next to the model, so serving applies exactly the training-time transform).
import type { Column, Table } from '../readers/csv.js';
import type { ArrayTensor } from '../tensor.js';

export type ImputeStrategy = 'mean' | 'median' | 'mode' | 'constant';

export interface TabularSpec {
  /** Numeric columns, in output order. */
  readonly numeric?: readonly string[];
  /** Categorical columns (strings or integer codes), one-hot encoded after the numeric ones. */
  readonly categorical?: readonly string[];
  /** How missing values are filled (default 'mean' for numeric, 'mode' for categorical). */
  readonly impute?: Readonly<Record<string, ImputeStrategy>>;
  /** Fill for 'constant' imputation (default 0 / 'missing'). */
  readonly constant?: Readonly<Record<string, number | string>>;
  /** Standardise numeric columns to zero mean and unit variance (default true). */
  readonly standardize?: boolean;
}

/** Fitted statistics: everything transform needs, JSON-serializable. */
export interface TabularStats {
  readonly version: 1;
  readonly numeric: readonly { readonly name: string; readonly fill: number; readonly mean: number; readonly std: number }[];
  readonly categorical: readonly { readonly name: string; readonly fill: string; readonly categories: readonly string[] }[];
}

const present = (c: Column): (number | string)[] =>
  c.type === 'string' ? c.values.filter((v): v is string => v !== null) : Array.from(c.values).filter((v) => !Number.isNaN(v));

function column(t: Table, name: string): Column {
  const c = t.columns[name];
  if (!c) throw new Error(`tabular: no column "${name}" (columns: ${t.names.join(', ')})`);
  return c;
}

function mode(values: readonly (number | string)[]): number | string | undefined {
  const counts = new Map<string, { v: number | string; n: number }>();
  for (const v of values) {
    const e = counts.get(String(v)) ?? { v, n: 0 };
    e.n++;
    counts.set(String(v), e);
  }
  // ties: the smallest value, so fitting is deterministic
  return [...counts.values()].sort((a, b) => b.n - a.n || (String(a.v) < String(b.v) ? -1 : 1))[0]?.v;
}

/** Fits imputation fills, means/standard deviations and category lists on a (training) table. */
export function fitTabular(table: Table, spec: TabularSpec): TabularStats {
  const numeric = (spec.numeric ?? []).map((name) => {
    const c = column(table, name);
    if (c.type === 'string') throw new Error(`tabular: column "${name}" holds strings; list it under categorical`);
    const vals = present(c) as number[];
    if (vals.length === 0) throw new Error(`tabular: column "${name}" has no values to fit`);
    const strategy = spec.impute?.[name] ?? 'mean';
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sorted = [...vals].sort((a, b) => a - b);
    const fill =
      strategy === 'mean' ? mean
      : strategy === 'median' ? (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2
      : strategy === 'mode' ? (mode(vals) as number)
      : Number(spec.constant?.[name] ?? 0);
    // statistics of the imputed column, as the model will see it
    const filled = Array.from(c.values, (v) => (Number.isNaN(v) ? fill : v));
    const m = filled.reduce((a, b) => a + b, 0) / filled.length;
    const sd = Math.sqrt(filled.reduce((a, b) => a + (b - m) ** 2, 0) / filled.length);
    return spec.standardize === false ? { name, fill, mean: 0, std: 1 } : { name, fill, mean: m, std: sd > 0 ? sd : 1 };
  });
  const categorical = (spec.categorical ?? []).map((name) => {
    const c = column(table, name);
    const vals = present(c).map(String);
    const strategy = spec.impute?.[name] ?? 'mode';
    if (strategy === 'mean' || strategy === 'median') throw new Error(`tabular: column "${name}" is categorical; impute it with 'mode' or 'constant'`);
    const fill = strategy === 'mode' ? String(mode(vals) ?? 'missing') : String(spec.constant?.[name] ?? 'missing');
    const categories = [...new Set([...vals, fill])].sort();
    return { name, fill, categories };
  });
  return { version: 1, numeric, categorical };
}

/** Output feature names: numeric columns, then `column=category` for each one-hot slot. */
export function tabularFeatures(stats: TabularStats): string[] {
  return [...stats.numeric.map((n) => n.name), ...stats.categorical.flatMap((c) => c.categories.map((k) => `${c.name}=${k}`))];
}

/** Applies fitted statistics: float32 [rows, features]. Unseen categories encode as all zeros. */
export function applyTabular(stats: TabularStats, table: Table): ArrayTensor<'float32'> {
  const width = tabularFeatures(stats).length;
  const out = new Float32Array(table.rows * width);
  stats.numeric.forEach(({ name, fill, mean, std }, j) => {
    const c = column(table, name);
    if (c.type === 'string') throw new Error(`tabular: column "${name}" holds strings at transform time`);
    for (let i = 0; i < table.rows; i++) out[i * width + j] = ((Number.isNaN(c.values[i]) ? fill : c.values[i]) - mean) / std;
  });
  let offset = stats.numeric.length;
  for (const { name, fill, categories } of stats.categorical) {
    const c = column(table, name);
    const index = new Map(categories.map((k, i) => [k, i]));
    for (let i = 0; i < table.rows; i++) {
      const raw = c.type === 'string' ? c.values[i] : Number.isNaN(c.values[i]) ? null : String(c.values[i]);
      const k = index.get(raw ?? fill);
      if (k !== undefined) out[i * width + offset + k] = 1;
    }
    offset += categories.length;
  }
  return { dtype: 'float32', shape: [table.rows, width], data: out };
}

/** Validates parsed JSON as TabularStats (e.g. read back from a model folder). */
export function tabularFromJSON(j: unknown, source = 'tabular stats'): TabularStats {
  const o = j as Partial<TabularStats> | null;
  if (!o || o.version !== 1 || !Array.isArray(o.numeric) || !Array.isArray(o.categorical)) throw new Error(`${source}: not lathe tabular statistics (version 1)`);
  o.numeric.forEach((n, i) => {
    if (typeof n.name !== 'string' || ![n.fill, n.mean, n.std].every((v) => typeof v === 'number')) throw new Error(`${source}: numeric[${i}] needs name, fill, mean, std`);
  });
  o.categorical.forEach((c, i) => {
    if (typeof c.name !== 'string' || typeof c.fill !== 'string' || !Array.isArray(c.categories)) throw new Error(`${source}: categorical[${i}] needs name, fill, categories`);
  });
  return o as TabularStats;
}
