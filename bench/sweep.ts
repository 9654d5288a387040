// `npm run bench -- sweep [--json] [--quick] [--out DIR] [mlp|cnn|resnet|gpt|lstm ...]`: the training workloads
// over a grid of sizes (bench/_sweep-grid.ts: batch, width multiplier, sequence length, one axis at a time through an
// anchor point), lathe against the PyTorch peer (bench/peers/torch_sweep.py) at each side's best settings.
// Every measurement is a fresh child process (lathe: bench/_sweep-point.ts), so its peak RSS (VmHWM) is its own and
// both sides are measured the same way; at each point the two sides' settings alternate (lathe 1 thread, PyTorch 1
// thread, lathe 2 threads, ...), so a burst of load on this shared machine lands on both. Each side's fastest setting
// is kept, with that process's peak RSS; LATHE_BENCH_ROUNDS=n runs the alternating list n times. One JSON line per
// point:
// {"workload":"gpt-train","batch":..,"width":..,"seq":..,"samples_per_s":..,"peer_samples_per_s":..,"ratio":..,
//  "peak_rss_mb":..,"peer_peak_rss_mb":..,"lathe_config":..,"peer_config":..,"load_avg":..}
// --out DIR writes sweep.jsonl, sweep.md (the table) and sweep.png (ratio against size) there.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/util/package-root.js';
import { report, torchAvailable } from './_peer.js';
import { byWorkload, sweepPng, sweepTable, type SweepRow } from './_sweep-chart.js';
import { pointKey, sweepPoints, SWEEP_WORKLOADS, type SweepPoint, type SweepWorkload } from './_sweep-grid.js';
import type { PointResult } from './_sweep-point.js';

/** One setting of one side: a label and how to run it. */
interface Setting {
  readonly side: 'lathe' | 'peer';
  readonly label: string;
  readonly threads: number;
  readonly spinning?: boolean;
  readonly layout?: 'nchw' | 'channels_last';
}

/** How hard each point is measured. */
export interface SweepPlan {
  /** Milliseconds per timed repetition (steps are counted to fill it, at least 2). */
  readonly targetMs: number;
  readonly reps: number;
  /** Seconds before a child process is abandoned (the point then reports null for that side). */
  readonly timeoutS: number;
  /** lathe's settings (default: 1 thread; 2 threads not spinning; 2 threads spinning unless quick). */
  readonly latheThreads: readonly { readonly threads: number; readonly spinning: boolean }[];
  /** PyTorch's thread counts (each with NCHW and channels_last for the convolutional models); [] skips the peer. */
  readonly peerThreads: readonly number[];
  /** How many times the whole alternating list of settings runs (default 1; LATHE_BENCH_ROUNDS), best kept. */
  readonly rounds?: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const CONV: readonly SweepWorkload[] = ['cnn', 'resnet'];

function settings(pt: SweepPoint, plan: SweepPlan): Setting[] {
  const ours: Setting[] = plan.latheThreads.map((t) => ({
    side: 'lathe',
    threads: t.threads,
    spinning: t.spinning,
    label: `${t.threads} thread${t.threads > 1 ? `s, ${t.spinning ? '' : 'not '}spinning` : ''}`,
  }));
  const layouts = CONV.includes(pt.workload) ? (['nchw', 'channels_last'] as const) : (['nchw'] as const);
  const theirs: Setting[] = plan.peerThreads.flatMap((threads) =>
    layouts.map((layout) => ({
      side: 'peer' as const,
      threads,
      layout,
      label: `${threads} thread${threads > 1 ? 's' : ''}${CONV.includes(pt.workload) ? `, ${layout}` : ''}`,
    })),
  );
  // interleave the two sides
  const out: Setting[] = [];
  for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
    if (ours[i]) out.push(ours[i]);
    if (theirs[i]) out.push(theirs[i]);
  }
  return out;
}

function runChild(pt: SweepPoint, s: Setting, plan: SweepPlan): PointResult | { error: string } {
  const r =
    s.side === 'lathe'
      ? spawnSync(
          process.execPath,
          [join(here, '_sweep-point.js'), JSON.stringify(pt), String(plan.targetMs), String(plan.reps)],
          {
            encoding: 'utf8',
            env: { ...process.env, LATHE_THREADS: String(s.threads), LATHE_SPINNING: s.spinning ? '1' : '0' },
            timeout: plan.timeoutS * 1000,
          },
        )
      : spawnSync(
          '/usr/bin/python3',
          [
            join(packageRoot(), 'bench', 'peers', 'torch_sweep.py'),
            pt.workload,
            String(pt.batch),
            String(pt.width),
            String(pt.seq ?? 0),
            String(s.threads),
            s.layout ?? 'nchw',
            String(plan.targetMs),
            String(plan.reps),
          ],
          { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, timeout: plan.timeoutS * 1000 },
        );
  if (r.error || r.status !== 0)
    return {
      error: r.error?.message.includes('ETIMEDOUT')
        ? `timed out after ${plan.timeoutS} s`
        : `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`,
    };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PointResult;
}

