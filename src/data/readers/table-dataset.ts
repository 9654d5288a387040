// A Dataset over a Table's rows: numeric feature columns as one float32 vector, and an optional label.
import { assertIndex, type Dataset } from '../dataset.js';
import type { Table } from './csv.js';
import type { Sample } from '../tensor.js';

/** Options of {@link tableDataset}: which columns form x, which is the label, and the class order of a string label. */
export interface TableDatasetOptions {
  /** Numeric columns for x (default: every column except the label). */
  readonly features?: readonly string[];
  /** The label column: numbers are used as they are; strings become class indices (in `classes` order). */
  readonly label?: string;
  /** Class names for a string label (default: its distinct values, sorted). */
  readonly classes?: readonly string[];
}

export interface TableDataset extends Dataset {
  readonly features: readonly string[];
  readonly classes?: readonly string[];
}

/** Rows as `{ x: float32 [F], y }` (missing numbers are NaN: impute them with the tabular transforms). */
export function tableDataset(table: Table, o: TableDatasetOptions = {}): TableDataset {
  const features = o.features ?? table.names.filter((n) => n !== o.label);
  const cols = features.map((name) => {
    const c = table.columns[name];
    if (!c) throw new Error(`tableDataset: no column "${name}" (columns: ${table.names.join(', ')})`);
    if (c.type === 'string')
      throw new Error(
        `tableDataset: column "${name}" holds strings; encode it first (oneHot in the tabular transforms)`,
      );
    return c.values;
  });
  let label: ((i: number) => number) | undefined;
  let classes: readonly string[] | undefined;
  if (o.label !== undefined) {
    const c = table.columns[o.label];
    if (!c) throw new Error(`tableDataset: no label column "${o.label}" (columns: ${table.names.join(', ')})`);
    if (c.type === 'string') {
      const names = o.classes ?? [...new Set(c.values.filter((v): v is string => v !== null))].sort();
      classes = names;
      const index = new Map(names.map((k, i) => [k, i]));
      label = (i) => {
        const v = c.values[i];
        const k = v === null ? undefined : index.get(v);
        if (k === undefined)
          throw new Error(`tableDataset: row ${i} label ${JSON.stringify(v)} is not one of ${names.join(', ')}`);
        return k;
      };
    } else label = (i) => c.values[i];
  }
  return {
    length: table.rows,
    features,
    classes,
    get(i): Sample {
      assertIndex(i, table.rows, 'tableDataset');
      const x = Float32Array.from(cols, (c) => c[i]);
      const xs = { dtype: 'float32' as const, shape: [features.length], data: x };
      return label ? { x: xs, y: label(i) } : { x: xs };
    },
  };
}
