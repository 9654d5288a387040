// `lathe nerf --out <dir>`: renders the procedural scene, trains a NeRF on it (time-boxed with --minutes), and writes
// views.png (held-out ground truth over rendered novel views), model.onnx (forward(rays [B, 6]) → colours [B, 3])
// and result.json (steps, seconds, held-out PSNR).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { exportModule } from '../nn/export.js';
import { trainNerf } from '../train/nerf.js';
import { writeAtomicFile } from '../util/write-atomic.js';
import { CliError } from './errors.js';

interface NerfFlags {
  out: string;
  steps: string;
  minutes?: string;
  views: string;
  heldOut: string;
  size: string;
  batch: string;
  lr: string;
  width: string;
  depth: string;
  samples: string;
  fineSamples: string;
  posFreqs: string;
  seed: string;
  json?: boolean;
}

const int = (flag: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag}: expected an integer ≥ ${min}, got ${v}`);
  return n;
};
const pos = (flag: string, v: string): number => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new CliError(`${flag}: expected a positive number, got ${v}`);
  return n;
};

export function registerNerf(program: Command): void {
  program
    .command('nerf')
    .description(
      'train a NeRF on the procedural scene; write held-out views (truth over rendered) as PNG, model.onnx and PSNR',
    )
    .requiredOption('--out <dir>', 'output directory (views.png, model.onnx, result.json)')
    .option('--steps <n>', 'optimizer steps', '2000')
    .option('--minutes <m>', 'stop training after this many minutes')
    .option('--views <n>', 'views rendered', '100')
    .option('--held-out <n>', 'views held out (the last ones)', '10')
    .option('--size <px>', 'image side', '64')
    .option('--batch <rays>', 'rays per step', '512')
    .option('--lr <lr>', 'peak learning rate (decays to a tenth over --steps)', '3e-3')
    .option('--width <n>', 'MLP width', '64')
    .option('--depth <n>', 'MLP hidden layers', '3')
    .option('--pos-freqs <n>', 'frequencies of the position encoding', '6')
    .option('--samples <n>', 'stratified samples per ray', '24')
    .option('--fine-samples <n>', 'inverse-CDF samples per ray (0: no fine field)', '24')
    .option('--seed <n>', 'seed of the poses, weights and ray order', '0')
    .option('--json', 'print the result as JSON')
    .action(async (o: NerfFlags) => {
      const out = resolve(o.out);
      mkdirSync(out, { recursive: true });
      const r = await trainNerf({
        steps: int('--steps', o.steps, 1),
        timeBudgetS: o.minutes === undefined ? undefined : pos('--minutes', o.minutes) * 60,
        views: int('--views', o.views, 2),
        heldOut: int('--held-out', o.heldOut, 1),
        size: int('--size', o.size, 1),
        batchSize: int('--batch', o.batch, 1),
        lr: pos('--lr', o.lr),
        seed: int('--seed', o.seed, 0),
        model: {
          width: int('--width', o.width, 1),
          depth: int('--depth', o.depth, 1),
          posFreqs: int('--pos-freqs', o.posFreqs, 0),
          samples: int('--samples', o.samples, 3),
          fineSamples: int('--fine-samples', o.fineSamples, 0),
        },
        png: join(out, 'views.png'),
        onProgress: o.json
          ? undefined
          : (p) =>
              process.stderr.write(
                `\rstep ${p.step}/${p.steps}  train PSNR ${p.psnr.toFixed(2)} dB  ${p.seconds.toFixed(0)} s   `,
              ),
      });
      writeAtomicFile(
        join(out, 'model.onnx'),
        exportModule(r.model, [{ dtype: 'float32', shape: ['batch', 6] }], { inputNames: ['rays'] }),
      );
      const result = { steps: r.stepsDone, seconds: r.seconds, heldOutPsnr: r.heldOutPsnr, perViewPsnr: r.perViewPsnr };
      writeAtomicFile(join(out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
      if (o.json) console.log(JSON.stringify(result));
      else
        console.log(
          `\n${r.stepsDone} steps in ${r.seconds.toFixed(0)} s; held-out PSNR ${r.heldOutPsnr.toFixed(2)} dB → ${join(out, 'views.png')}`,
        );
    });
}
