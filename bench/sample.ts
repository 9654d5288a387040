// `npm run bench -- sample [--json] [--n 16] [--steps 50] [--reps 3]`: DDIM sampling with classifier-free guidance
// (w = 3) from the class-conditional U-Net of examples/ddpm-fmnist.yaml (base 32, depth 2, time embedding 128,
// T = 1000), in lathe (the exported denoiser, one ORT run per step over the doubled batch, the update in JS:
// src/models/diffusion-sampler.ts) and in PyTorch 1.13 (bench/peers/torch_unet.py: the same network and sampler,
// best of 1/2 threads and NCHW/channels_last), in the same run. Weights are random (speed only); the parameter
// counts are checked equal. Prints
// {"workload":"ddim50-sample","samples_per_s":..,"peer":"pytorch","peer_samples_per_s":..,"ratio":..}
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DDPM } from '../src/models/ddpm.js';
import { sampleDiffusion, sessionDenoiser } from '../src/models/diffusion-sampler.js';
import { exportModule, manualSeed } from '../src/nn/index.js';
import { createSession } from '../src/runtime/session.js';
import { packageRoot } from '../src/util/package-root.js';
import { median, report, torchAvailable } from './_peer.js';

const flag = (args: readonly string[], name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const n = flag(args, '--n', 16);
  const steps = flag(args, '--steps', 50);
  const reps = flag(args, '--reps', 3);
  const opts = { base: 32, depth: 2, groups: 8, timeEmbed: 128, timesteps: 1000, classes: 10 } as const;
  manualSeed(0);
  const model = new DDPM(opts);
  const params = model.namedParameters().reduce((s, [, p]) => s + p.data.data.length, 0);
  const bytes = exportModule(
    model,
    [
      { dtype: 'float32', shape: ['batch', 1, 28, 28] },
      { dtype: 'float32', shape: ['batch'] },
      { dtype: 'int64', shape: ['batch'] },
    ],
    { inputNames: ['x', 'timesteps', 'labels'] },
  );
  const info = {
    kind: 'diffusion',
    channels: 1,
    size: 28,
    timesteps: 1000,
    schedule: 'linear',
    prediction: 'eps',
    classes: 10,
  } as const;
  let best = 0;
  let bestThreads = 0;
  for (const threads of [1, 2]) {
    const session = await createSession(bytes, { threads });
    const denoise = sessionDenoiser(session, info);
    const once = async () => {
      const t0 = performance.now();
      await sampleDiffusion(denoise, info, { n, steps, guidance: 3, seed: 0, batch: n });
      return (performance.now() - t0) / 1000;
    };
    await once();
    const times: number[] = [];
    for (let r = 0; r < reps; r++) times.push(await once());
    const sps = n / median(times);
    if (sps > best) [best, bestThreads] = [sps, threads];
    await session.release();
  }
  interface PeerLine {
    samples_per_s: number;
    threads: number;
    channels_last: boolean;
    params: number;
  }
  let peer: PeerLine | null = null;
  if (torchAvailable()) {
    for (const threads of [1, 2]) {
      const r = spawnSync(
        '/usr/bin/python3',
        [
          join(packageRoot(), 'bench', 'peers', 'torch_unet.py'),
          String(threads),
          String(n),
          String(steps),
          String(reps),
          '32',
          '2',
          '8',
          '128',
          '10',
          '1000',
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
          timeout: 1_200_000,
        },
      );
      if (r.status !== 0) throw new Error(`PyTorch peer failed: ${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerLine;
      if (res.params !== params)
        throw new Error(`the peer's U-Net has ${res.params} parameters, ours ${params}: not the same network`);
      if (!peer || res.samples_per_s > peer.samples_per_s) peer = res;
    }
  }
  const line = {
    workload: `ddim${steps}-sample`,
    samples_per_s: best,
    threads: bestThreads,
    n,
    guidance: 3,
    params,
    peer: 'pytorch',
    peer_samples_per_s: peer?.samples_per_s ?? null,
    peer_threads: peer?.threads ?? null,
    peer_channels_last: peer?.channels_last ?? null,
    ratio: peer ? best / peer.samples_per_s : null,
  };
  report(
    json,
    line,
    `ddim${steps}-sample: lathe ${best.toFixed(2)} samples/s (${bestThreads} threads)` +
      (peer
        ? `, PyTorch ${peer.samples_per_s.toFixed(2)} (${peer.threads} threads${peer.channels_last ? ', channels_last' : ''}), ratio ${(best / peer.samples_per_s).toFixed(2)}`
        : ', PyTorch not installed'),
  );
}
