// Row <-> FrozenTrial mapping of the SQL storage (SQLite and PostgreSQL use the same tables).
import { toExternal, type Distribution } from '../distributions.js';
import type { FrozenTrial, JsonValue, ParamValue, TrialState } from '../types.js';

export interface TrialRow {
  id: number | string;
  study_id: number | string;
  number: number | string;
  state: string;
  vals: string | null;
  user_attrs: string | Record<string, JsonValue>;
  system_attrs: string | Record<string, JsonValue>;
  started_at: number | string | null;
  completed_at: number | string | null;
  heartbeat_at: number | string | null;
  worker: string | null;
  retried_by: number | string | null;
  retry_of: number | string | null;
}

export interface ParamRow {
  trial_id: number | string;
  name: string;
  internal: number;
  distribution: string | Distribution;
}

export interface IntermediateRow {
  trial_id: number | string;
  step: number | string;
  value: number | null;
}

const num = (x: number | string | null): number | null => (x === null ? null : Number(x));
const json = <T>(x: string | T): T => (typeof x === 'string' ? (JSON.parse(x) as T) : x);

/** Objective values as JSON (infinities survive; NaN never reaches storage because such trials fail). */
export function encodeValues(values: readonly number[] | null): string | null {
  return values === null
    ? null
    : JSON.stringify(values.map((v) => (v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v)));
}

function decodeValues(s: string | null): number[] | null {
  if (s === null) return null;
  return (JSON.parse(s) as (number | string)[]).map((v) =>
    v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v),
  );
}

/** Builds frozen trials from rows fetched for the same set of trials. */
export function assemble(
  rows: readonly TrialRow[],
  params: readonly ParamRow[],
  inter: readonly IntermediateRow[],
): FrozenTrial[] {
  const p = new Map<number, ParamRow[]>();
  for (const r of params) {
    const k = Number(r.trial_id);
    let a = p.get(k);
    if (!a) p.set(k, (a = []));
    a.push(r);
  }
  const iv = new Map<number, Map<number, number>>();
  for (const r of inter) {
    const k = Number(r.trial_id);
    let m = iv.get(k);
    if (!m) iv.set(k, (m = new Map()));
    m.set(Number(r.step), r.value === null ? NaN : Number(r.value));
  }
  return rows.map((r) => {
    const id = Number(r.id);
    const ps: Record<string, ParamValue> = {};
    const internal: Record<string, number> = {};
    const dists: Record<string, Distribution> = {};
    for (const x of p.get(id) ?? []) {
      const d = json<Distribution>(x.distribution);
      dists[x.name] = d;
      internal[x.name] = Number(x.internal);
      ps[x.name] = toExternal(d, Number(x.internal));
    }
    const inter = iv.get(id) ?? new Map<number, number>();
    return {
      id,
      number: Number(r.number),
      state: r.state as TrialState,
      params: ps,
      internal,
      distributions: dists,
      values: decodeValues(r.vals),
      intermediate: new Map([...inter].sort((a, b) => a[0] - b[0])),
      userAttrs: json(r.user_attrs),
      systemAttrs: json(r.system_attrs),
      startedAt: num(r.started_at),
      completedAt: num(r.completed_at),
      heartbeatAt: num(r.heartbeat_at),
      worker: r.worker,
      retriedBy: num(r.retried_by),
      retryOf: num(r.retry_of),
    };
  });
}
