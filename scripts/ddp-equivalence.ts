// `node dist/scripts/ddp-equivalence.js [mlp cnn cnn-bn gpt]`: trains each workload for 100 optimizer steps as
// 2 ranks × batch b (`lathe train --nproc 2`), twice, and as 1 process × batch 2b, then prints the largest weight
// difference between the 2-rank run and the 1-process run, and whether the two 2-rank runs are bit-identical.
// Adam by default; LATHE_EQ_OPTIMIZER=sgd uses plain SGD (lr 0.05), whose update does not rescale tiny gradients.
// Dropout is 0 (each rank draws its own dropout masks, so with dropout the runs agree only in distribution).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../src/nn/safetensors.js';

const cli = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'lathe-ddp-eq-'));
const b = 16;
const steps = 100;

const workloads: Record<string, Record<string, unknown>> = {
  mlp: {
    model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [64] } },
    data: { name: 'fashion-mnist-subset', limit: steps * 2 * b },
  },
  cnn: {
    model: { name: 'cnn', options: { widths: [16, 32], hidden: 64, dropout: 0 } },
    data: { name: 'fashion-mnist-subset', limit: steps * 2 * b },
  },
  'cnn-bn': {
    model: { name: 'cnn', options: { widths: [16, 32], hidden: 64, dropout: 0, batchNorm: true } },
    data: { name: 'fashion-mnist-subset', limit: steps * 2 * b },
  },
  gpt: {
    model: { name: 'gpt', options: { vocab: 256, context: 32, dim: 64, layers: 2, heads: 4, dropout: 0 } },
    data: {
      name: 'text',
      limit: steps * 2 * b,
      text: { path: '/usr/share/common-licenses/GPL-3', context: 32, stride: 8, tokenizer: 'byte' },
    },
    loss: 'lm',
    callbacks: { checkpoint: { monitor: 'val_loss' } },
  },
};

function train(name: string, w: Record<string, unknown>, batch: number, nproc?: number): Record<string, Float32Array> {
  const cfg = {
    name,
    seed: 1,
    ...w,
    data: { ...(w.data as object), batchSize: batch },
    optimizer: process.env.LATHE_EQ_OPTIMIZER === 'sgd' ? { name: 'sgd', lr: 0.05 } : { name: 'adam', lr: 0.001 },
    trainer: { epochs: 1, clipGradNorm: 1 },
    output: join(tmp, name),
  };
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  const args = [cli, 'train', path, '--json', ...(nproc ? ['--nproc', String(nproc)] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 1_500_000 });
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  const manifest = JSON.parse(readFileSync(join(tmp, name, 'last.json'), 'utf8')) as {
    tensorsFile: string;
    step: number;
  };
  if (manifest.step !== steps) throw new Error(`${name}: ${manifest.step} steps, expected ${steps}`);
  const t = readSafetensors(join(tmp, name, manifest.tensorsFile)).tensors;
  return Object.fromEntries(
    Object.entries(t)
      .filter(([k]) => k.startsWith('p.'))
      .map(([k, v]) => [k, v.data as Float32Array]),
  );
}

for (const name of process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(workloads)) {
  const w = workloads[name];
  const one = train(`${name}-1x${2 * b}`, w, 2 * b);
  const two = train(`${name}-2x${b}`, w, b, 2);
  const again = train(`${name}-2x${b}-again`, w, b, 2);
  let worst = 0;
  let scale = 0;
  let identical = true;
  for (const [k, a] of Object.entries(one)) {
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(two[k][i] - a[i]));
      scale = Math.max(scale, Math.abs(a[i]));
      if (!Object.is(two[k][i], again[k][i])) identical = false;
    }
  }
  console.log(
    JSON.stringify({
      workload: name,
      steps,
      batch_per_rank: b,
      max_abs_diff: worst,
      max_abs_weight: scale,
      reruns_bit_identical: identical,
    }),
  );
}
