// `npm run bench -- engine [--json]`: trains an MLP 784-256-256-10 (batch 128, Adam lr 1e-3, fp32) with the
// compiled step and compares samples/s with PyTorch measured in the same run; also a 1024² MatMul in GFLOP/s.
import { float32 } from '../src/graph/ndarray.js';
import { matmul } from '../src/graph/ops/linalg.js';
import { compile } from '../src/runtime/compile.js';
import { median, report } from './_peer.js';
import { trainBench } from './_train-bench.js';
import { mlpTrainStep } from './_workloads.js';

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  await trainBench(args, 'mlp-train', 'mlp', 128, mlpTrainStep);

  // 1024×1024 fp32 MatMul throughput
  const n = 1024;
  const a = float32(
    [n, n],
    Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000),
  );
  const f = compile((x, y) => matmul(x, y));
  for (let i = 0; i < 5; i++) await f(a, a);
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) await f(a, a);
    times.push((performance.now() - t0) / 10);
  }
  const gflops = (2 * n ** 3) / (median(times) / 1000) / 1e9;
  report(
    json,
    { workload: 'matmul-1024', gflops: round(gflops, 1), ms: round(median(times), 3) },
    `matmul 1024²: ${round(gflops, 1)} GFLOP/s`,
  );
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
