// `npm run bench -- gpt [--json]`: GPT training step (vocab 96, context 64, d_model 128, 4 heads, 2 layers, MLP 4×,
// learned positions, tied embeddings, batch 32, Adam) vs the same model in PyTorch (bench/peers/torch_seq.py), in
// the same run; lathe's step is timed with the fastest of 1 thread and 2 threads spinning or not (the peer: best of
// 1 and 2 threads, OMP_WAIT_POLICY=PASSIVE). Also exports `seqBench`, the shared driver of the sequence benchmarks
// (bench/lstm.ts).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ndarray, type NDArray } from '../src/graph/ndarray.js';
import { bindParameters, manualSeed, withContext, type Module } from '../src/nn/index.js';
import { adam } from '../src/optim/adam.js';
import { TrainStep } from '../src/train/train-step.js';
import { packageRoot } from '../src/util/package-root.js';
import { GPT, lmLoss } from '../src/models/transformer.js';
import { report, torchAvailable, type PeerResult } from './_peer.js';
import { fastestThreading } from './_threading.js';
import { timeSteps } from './_workloads.js';

export const SEQ = { vocab: 96, context: 64, batch: 32 } as const;

/**
 * A language-model training step (next-token cross-entropy over all positions) on a fixed random batch; `shape`
 * defaults to {@link SEQ}.
 */
export async function lmTrainStep(
  model: Module,
  shape: { readonly vocab: number; readonly context: number; readonly batch: number } = SEQ,
): Promise<{ step: TrainStep; batch: Record<string, NDArray> }> {
  const { vocab, context: t, batch: b } = shape;
  const step = await TrainStep.create({
    params: Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.data])),
    batch: { x: { dtype: 'int64', shape: [b, t] }, y: { dtype: 'int64', shape: [b, t] } },
    optimizer: adam(),
    forward: ({ params, batch }) =>
      withContext({ training: true }, () =>
        bindParameters(model, params, () => ({ loss: lmLoss(model.forward(batch.x), batch.y) })),
      ),
  });
  let s = 777;
  const r = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % vocab;
  const ids = () => ndarray('int64', [b, t], Array.from({ length: b * t }, r));
  return { step, batch: { x: ids(), y: ids() } };
}

function seqPeer(workload: 'gpt' | 'lstm', steps: number, reps: number): PeerResult | null {
  if (!torchAvailable()) return null;
  const script = join(packageRoot(), 'bench', 'peers', 'torch_seq.py');
  let best: PeerResult | null = null;
  for (const threads of [1, 2]) {
    const r = spawnSync('/usr/bin/python3', [script, workload, String(threads), String(steps), String(reps)], {
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

/** Times our step, then the PyTorch peer in the same run; prints the engine benchmark's JSON fields. */
export async function seqBench(
  args: readonly string[],
  workload: string,
  peer: 'gpt' | 'lstm',
  make: () => Promise<{ step: TrainStep; batch: Record<string, NDArray> }>,
): Promise<void> {
  const json = args.includes('--json');
  const steps = Number(process.env.LATHE_BENCH_STEPS ?? 20);
  const reps = 5;
  const { step, batch } = await make();
  const ms = await timeSteps(step, batch, steps, reps);
  await step.release();
  const ours = SEQ.batch / (ms / 1000);
  const p = seqPeer(peer, steps, reps);
  const ratio = p ? ours / p.samples_per_s : null;
  const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  report(
    json,
    {
      workload,
      samples_per_s: r(ours),
      ms_per_step: r(ms, 3),
      peer: 'pytorch',
      peer_samples_per_s: p ? r(p.samples_per_s) : null,
      peer_threads: p?.threads ?? null,
      ratio: ratio === null ? null : r(ratio, 3),
    },
    `${workload}: lathe ${r(ours)} samples/s (${r(ms, 3)} ms/step)` +
      (p
        ? `, PyTorch ${r(p.samples_per_s)} samples/s (${p.threads} thread(s)) → ratio ${r(ratio!, 3)}`
        : ', PyTorch not installed (ratio null)'),
  );
}

export const gptBenchModel = (): GPT => {
  manualSeed(0);
  return new GPT({
    vocab: SEQ.vocab,
    context: SEQ.context,
    dim: 128,
    heads: 4,
    layers: 2,
    mlpRatio: 4,
    positions: 'learned',
    tied: true,
  });
};

export const run = (args: string[]): Promise<void> =>
  seqBench(args, 'gpt-train', 'gpt', () => fastestThreading('gpt-train', () => lmTrainStep(gptBenchModel())));
