// Shared driver for the training benchmarks: ours vs PyTorch on the same workload, in the same run, each side at its
// best thread setting.
import type { NDArray } from '../src/graph/ndarray.js';
import type { TrainStep } from '../src/train/train-step.js';
import { report, torchPeer } from './_peer.js';
import { timeSteps } from './_workloads.js';
import { fastestThreading } from './_threading.js';

export async function trainBench(
  args: readonly string[],
  workload: string,
  peerWorkload: string,
  batchSize: number,
  make: () => Promise<{ step: TrainStep; batch: Record<string, NDArray> }>,
): Promise<void> {
  const json = args.includes('--json');
  const steps = Number(process.env.LATHE_BENCH_STEPS ?? 30);
  const reps = 5;
  const { step, batch } = await fastestThreading(workload, make);
  const ms = await timeSteps(step, batch, steps, reps);
  const ours = batchSize / (ms / 1000);
  const peer = torchPeer(peerWorkload, steps, reps);
  const ratio = peer ? ours / peer.samples_per_s : null;
  const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  report(
    json,
    {
      workload,
      samples_per_s: r(ours),
      ms_per_step: r(ms, 3),
      peer: 'pytorch',
      peer_samples_per_s: peer ? r(peer.samples_per_s) : null,
      peer_threads: peer?.threads ?? null,
      ratio: ratio === null ? null : r(ratio, 3),
    },
    `${workload}: lathe ${r(ours)} samples/s (${r(ms, 3)} ms/step)` +
      (peer
        ? `, PyTorch ${r(peer.samples_per_s)} samples/s (${peer.threads} thread(s)) → ratio ${r(ratio!, 3)}`
        : ', PyTorch not installed (ratio null)'),
  );
  await step.release();
}
