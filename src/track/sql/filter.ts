// The runs-table filter language, compiled to a parameterized SQL condition over `runs r`.
import { canonicalMetricKey, metricKeySpellings } from '../metric-names.js';
import { TrackingError } from '../types.js';

type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';
const OPS: readonly Op[] = ['!=', '<=', '>=', '=', '<', '>', '~'];

interface Field {
  readonly scope: 'run' | 'params' | 'metrics' | 'tags';
  /** Column for `run`, key for the others. */
  readonly name: string;
}

const RUN_TEXT = new Set(['id', 'name', 'experiment', 'status', 'host']);
const RUN_NUM = new Set(['start_time', 'end_time']);

/** `params.lr` -> {scope: params, name: lr}; `status` -> {scope: run, name: status}. */
function parseField(text: string): Field {
  const dot = text.indexOf('.');
  if (dot > 0) {
    const scope = text.slice(0, dot);
    const name = text.slice(dot + 1);
    if (scope === 'metrics' && name.length > 0) return { scope, name: canonicalMetricKey(name) };
    if ((scope === 'params' || scope === 'tags') && name.length > 0) return { scope, name };
  }
  if (RUN_TEXT.has(text) || RUN_NUM.has(text)) return { scope: 'run', name: text };
  throw new TrackingError(
    `unknown field '${text}': use id, name, experiment, status, start_time, end_time, params.<key>, metrics.<key> or tags.<key>`,
  );
}

interface Clause {
  readonly field: Field;
  readonly op: Op;
  readonly value: string;
  readonly quoted: boolean;
}

/**
 * A quoted value starting at `src[start]` (`"` or `'`). Inside it a backslash escapes a quote character or a
 * backslash, so `"say \"hi\" it's"` holds both quote characters; a backslash before any other character is kept
 * (`'C:\dir'` still means C:\dir). Returns the value and the index after the closing quote.
 */
function readQuoted(src: string, start: number): { value: string; end: number } {
  const q = src[start];
  let value = '';
  for (let i = start + 1; i < src.length; i++) {
    const c = src[i];
    if (c === q) return { value, end: i + 1 };
    if (
      c === '\\' &&
      i + 1 < src.length &&
      (src[i + 1] === q || src[i + 1] === '"' || src[i + 1] === "'" || src[i + 1] === '\\')
    ) {
      value += src[++i];
      continue;
    }
    value += c;
  }
  throw new TrackingError(`filter: unterminated string at position ${start} in '${src}'`);
}

function tokenize(src: string): Clause[] {
  const clauses: Clause[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  while (true) {
    ws();
    if (i >= src.length) break;
    const fStart = i;
    while (i < src.length && /[^\s=!<>~]/.test(src[i])) i++;
    const fieldText = src.slice(fStart, i);
    if (!fieldText) throw new TrackingError(`filter: expected a field at position ${fStart} in '${src}'`);
    ws();
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op)
      throw new TrackingError(`filter: expected an operator (= != < <= > >= ~) after '${fieldText}' in '${src}'`);
    i += op.length;
    ws();
    let value: string;
    let quoted = false;
    if (src[i] === '"' || src[i] === "'") {
      const r = readQuoted(src, i);
      value = r.value;
      quoted = true;
      i = r.end;
    } else {
      const vStart = i;
      while (i < src.length && !/\s/.test(src[i])) i++;
      value = src.slice(vStart, i);
      if (!value) throw new TrackingError(`filter: expected a value after '${fieldText} ${op}' in '${src}'`);
    }
    clauses.push({ field: parseField(fieldText), op, value, quoted });
    ws();
    if (i >= src.length) break;
    const m = /^and\b/i.exec(src.slice(i));
    if (!m) throw new TrackingError(`filter: expected 'and' at position ${i} in '${src}'`);
    i += 3;
  }
  return clauses;
}

const likePattern = (v: string): string => '%' + v.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
const isNumber = (c: Clause): boolean => !c.quoted && c.value.trim() !== '' && Number.isFinite(Number(c.value));

