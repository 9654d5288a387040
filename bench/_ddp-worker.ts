// One rank of the ddp benchmark (spawned by bench/ddp.ts): `train <rank> <world> <port> <threads> <batch> <steps>`
// times data-parallel CNN steps (world 1: the one-graph step); `allreduce <rank> <world> <port> <mb> <iters>` times
// all-reduces. Prints one JSON line.
import { TcpCollective } from '../src/distributed/tcp-collective.js';
import { DataParallelStep } from '../src/train/data-parallel-step.js';
import { TrainStep } from '../src/train/train-step.js';
import { cnnModel, randomBatch, stepConfig } from './_workloads.js';
import { median } from './_peer.js';

const [mode, rankS, worldS, portS, ...rest] = process.argv.slice(2);
const rank = Number(rankS);
const worldSize = Number(worldS);
const c = await TcpCollective.connect(
  { rank, worldSize, masterAddr: '127.0.0.1', masterPort: Number(portS) },
  { timeoutSeconds: 120 },
);
if (mode === 'allreduce') {
  const [mb, iters] = rest.map(Number);
  const buf = new Float32Array((mb * 1024 * 1024) / 4).fill(rank + 1);
  // warm up (JIT, socket buffers): at least 5 operations and 2 seconds
  const w0 = performance.now();
  for (let i = 0; ; i++) {
    await c.allReduce(buf);
    // every rank must run the same number of operations: rank 0 decides when the warm-up ends
    const more = Float32Array.of(i < 4 || performance.now() - w0 < 2000 ? 1 : 0);
    await c.broadcast(more, 0);
    if (!more[0]) break;
  }
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    await c.barrier();
    const t0 = performance.now();
    await c.allReduce(buf);
    times.push((performance.now() - t0) / 1000);
  }
  const s = median(times);
  console.log(JSON.stringify({ mb, seconds_per_op: s, bandwidth_mb_s: mb / s }));
} else {
  const [threads, batch, steps] = rest.map(Number);
  const cfg = { ...stepConfig(cnnModel(), [batch, 1, 28, 28]), session: { threads } };
  const step = worldSize === 1 ? await TrainStep.create(cfg) : await DataParallelStep.create(cfg, c);
  const data = randomBatch([batch, 1, 28, 28], 10);
  for (let i = 0; i < 5; i++) await step.run(data, 1e-3);
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    await c.barrier();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step.run(data, 1e-3);
    times.push((performance.now() - t0) / steps);
  }
  const ms = median(times);
  console.log(JSON.stringify({ samples_per_s: (batch * worldSize) / (ms / 1000), ms_per_step: ms }));
  await step.release();
}
await c.close();
