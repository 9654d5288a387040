// `npm run bench -- data [--json] [png28|png96|jpeg96 ...]`: the image pipeline (decode + augment + collate, batch 64,
// shuffled) against PyTorch's DataLoader with torchvision's ImageFolder and transforms on PIL (bench/peers/
// torch_data.py), in the same run, each at its best worker count of 0, 1, 2 (a warm-up epoch, then the best of
// LATHE_BENCH_EPOCHS=2 timed epochs). The folders are written once by bench/_image-data.ts. Prints one line per workload:
// {"workload":"image-folder-png28","samples_per_s":..,"workers":..,"peer":"pytorch-dataloader","peer_samples_per_s":..,"peer_workers":..,"ratio":..}
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { DataLoader } from '../src/data/loader.js';
import { pipeline, type PipelineSpec } from '../src/data/pipeline.js';
import { packageRoot } from '../src/util/package-root.js';
import { imageFolderFor, type ImageWorkload } from './_image-data.js';
import { report, torchAvailable } from './_peer.js';

const WORKERS = [0, 1, 2];

function spec(w: ImageWorkload, root: string): PipelineSpec {
  if (w === 'png28')
    return {
      dataset: { kind: 'image-folder', root, size: 28, channels: 1 },
      transforms: [
        { kind: 'randomCrop', size: 28, padding: 2 },
        { kind: 'randomHorizontalFlip' },
        { kind: 'normalize', mean: 0.286, std: 0.353 },
      ],
    };
  return {
    dataset: { kind: 'image-folder', root, size: 64, channels: 3 },
    transforms: [
      { kind: 'randomHorizontalFlip' },
      { kind: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4 },
      { kind: 'normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    ],
  };
}

/** Samples per second of the best timed epoch after a warm-up epoch. */
async function lathe(w: ImageWorkload, root: string, workers: number, epochs: number): Promise<number> {
  const loader = await DataLoader.fromSpec(pipeline(spec(w, root)), { batchSize: 64, shuffle: true, seed: 0, workers });
  let best = 0;
  try {
    for (let e = 0; e <= epochs; e++) {
      const t0 = performance.now();
      let n = 0;
      for await (const b of loader.iterate(e)) n += b.x.shape[0];
      if (e > 0) best = Math.max(best, n / ((performance.now() - t0) / 1000));
    }
  } finally {
    await loader.close();
  }
  return best;
}

interface PeerLine {
  readonly samples_per_s: number;
  readonly workers: number;
  readonly per_workers: Record<string, number>;
}

function peer(w: ImageWorkload, root: string, epochs: number): PeerLine | null {
  if (!torchAvailable()) return null;
  const r = spawnSync(
    '/usr/bin/python3',
    [
      '-W',
      'ignore',
      join(packageRoot(), 'bench', 'peers', 'torch_data.py'),
      w,
      root,
      WORKERS.join(','),
      String(epochs),
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 900_000,
    },
  );
  if (r.status !== 0) throw new Error(`PyTorch data peer failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerLine;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const chosen = args.filter((a) => !a.startsWith('--')) as ImageWorkload[];
  const workloads: ImageWorkload[] = chosen.length ? chosen : ['png28', 'png96', 'jpeg96'];
  const epochs = Number(process.env.LATHE_BENCH_EPOCHS ?? 2);
  for (const w of workloads) {
    const root = await imageFolderFor(w);
    const per: Record<number, number> = {};
    for (const k of WORKERS) {
      per[k] = Math.round(await lathe(w, root, k, epochs));
      console.error(`data ${w}: lathe ${per[k]} samples/s with ${k} workers`);
    }
    const best = WORKERS.reduce((a, b) => (per[b] > per[a] ? b : a));
    const p = peer(w, root, epochs);
    const name = w === 'png28' ? 'image-folder-png28' : `image-folder-${w === 'png96' ? 'rgb' : 'jpeg'}96-64-jitter`;
    const line = {
      workload: name,
      samples_per_s: per[best],
      workers: best,
      per_workers: per,
      peer: 'pytorch-dataloader',
      peer_samples_per_s: p?.samples_per_s ?? null,
      peer_workers: p?.workers ?? null,
      peer_per_workers: p?.per_workers ?? null,
      ratio: p ? Math.round((per[best] / p.samples_per_s) * 100) / 100 : null,
      cpu: cpus()[0]?.model,
      loadavg: loadavg().map((v) => Math.round(v * 100) / 100),
      date: new Date().toISOString(),
    };
    report(
      json,
      line,
      `${name}: ${per[best]} samples/s (${best} workers; ${JSON.stringify(per)}) vs PyTorch ${p?.samples_per_s ?? '-'} (${p?.workers ?? '-'} workers): ratio ${line.ratio ?? '-'}`,
    );
  }
}
