// `npm run bench -- gnn [--json]`: one full-batch training step on Cora (forward, loss on the 140 training nodes,
// backward, Adam with weight decay) for gcn, gat and graphsage at their papers' settings (the registry defaults),
// against PyTorch 1.13 training the same models in the same run (bench/peers/torch_gnn.py bench), each side at its
// best thread setting. samples = nodes per step (2,708), so the ratio is the inverse ratio of step times.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { graphBatch } from '../src/data/graph.js';
import { getModel, GRAPH_BATCH_DIMS } from '../src/models/index.js';
import { bindParameters, manualSeed, withContext } from '../src/nn/index.js';
import { adam } from '../src/optim/adam.js';
import { TrainStep } from '../src/train/train-step.js';
import { graphTrainerConfig, loadGraphData } from '../src/train/graph-data.js';
import { packageRoot } from '../src/util/package-root.js';
import { report, torchAvailable } from './_peer.js';
import { fastestThreading } from './_threading.js';
import { timeSteps } from './_workloads.js';

const MODELS = ['gcn', 'gat', 'graphsage'] as const;

async function graphStep(name: string): Promise<{ step: TrainStep; batch: ReturnType<typeof graphBatch> }> {
  const g = loadGraphData({ name: 'cora' });
  const batch = graphBatch(g, 'train');
  const entry = getModel(name);
  manualSeed(0);
  const model = entry.create(entry.options.parse({ features: g.x.shape[1], classes: g.numClasses }));
  const loss = graphTrainerConfig().loss!;
  const step = await TrainStep.create({
    params: Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.data])),
    batch: Object.fromEntries(
      Object.entries(batch).map(([k, a]) => [k, { dtype: a.dtype, shape: [GRAPH_BATCH_DIMS[k], ...a.shape.slice(1)] }]),
    ),
    optimizer: adam({ weightDecay: 5e-4 }),
    seed: 0,
    forward: ({ params, batch: b, key }) =>
      withContext({ training: true, key }, () =>
        bindParameters(model, params, () => ({ loss: loss(model.train().forward(b.x, b.src, b.dst), b) })),
      ),
  });
  return { step, batch };
}

function torchGnn(name: string, steps: number, reps: number): { ms_per_step: number; threads: number } | null {
  if (!torchAvailable()) return null;
  let best: { ms_per_step: number; threads: number } | null = null;
  for (const threads of [1, 2]) {
    const r = spawnSync(
      '/usr/bin/python3',
      [
        join(packageRoot(), 'bench', 'peers', 'torch_gnn.py'),
        'bench',
        name,
        String(threads),
        String(steps),
        String(reps),
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
        timeout: 600_000,
      },
    );
    if (r.status !== 0) throw new Error(`PyTorch peer failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms_per_step: number; threads: number };
    if (!best || res.ms_per_step < best.ms_per_step) best = res;
  }
  return best;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const only = args.find((a) => (MODELS as readonly string[]).includes(a));
  const steps = Number(process.env.LATHE_BENCH_STEPS ?? 10);
  const reps = 5;
  const nodes = 2708;
  for (const name of only ? [only] : MODELS) {
    const workload = `${name}-cora-train`;
    const { step, batch } = await fastestThreading(workload, () => graphStep(name));
    const ms = await timeSteps(step, batch, steps, reps);
    await step.release();
    const peer = torchGnn(name, steps, reps);
    const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    const ours = nodes / (ms / 1000);
    const peerSps = peer ? nodes / (peer.ms_per_step / 1000) : null;
    const ratio = peerSps ? ours / peerSps : null;
    report(
      json,
      {
        workload,
        samples_per_s: r(ours),
        ms_per_step: r(ms, 3),
        peer: 'pytorch',
        peer_samples_per_s: peerSps === null ? null : r(peerSps),
        peer_ms_per_step: peer ? r(peer.ms_per_step, 3) : null,
        peer_threads: peer?.threads ?? null,
        ratio: ratio === null ? null : r(ratio, 3),
      },
      `${workload}: lathe ${r(ms, 2)} ms/step` +
        (peer
          ? `, PyTorch ${r(peer.ms_per_step, 2)} ms/step (${peer.threads} thread(s)) → ratio ${r(ratio!, 3)} (samples/s, higher is better for lathe)`
          : ', PyTorch not installed (ratio null)'),
    );
  }
}
