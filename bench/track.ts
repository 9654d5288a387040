// `npm run bench -- track [--json]`: the tracking store and UI at 10,000 runs x 100 metric points, and the cost of
// logging inside a real training loop (the MLP 784-256-256-10 train step).
// Env: LATHE_BENCH_TRACK_RUNS (default 10000), LATHE_BENCH_STEPS (training steps of the overhead measurement, both
// arms together, default 8000 = 80 pairs of 50-step chunks). `--overhead` measures only the overhead; `--ui` only the
// 10,000-run list and the runs page's first paint.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, startRun, startUi, type TrackingStore } from '../src/track/index.js';
import { mlpTrainStep } from './_workloads.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function fill(store: TrackingStore, runs: number): Promise<void> {
  const t0 = Date.now() - runs * 1000;
  for (let i = 0; i < runs; i++) {
    const id = `bench${String(i).padStart(6, '0')}`;
    await store.createRun({
      id,
      experiment: `exp-${i % 10}`,
      name: `run-${i}`,
      startTime: t0 + i * 1000,
      host: 'bench',
      pid: 0,
      notes: '',
      lineage: { versions: {} },
      params: {
        lr: 10 ** (-4 + (i % 97) / 32),
        batch: 32 << (i % 4),
        optimizer: i % 3 ? 'adam' : 'sgd',
        dropout: (i % 5) / 10,
        width: 64 << (i % 3),
      },
      tags: { stage: i % 2 ? 'sweep' : 'baseline' },
    });
    const metrics = [];
    for (let s = 0; s < 50; s++) {
      const loss = 2 * Math.exp(-s / (10 + (i % 40))) + 0.1;
      metrics.push(
        { key: 'loss', step: s, time: t0 + i * 1000 + s, value: loss },
        { key: 'acc', step: s, time: t0 + i * 1000 + s, value: 1 - loss / 2.1 },
      );
    }
    await store.writeBatch(id, { metrics, heartbeatAt: t0 + i * 1000 + 60 });
    await store.setStatus(id, 'finished', t0 + i * 1000 + 60);
  }
}

async function timeGet(url: string, reps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await res.json();
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Milliseconds from navigation start until the runs table has its rows (median of `reps` fresh page loads), and FCP. */
async function firstPaint(url: string, reps: number): Promise<{ table: number; fcp: number } | null> {
  if (!existsSync('/usr/bin/chromium')) return null;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const table: number[] = [],
      fcp: number[] = [];
    for (let i = 0; i < reps; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(url + '/#/runs');
      await page.waitForSelector('#runs tbody tr');
      const t = (await page.evaluate('performance.now()')) as number;
      const f = (await page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime",
      )) as number;
      table.push(t);
      fcp.push(f);
      await page.close();
    }
    return { table: median(table.slice(1)), fcp: median(fcp.slice(1)) }; // first load warms the browser's caches
  } finally {
    await browser.close();
  }
}

/** Two-sided 97.5 % quantile of Student's t with `df` degrees of freedom (table to 30, then 1.96 + 2.4/df). */
function t975(df: number): number {
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
    2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
  ];
  return df <= 30 ? table[df - 1] : 1.96 + 2.4 / df;
}

export interface Overhead {
  /** Mean ms per step without / with tracking. */
  readonly base: number;
  readonly tracked: number;
  /** Mean of the per-pair wall-time overheads (%), and its 95 % confidence interval (Student t over the pairs). */
  readonly pct: number;
  readonly ci95: readonly [number, number];
  /** The same from the process's CPU time (user + system, all threads): less sensitive to other processes' load. */
  readonly cpuPct: number;
  readonly cpuCi95: readonly [number, number];
  readonly pairs: number;
  readonly chunk: number;
}

/**
 * ms per training step without and with a run that logs loss + 3 metrics every step. Plain and tracked chunks of
 * `chunk` steps alternate in pairs (the order flips every pair, so drift on a shared machine hits both alike); each
 * pair gives one overhead figure, and the pairs give the mean and its 95 % interval. The tracked chunks share one run,
 * as in training, and its background flushes, heartbeats and system metrics fall inside the timed chunks.
 */
