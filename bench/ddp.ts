// `npm run bench -- ddp [--json]`: data-parallel CNN training with 2 ranks on 127.0.0.1 (1 ORT thread each, batch 32
// per rank) against PyTorch 1.13 DDP with gloo (bench/peers/torch_ddp.py, same model and batches) in the same run;
// the 1 rank × 2 threads baseline at the same global batch (scaling on this host); ring all-reduce bandwidth for 1, 16
// and 64 MB buffers next to gloo's.
import { freePort } from '../src/util/free-port.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/util/package-root.js';
import { report, torchAvailable } from './_peer.js';

const worker = fileURLToPath(new URL('./_ddp-worker.js', import.meta.url));
const peerScript = join(packageRoot(), 'bench', 'peers', 'torch_ddp.py');

function output(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (err += b));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: ${err || out}`))));
  });
}

/** Rank 0's JSON line of a group of `world` bench workers. */
async function group(world: number, args: (rank: number, port: number) => string[]): Promise<Record<string, number>> {
  const port = await freePort();
  const outs = await Promise.all(
    [...Array(world).keys()].map((r) => output(process.execPath, [worker, ...args(r, port)])),
  );
  return JSON.parse(outs[0].trim().split('\n').pop()!) as Record<string, number>;
}

/** The PyTorch DDP peer's JSON line, or null (with a reason) when it cannot run. */
async function peer(args: readonly string[]): Promise<Record<string, number> | string> {
  if (!existsSync(peerScript)) return `${peerScript} is missing (the PyTorch DDP peer)`;
  if (!torchAvailable()) return 'PyTorch is not installed';
  const out = await output('/usr/bin/python3', [peerScript, ...args], { OMP_WAIT_POLICY: 'PASSIVE' });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const batch = 32;
  const steps = Number(process.env.LATHE_BENCH_STEPS ?? 20);
  const ours = await group(2, (rank, port) => [
    'train',
    String(rank),
    '2',
    String(port),
    '1',
    String(batch),
    String(steps),
  ]);
  const theirs = await peer([
    '--workload',
    'cnn',
    '--batch',
    String(batch),
    '--steps',
    String(steps),
    '--world-size',
    '2',
    '--threads',
    '1',
  ]);
  const one = await group(1, (rank, port) => [
    'train',
    String(rank),
    '1',
    String(port),
    '2',
    String(2 * batch),
    String(steps),
  ]);
  const peerSps = typeof theirs === 'string' ? null : theirs.samples_per_s;
  report(
    json,
    {
      workload: 'ddp2-cnn-train',
      samples_per_s: r(ours.samples_per_s),
      peer: 'pytorch-ddp-gloo',
      peer_samples_per_s: peerSps === null ? null : r(peerSps),
      ratio: peerSps === null ? null : r(ours.samples_per_s / peerSps, 3),
      batch_per_rank: batch,
      one_rank_two_threads_samples_per_s: r(one.samples_per_s),
      scaling: r(ours.samples_per_s / one.samples_per_s, 3),
      ...(typeof theirs === 'string' ? { peer_missing: theirs } : {}),
    },
    `ddp2-cnn-train: lathe 2 ranks × 1 thread ${r(ours.samples_per_s)} samples/s` +
      (peerSps === null
        ? ` (peer: ${theirs})`
        : `, PyTorch DDP gloo ${r(peerSps)} → ratio ${r(ours.samples_per_s / peerSps, 3)}`) +
      `; 1 rank × 2 threads ${r(one.samples_per_s)} samples/s`,
  );
  for (const mb of [1, 16, 64]) {
    const iters = mb === 64 ? 5 : 10;
    const a = await group(2, (rank, port) => ['allreduce', String(rank), '2', String(port), String(mb), String(iters)]);
    const g = await peer(['--allreduce-mb', String(mb), '--iters', String(iters)]);
    const gbw = typeof g === 'string' ? null : g.bandwidth_mb_s;
    report(
      json,
      {
        workload: `allreduce-${mb}mb`,
        world_size: 2,
        seconds_per_op: r(a.seconds_per_op, 5),
        bandwidth_mb_s: r(a.bandwidth_mb_s),
        peer: 'pytorch-gloo',
        peer_bandwidth_mb_s: gbw === null ? null : r(gbw),
        ratio: gbw === null ? null : r(a.bandwidth_mb_s / gbw, 3),
      },
      `all-reduce ${mb} MB × 2 ranks: lathe ${r(a.bandwidth_mb_s)} MB/s` +
        (gbw === null ? ` (peer: ${g})` : `, gloo ${r(gbw)} MB/s`),
    );
  }
}