/** Measures one point: every setting of both sides in its own process, alternating sides; each side's fastest kept. */
export function measureRow(pt: SweepPoint, plan: SweepPlan): SweepRow {
  const best: Partial<Record<Setting['side'], { res: PointResult; label: string }>> = {};
  const errors: string[] = [];
  const all = settings(pt, plan);
  for (const s of Array.from({ length: plan.rounds ?? 1 }, () => all).flat()) {
    const res = runChild(pt, s, plan);
    if ('error' in res) {
      errors.push(`${s.side === 'lathe' ? 'lathe' : 'PyTorch'} ${s.label}: ${res.error}`);
      continue;
    }
    const b = best[s.side];
    if (!b || res.samples_per_s > b.res.samples_per_s) best[s.side] = { res, label: s.label };
  }
  const r = (x: number | undefined, d = 1) => (x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d);
  const ours = best.lathe?.res;
  const theirs = best.peer?.res;
  return {
    ...pt,
    samples_per_s: r(ours?.samples_per_s),
    peer_samples_per_s: r(theirs?.samples_per_s),
    ratio: ours && theirs ? r(ours.samples_per_s / theirs.samples_per_s, 3) : null,
    peak_rss_mb: r(ours?.peak_rss_mb, 0),
    peer_peak_rss_mb: r(theirs?.peak_rss_mb, 0),
    lathe_config: best.lathe?.label,
    peer_config: best.peer?.label,
    ...(errors.length ? { note: errors.join('; ') } : {}),
  };
}

/** `AMD EPYC 7B13, load average 3.1 2.9 2.5, 2026-12-06T06:30Z`: what every published figure is stamped with. */
export function machineStamp(): string {
  const la = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  return `${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${cpus().length} cores), load average ${la}, ${new Date().toISOString().slice(0, 16)}Z`;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const outAt = args.indexOf('--out');
  const outDir = outAt >= 0 ? args[outAt + 1] : undefined;
  if (outAt >= 0 && !outDir) throw new Error('sweep: --out needs a folder');
  const names = args.filter((a, i) => !a.startsWith('--') && !(outAt >= 0 && i === outAt + 1));
  const unknown = names.filter((n) => !(SWEEP_WORKLOADS as readonly string[]).includes(n));
  if (unknown.length)
    throw new Error(`sweep: unknown workload(s) ${unknown.join(', ')} (known: ${SWEEP_WORKLOADS.join(', ')})`);
  const chosen = SWEEP_WORKLOADS.filter((w) => names.length === 0 || names.includes(w));
  const plan: SweepPlan = {
    targetMs: quick ? 300 : 600,
    reps: 3,
    timeoutS: quick ? 150 : 300,
    latheThreads: quick
      ? [
          { threads: 1, spinning: true },
          { threads: 2, spinning: false },
        ]
      : [
          { threads: 1, spinning: true },
          { threads: 2, spinning: false },
          { threads: 2, spinning: true },
        ],
    peerThreads: torchAvailable() ? [1, 2] : [],
    rounds: Number(process.env.LATHE_BENCH_ROUNDS ?? 1),
  };
  const start = machineStamp();
  console.error(`sweep${quick ? ' --quick' : ''}: ${start}`);
  const rows: SweepRow[] = [];
  for (const w of chosen)
    for (const pt of sweepPoints(w, quick)) {
      const row = { ...measureRow(pt, plan), load_avg: Math.round(loadavg()[0] * 10) / 10 };
      rows.push(row);
      report(
        json,
        { ...row, workload: `${row.workload}-train` },
        `${pointKey(pt)}: lathe ${row.samples_per_s ?? '–'} samples/s (${row.lathe_config ?? '–'}, peak ${row.peak_rss_mb ?? '–'} MB), ` +
          `PyTorch ${row.peer_samples_per_s ?? '–'} (${row.peer_config ?? '–'}, peak ${row.peer_peak_rss_mb ?? '–'} MB) → ratio ${row.ratio ?? '–'}` +
          (row.note ? ` [${row.note}]` : ''),
      );
    }
  const end = machineStamp();
  const table = sweepTable(byWorkload(rows));
  if (!json) console.log(`\n${table}`);
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'sweep.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(join(outDir, 'sweep.md'), `Measured from ${start} to ${end}.\n\n${table}\n`);
    writeFileSync(
      join(outDir, 'sweep.png'),
      await sweepPng(rows, `lathe / PyTorch 1.13 training throughput${quick ? ' (--quick grid)' : ''}\n${end}`),
    );
    console.error(`sweep: wrote ${outDir}/sweep.{jsonl,md,png}`);
  }
}