export async function overhead(store: TrackingStore, steps: number, chunk = 50): Promise<Overhead> {
  const { step, batch } = await mlpTrainStep();
  for (let i = 0; i < 50; i++) await step.run(batch, 1e-3);
  const run = await startRun(store, { experiment: 'overhead', git: false, systemMetricsMs: 1000, handleExit: false });
  let base = 0,
    tracked = 0,
    s = 0;
  const pairs = Math.max(3, Math.round(steps / (2 * chunk)));
  const pcts: number[] = [],
    cpuPcts: number[] = [];
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let c = 0; c < pairs; c++) {
    const dt = { plain: 0, tracked: 0 },
      cpu = { plain: 0, tracked: 0 };
    for (const withRun of c % 2 ? [true, false] : [false, true]) {
      const t = performance.now(),
        c0 = cpuMs();
      for (let i = 0; i < chunk; i++) {
        const res = await step.run(batch, 1e-3);
        if (withRun)
          run.logMetrics(
            { 'train/loss': res.loss, 'train/lr': 1e-3, 'train/grad_norm': res.loss * 0.5, epoch: 0 },
            s++,
          );
      }
      dt[withRun ? 'tracked' : 'plain'] = performance.now() - t;
      cpu[withRun ? 'tracked' : 'plain'] = cpuMs() - c0;
    }
    cpuPcts.push(((cpu.tracked - cpu.plain) / cpu.plain) * 100);
    base += dt.plain;
    tracked += dt.tracked;
    pcts.push(((dt.tracked - dt.plain) / dt.plain) * 100);
  }
  await run.end();
  await step.release();
  const wall = meanCi(pcts),
    cpuStat = meanCi(cpuPcts);
  return {
    base: base / (pairs * chunk),
    tracked: tracked / (pairs * chunk),
    pct: wall.mean,
    ci95: wall.ci95,
    cpuPct: cpuStat.mean,
    cpuCi95: cpuStat.ci95,
    pairs,
    chunk,
  };
}

/** Mean and 95 % confidence interval of the mean (Student t). */
function meanCi(xs: readonly number[]): { mean: number; ci95: [number, number] } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, p) => a + (p - mean) ** 2, 0) / (xs.length - 1));
  const half = (t975(xs.length - 1) * sd) / Math.sqrt(xs.length);
  return { mean, ci95: [mean - half, mean + half] };
}

/**
 * What logging costs per training step, independent of the step's length: pairs of `chunk`-step loops that await an
 * event-loop turn per step (as a train step's `await` does, so flush timers fire), one also logging 4 metrics per
 * step into one run. Per pair: (tracked − plain) / chunk, in µs of wall and of CPU time; mean and 95 % interval.
 */
export async function loggingCost(
  store: TrackingStore,
  pairs: number,
  chunk = 2000,
): Promise<{
  wallUs: number;
  wallCi95: [number, number];
  cpuUs: number;
  cpuCi95: [number, number];
  pairs: number;
  chunk: number;
}> {
  const run = await startRun(store, {
    experiment: 'logging-cost',
    git: false,
    systemMetricsMs: 1000,
    handleExit: false,
  });
  const turn = (): Promise<void> => new Promise((res) => setImmediate(res));
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const wall: number[] = [],
    cpu: number[] = [];
  let s = 0;
  for (let c = 0; c < pairs + 1; c++) {
    const dt = { plain: 0, tracked: 0 },
      dc = { plain: 0, tracked: 0 };
    for (const withRun of c % 2 ? [true, false] : [false, true]) {
      const t = performance.now(),
        c0 = cpuMs();
      for (let i = 0; i < chunk; i++) {
        if (withRun)
          run.logMetrics({ 'train/loss': 1 / (s + 1), 'train/lr': 1e-3, 'train/grad_norm': 0.5, epoch: 0 }, s++);
        await turn();
      }
      dt[withRun ? 'tracked' : 'plain'] = performance.now() - t;
      dc[withRun ? 'tracked' : 'plain'] = cpuMs() - c0;
    }
    if (c === 0) continue; // warm-up pair
    wall.push(((dt.tracked - dt.plain) / chunk) * 1000);
    cpu.push(((dc.tracked - dc.plain) / chunk) * 1000);
  }
  await run.end();
  const w = meanCi(wall),
    cp = meanCi(cpu);
  return { wallUs: w.mean, wallCi95: w.ci95, cpuUs: cp.mean, cpuCi95: cp.ci95, pairs, chunk };
}

