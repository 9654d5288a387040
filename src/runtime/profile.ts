// Per-op profiling: ORT writes a Chrome-trace JSON (one event per kernel) when a session has enableProfiling;
// this summarises it as a table of total time per op type.
import { readFileSync } from 'node:fs';

export interface OpProfileRow {
  readonly opType: string;
  readonly calls: number;
  readonly totalMs: number;
  readonly percent: number;
}

interface TraceEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

/** Reads an ORT profile file and sums kernel time by op type, largest first. */
export function summarizeProfile(path: string): OpProfileRow[] {
  const events = JSON.parse(readFileSync(path, 'utf8')) as TraceEvent[];
  const by = new Map<string, { calls: number; us: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? 'unknown';
    const row = by.get(op) ?? { calls: 0, us: 0 };
    row.calls++;
    row.us += e.dur ?? 0;
    by.set(op, row);
  }
  const total = [...by.values()].reduce((s, r) => s + r.us, 0) || 1;
  return [...by.entries()]
    .map(([opType, r]) => ({ opType, calls: r.calls, totalMs: r.us / 1000, percent: (100 * r.us) / total }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

export function formatProfile(rows: readonly OpProfileRow[]): string {
  const lines = ['op type              calls    total ms      %', ...rows.map((r) => `${r.opType.padEnd(20)} ${String(r.calls).padStart(5)} ${r.totalMs.toFixed(3).padStart(11)} ${r.percent.toFixed(1).padStart(6)}`)];
  return lines.join('\n');
}