function clauseSql(c: Clause, params: unknown[]): string {
  const { field, op } = c;
  if (field.scope === 'run') {
    const col = `r.${field.name}`;
    if (op === '~') {
      params.push(likePattern(c.value));
      return `lower(${col}) LIKE ? ESCAPE '\\'`;
    }
    if (RUN_NUM.has(field.name)) {
      if (!isNumber(c)) throw new TrackingError(`filter: ${field.name} compares with a number (got '${c.value}')`);
      params.push(Number(c.value));
    } else params.push(c.value);
    return `${col} ${op === '!=' ? '<>' : op} ?`;
  }
  if (field.scope === 'metrics') {
    if (!isNumber(c))
      throw new TrackingError(`filter: metrics.${field.name} compares with a number (got '${c.value}')`);
    if (op === '~') throw new TrackingError(`filter: '~' (contains) does not apply to metrics.${field.name}`);
    // both spellings of the key: runs logged before the naming convention hold `train_loss`
    const keys = metricKeySpellings(field.name);
    params.push(...keys, Number(c.value));
    return `EXISTS (SELECT 1 FROM run_latest m WHERE m.run_id = r.id AND m.key IN (${keys.map(() => '?').join(', ')}) AND m.value ${op === '!=' ? '<>' : op} ?)`;
  }
  const table = field.scope === 'params' ? 'run_params' : 'run_tags';
  params.push(field.name);
  let cond: string;
  if (op === '~') {
    params.push(likePattern(c.value));
    cond = `lower(x.value) LIKE ? ESCAPE '\\'`;
  } else if (field.scope === 'params' && isNumber(c)) {
    params.push(Number(c.value));
    cond = `x.num ${op === '!=' ? '<>' : op} ?`;
  } else {
    // params hold JSON text ("adam", true); tags hold plain text.
    const v =
      field.scope === 'params'
        ? (c.value === 'true' || c.value === 'false') && !c.quoted
          ? c.value
          : JSON.stringify(c.value)
        : c.value;
    params.push(v);
    cond = `x.value ${op === '!=' ? '<>' : op} ?`;
  }
  return `EXISTS (SELECT 1 FROM ${table} x WHERE x.run_id = r.id AND x.key = ? AND ${cond})`;
}

/** Compiles a filter expression to a SQL condition (`1=1` when empty) and its parameters. */
export function compileFilter(filter: string | undefined): { readonly sql: string; readonly params: unknown[] } {
  const params: unknown[] = [];
  if (!filter?.trim()) return { sql: '1=1', params };
  const parts = tokenize(filter).map((c) => clauseSql(c, params));
  return { sql: parts.join(' AND '), params };
}

/** ORDER BY for a sort field (nulls last in both dialects, ties broken by id), plus the join it needs. */
export function compileSort(
  sort: string | undefined,
  order: 'asc' | 'desc' | undefined,
): { readonly join: string; readonly orderBy: string; readonly params: unknown[] } {
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  const f = parseField(sort?.trim() ? sort.trim() : 'start_time');
  // end_time is the one nullable run column; the others sort straight from their index.
  if (f.scope === 'run')
    return {
      join: '',
      orderBy:
        f.name === 'end_time'
          ? `(r.end_time IS NULL), r.end_time ${dir}, r.id ${dir}`
          : `r.${f.name} ${dir}, r.id ${dir}`,
      params: [],
    };
  if (f.scope === 'metrics')
    return {
      join: 'LEFT JOIN run_latest s ON s.run_id = r.id AND s.key = ?',
      orderBy: `(s.value IS NULL), s.value ${dir}, r.id ${dir}`,
      params: [f.name],
    };
  if (f.scope === 'params')
    return {
      join: 'LEFT JOIN run_params s ON s.run_id = r.id AND s.key = ?',
      orderBy: `(s.value IS NULL), s.num ${dir}, s.value ${dir}, r.id ${dir}`,
      params: [f.name],
    };
  return {
    join: 'LEFT JOIN run_tags s ON s.run_id = r.id AND s.key = ?',
    orderBy: `(s.value IS NULL), s.value ${dir}, r.id ${dir}`,
    params: [f.name],
  };
}