/** Raw logging rate: metrics/s from logMetric to committed rows. */
async function throughput(store: TrackingStore, n: number): Promise<number> {
  const run = await startRun(store, { experiment: 'throughput', git: false, systemMetricsMs: 0, handleExit: false });
  const t = performance.now();
  for (let i = 0; i < n; i++) run.logMetric(i % 2 ? 'a' : 'b', i, i >> 1);
  await run.end();
  return n / ((performance.now() - t) / 1000);
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const runs = Number(process.env.LATHE_BENCH_TRACK_RUNS ?? 10_000);
  const steps = Number(process.env.LATHE_BENCH_STEPS ?? 8000);
  const dir = mkdtempSync(join(tmpdir(), 'lathe-bench-track-'));
  const store = await openStore(join(dir, 'store'));
  if (args.includes('--overhead')) {
    try {
      const cost = await loggingCost(store, Number(process.env.LATHE_BENCH_COST_PAIRS ?? 100));
      const ov = await overhead(store, steps);
      const out = {
        workload: 'track-overhead',
        store: 'sqlite',
        steps: ov.pairs * ov.chunk * 2,
        pairs: ov.pairs,
        step_ms: r3(ov.base),
        step_ms_tracked: r3(ov.tracked),
        overhead_pct: r2(ov.pct),
        overhead_ci95_pct: ov.ci95.map(r2),
        cpu_overhead_pct: r2(ov.cpuPct),
        cpu_overhead_ci95_pct: ov.cpuCi95.map(r2),
        log_cost_steps: cost.pairs * cost.chunk,
        log_cost_us_per_step: r2(cost.wallUs),
        log_cost_ci95_us: cost.wallCi95.map(r2),
        log_cost_cpu_us_per_step: r2(cost.cpuUs),
        log_cost_cpu_ci95_us: cost.cpuCi95.map(r2),
      };
      if (json) console.log(JSON.stringify(out));
      else
        console.log(
          `track overhead: ${out.overhead_pct}% (95% CI ${out.overhead_ci95_pct[0]} .. ${out.overhead_ci95_pct[1]} %) wall, CPU ${out.cpu_overhead_pct}% (${out.cpu_overhead_ci95_pct[0]} .. ${out.cpu_overhead_ci95_pct[1]} %), over ${ov.pairs} pairs of ${ov.chunk}-step chunks (${out.step_ms} -> ${out.step_ms_tracked} ms/step)`,
        );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  try {
    const t0 = performance.now();
    await fill(store, runs);
    const fillS = (performance.now() - t0) / 1000;
    const ui = await startUi({ store, port: 0, sweepIntervalMs: 0 });
    const listMs = await timeGet(`${ui.url}/api/runs?limit=50`, 21);
    const sortedMs = await timeGet(`${ui.url}/api/runs?limit=50&sort=metrics.loss&order=asc`, 11);
    const filteredMs = await timeGet(
      `${ui.url}/api/runs?limit=50&filter=${encodeURIComponent('params.lr < 0.01 and metrics.acc > 0.9 and params.optimizer = adam')}&sort=params.lr`,
      11,
    );
    const paint = await firstPaint(ui.url, 6);
    await ui.app.close();
    if (args.includes('--ui')) {
      const out = {
        workload: 'track-10k-ui',
        runs,
        list_ms: r1(listMs),
        list_sorted_by_metric_ms: r1(sortedMs),
        list_filtered_ms: r1(filteredMs),
        first_paint_ms: paint ? r1(paint.table) : null,
        first_contentful_paint_ms: paint ? r1(paint.fcp) : null,
        fill_s: r1(fillS),
      };
      console.log(json ? JSON.stringify(out) : `track ui: ${JSON.stringify(out)}`);
      return;
    }
    const rate = await throughput(store, 1_000_000);
    const ov = await overhead(store, steps);
    const out = {
      workload: 'track-10k-runs',
      runs,
      points_per_run: 100,
      store: 'sqlite',
      list_ms: r1(listMs),
      list_sorted_by_metric_ms: r1(sortedMs),
      list_filtered_ms: r1(filteredMs),
      first_paint_ms: paint ? r1(paint.table) : null,
      first_contentful_paint_ms: paint ? r1(paint.fcp) : null,
      log_metrics_per_s: Math.round(rate),
      step_ms: r3(ov.base),
      step_ms_tracked: r3(ov.tracked),
      overhead_pct: r2(ov.pct),
      overhead_ci95_pct: ov.ci95.map(r2),
      cpu_overhead_pct: r2(ov.cpuPct),
      cpu_overhead_ci95_pct: ov.cpuCi95.map(r2),
      overhead_pairs: ov.pairs,
      fill_s: r1(fillS),
    };
    if (json) console.log(JSON.stringify(out));
    else
      console.log(
        `track: ${runs} runs x 100 points (filled in ${out.fill_s} s): list ${out.list_ms} ms (sorted by metric ${out.list_sorted_by_metric_ms}, filtered ${out.list_filtered_ms}), runs page ${out.first_paint_ms} ms to table (FCP ${out.first_contentful_paint_ms}), logging ${out.log_metrics_per_s} metrics/s, training-loop overhead ${out.overhead_pct}% (95% CI ${out.overhead_ci95_pct[0]} .. ${out.overhead_ci95_pct[1]} %; ${out.step_ms} -> ${out.step_ms_tracked} ms/step)`,
      );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
