// CSV with typed columns: RFC 4180 quoting (delimiters, quotes and newlines inside quoted fields), a header row,
// missing values (NaN in number columns, null in string columns), and errors that name file, line and column.
import { readFileSync } from 'node:fs';

/**
 * The type of a CSV column: 'number' (float64, NaN when missing), 'int' (integers, stored as float64) or 'string' (null
 * when missing).
 */
export type ColumnType = 'number' | 'int' | 'string';
/**
 * One column of a {@link Table}: numbers in a Float64Array (NaN for missing values), or strings (null for missing
 * values).
 */
export type Column =
  | { readonly type: 'number' | 'int'; readonly values: Float64Array }
  | { readonly type: 'string'; readonly values: readonly (string | null)[] };

/** Columns of equal length, by name, in file order. */
export interface Table {
  readonly rows: number;
  readonly names: readonly string[];
  readonly columns: Readonly<Record<string, Column>>;
}

/**
 * Options of {@link readCsv}: column types, delimiter (default ','), header row, missing-value markers and the name
 * used in errors.
 */
export interface CsvOptions {
  /** Column types by name; columns not named are inferred (number when every present value parses). */
  readonly columns?: Readonly<Record<string, ColumnType>>;
  readonly delimiter?: string;
  /** First row holds the names (default true); otherwise columns are named c0, c1, ... */
  readonly header?: boolean;
  /** Strings read as missing (default '', 'NA', 'N/A', 'NaN', 'null'). */
  readonly missing?: readonly string[];
  /** Name used in errors (default: the path, or '<csv>'). */
  readonly source?: string;
}

/** Splits CSV text into rows of fields, with the line each row starts on. */
export function parseCsvRows(text: string, delimiter = ',', source = '<csv>'): { fields: string[]; line: number }[] {
  const rows: { fields: string[]; line: number }[] = [];
  let field = '';
  let fields: string[] = [];
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let wasQuoted = false;
  const endRow = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) rows.push({ fields, line: rowLine });
    fields = [];
    field = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"') {
      if (field !== '') throw new Error(`${source}:${line}: quote inside an unquoted field`);
      quoted = true;
      wasQuoted = true;
    } else if (ch === delimiter) {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += ch;
  }
  if (quoted) throw new Error(`${source}:${rowLine}: unterminated quoted field`);
  if (field !== '' || fields.length > 0 || wasQuoted) endRow();
  return rows;
}

/** Parses CSV text into a typed Table. */
export function parseCsv(text: string, options: CsvOptions = {}): Table {
  const source = options.source ?? '<csv>';
  const missing = new Set(options.missing ?? ['', 'NA', 'N/A', 'NaN', 'null']);
  const rows = parseCsvRows(text.replace(/^\uFEFF/, ''), options.delimiter ?? ',', source);
  const header = options.header ?? true;
  if (header && rows.length === 0) throw new Error(`${source}: empty file (no header row)`);
  const width = rows.length ? rows[0].fields.length : 0;
  const names = header ? rows[0].fields.map((s) => s.trim()) : Array.from({ length: width }, (_, i) => `c${i}`);
  const body = header ? rows.slice(1) : rows;
  for (const r of body)
    if (r.fields.length !== width)
      throw new Error(`${source}:${r.line}: ${r.fields.length} fields, header has ${width}`);
  for (const name of Object.keys(options.columns ?? {}))
    if (!names.includes(name)) throw new Error(`${source}: no column "${name}" (columns: ${names.join(', ')})`);
  const columns: Record<string, Column> = {};
  names.forEach((name, j) => {
    const raw = body.map((r) => r.fields[j]);
    const isMissing = (s: string) => missing.has(s.trim());
    const asNumber = (s: string) => (s.trim() === '' ? NaN : Number(s));
    const type =
      options.columns?.[name] ??
      (raw.every((s) => isMissing(s) || !Number.isNaN(asNumber(s))) && raw.some((s) => !isMissing(s))
        ? 'number'
        : 'string');
    if (type === 'string') {
      columns[name] = { type, values: raw.map((s) => (isMissing(s) ? null : s)) };
      return;
    }
    const values = new Float64Array(raw.length);
    raw.forEach((s, i) => {
      if (isMissing(s)) return void (values[i] = NaN);
      const v = asNumber(s);
      if (Number.isNaN(v) || (type === 'int' && !Number.isInteger(v)))
        throw new Error(
          `${source}:${body[i].line}: column "${name}": "${s}" is not ${type === 'int' ? 'an integer' : 'a number'}`,
        );
      values[i] = v;
    });
    columns[name] = { type, values };
  });
  return { rows: body.length, names, columns };
}

/** Reads a CSV file into a typed Table (errors name the file and line). */
export function readCsv(path: string, options: CsvOptions = {}): Table {
  return parseCsv(readFileSync(path, 'utf8'), { ...options, source: options.source ?? path });
}
