// Per-op profiling: ORT writes a Chrome-trace JSON (one event per kernel) when a session has enableProfiling;
// this summarises it as a table of total time per op type.
import { readFileSync } from 'node:fs';

/** One row of {@link summarizeProfile}: the kernels of one ONNX op type in an ORT profile. */
export interface OpProfileRow {
  /** The ONNX op type (e.g. `MatMul`). */
  readonly opType: string;
  /** Number of kernel runs of this op type across the profile. */
  readonly calls: number;
  /** Summed kernel time in milliseconds. */
  readonly totalMs: number;
  /** Share of all kernel time, in percent (0–100). */
  readonly percent: number;
  /**
   * The sum over this op type's nodes of each node's median kernel time: one run's worth, robust to the long tail a
   * machine shared with other jobs adds to totals (preempted kernels).
   */
  readonly medianMs: number;
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
  const by = new Map<string, { calls: number; us: number; nodes: Map<string, number[]> }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? 'unknown';
    const row = by.get(op) ?? { calls: 0, us: 0, nodes: new Map<string, number[]>() };
    row.calls++;
    row.us += e.dur ?? 0;
    const durs = row.nodes.get(e.name) ?? [];
    durs.push(e.dur ?? 0);
    row.nodes.set(e.name, durs);
    by.set(op, row);
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1];
  const total = [...by.values()].reduce((s, r) => s + r.us, 0) || 1;
  return [...by.entries()]
    .map(([opType, r]) => ({
      opType,
      calls: r.calls,
      totalMs: r.us / 1000,
      percent: (100 * r.us) / total,
      medianMs: [...r.nodes.values()].reduce((s, d) => s + median(d), 0) / 1000,
    }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

/**
 * Formats profile rows as a fixed-width text table (op type, calls, total ms, %, median ms per run), one line per
 * row under a header line.
 */
export function formatProfile(rows: readonly OpProfileRow[]): string {
  const lines = [
    'op type              calls    total ms      %  median ms/run',
    ...rows.map(
      (r) =>
        `${r.opType.padEnd(20)} ${String(r.calls).padStart(5)} ${r.totalMs.toFixed(3).padStart(11)} ${r.percent.toFixed(1).padStart(6)} ${r.medianMs.toFixed(3).padStart(14)}`,
    ),
  ];
  return lines.join('\n');
}
