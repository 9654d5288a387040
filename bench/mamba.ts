// `npm run bench -- mamba [--json]`: the Mamba LM training step (vocab 96, context 128, dim 32, 2 layers, state 16,
// expand 2, batch 8, Adam) with each lowering of the selective scan (graph/ops/scan.ts: chunked with chunks of 8 and
// 16, doubling, sequential; one line each, same thread setting), then the fastest lowering at lathe's best thread
// setting against the same model in PyTorch with the sequential-scan reference (bench/peers/torch_mamba.py: a Python
// loop over time, as the reference implementation `selective_scan_ref`), best of 1 and 2 threads, in the same run.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { manualSeed } from '../src/nn/index.js';
import { Mamba, type MambaOptions } from '../src/models/mamba.js';
import { packageRoot } from '../src/util/package-root.js';
import { lmTrainStep } from './gpt.js';
import { report, torchAvailable, type PeerResult } from './_peer.js';
import { fastestThreading } from './_threading.js';
import { timeSteps } from './_workloads.js';

const SHAPE = { vocab: 96, context: 128, batch: 8 } as const;
const MODEL = { vocab: SHAPE.vocab, context: SHAPE.context, dim: 32, layers: 2, state: 16, expand: 2 } as const;

const model = (scan: Pick<MambaOptions, 'scan' | 'chunk'>): Mamba => {
  manualSeed(0);
  return new Mamba({ ...MODEL, ...scan });
};

function peer(steps: number, reps: number): PeerResult | null {
  if (!torchAvailable()) return null;
  const script = join(packageRoot(), 'bench', 'peers', 'torch_mamba.py');
  let best: PeerResult | null = null;
  for (const threads of [1, 2]) {
    const r = spawnSync('/usr/bin/python3', [script, 'bench', String(threads), String(steps), String(reps)], {
      input: JSON.stringify({ ...MODEL, batch: SHAPE.batch }),
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`PyTorch peer failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
    if (!best || res.samples_per_s > best.samples_per_s) best = res;
  }
  return best;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const steps = Number(process.env.LATHE_BENCH_STEPS ?? 5);
  const reps = 3;
  const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  const lowerings: { label: string; scan: Pick<MambaOptions, 'scan' | 'chunk'> }[] = [
    { label: 'chunked-8', scan: { scan: 'chunked', chunk: 8 } },
    { label: 'chunked-16', scan: { scan: 'chunked', chunk: 16 } },
    { label: 'doubling', scan: { scan: 'doubling' } },
    { label: 'sequential', scan: { scan: 'sequential' } },
  ];
  let best = lowerings[0];
  let bestMs = Infinity;
  for (const l of lowerings) {
    const { step, batch } = await lmTrainStep(model(l.scan), SHAPE);
    const ms = await timeSteps(step, batch, steps, reps);
    await step.release();
    if (ms < bestMs) [best, bestMs] = [l, ms];
    report(
      json,
      { workload: 'mamba-scan', scan: l.label, ms_per_step: r(ms, 3) },
      `mamba scan ${l.label}: ${r(ms, 3)} ms/step`,
    );
  }
  const { step, batch } = await fastestThreading('mamba-train', () => lmTrainStep(model(best.scan), SHAPE));
  const ms = await timeSteps(step, batch, steps, reps);
  await step.release();
  const ours = SHAPE.batch / (ms / 1000);
  const p = peer(steps, reps);
  const ratio = p ? ours / p.samples_per_s : null;
  report(
    json,
    {
      workload: 'mamba-train',
      scan: best.label,
      samples_per_s: r(ours),
      ms_per_step: r(ms, 3),
      peer: 'pytorch',
      peer_samples_per_s: p ? r(p.samples_per_s) : null,
      peer_ms_per_step: p ? r(p.ms_per_step, 3) : null,
      peer_threads: p?.threads ?? null,
      ratio: ratio === null ? null : r(ratio, 3),
    },
    `mamba-train (${best.label} scan): lathe ${r(ours)} samples/s (${r(ms, 3)} ms/step)` +
      (p
        ? `, PyTorch sequential scan ${r(p.samples_per_s)} samples/s (${p.threads} thread(s)) → ratio ${r(ratio!, 3)}`
        : ', PyTorch not installed (ratio null)'),
  );
}
