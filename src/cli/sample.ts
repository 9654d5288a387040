// `lathe sample <run | checkpoint | model.onnx>`: draws images from a generative model (vae, ddpm) and writes a PNG
// grid or a float32 .npy array; with --track the grid is logged as an image artifact (shown on the run page of
// `lathe ui`).
import { existsSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { encodeNpy, writeImageGrid } from '../data/image-grid.js';
import { sampleImages } from '../models/sample.js';
import { exportModule } from '../nn/export.js';
import { logArtifactTo } from '../track/run.js';
import { openTracking } from '../track/open.js';
import { modelFromCheckpoint } from '../train/run.js';
import { UserError } from '../util/errors.js';
import { writeAtomicFile } from '../util/write-atomic.js';
import { CliError } from './errors.js';

interface SampleFlags {
  n: string;
  steps: string;
  sampler: string;
  eta: string;
  guidance: string;
  class?: string;
  seed: string;
  batch: string;
  threads?: string;
  clip: boolean;
  out: string;
  cols?: string;
  track?: string | boolean;
  runId?: string;
  json?: boolean;
}

const int = (flag: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag}: expected an integer ≥ ${min}, got ${v}`);
  return n;
};
const num = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`${flag}: expected a number, got ${v}`);
  return n;
};

/** The ONNX bytes or path to sample from: a .onnx file, a run directory's model.onnx, or a checkpoint (EMA weights when saved). */
function modelSource(source: string): string | Uint8Array {
  if (!existsSync(source)) throw new CliError(`${source}: no such run directory, checkpoint or .onnx file`);
  if (statSync(source).isDirectory()) {
    const onnx = join(source, 'model.onnx');
    if (existsSync(onnx)) return onnx;
    if (!existsSync(join(source, 'last.json')))
      throw new CliError(`${source}: not a run directory (no model.onnx or last.json)`);
    return checkpointBytes(join(source, 'last.json'));
  }
  if (extname(source) === '.onnx') return source;
  if (extname(source) === '.json') return checkpointBytes(source);
  throw new CliError(`${source}: expected a run directory, a checkpoint (.json) or an .onnx file`);
}

function checkpointBytes(path: string): Uint8Array {
  const { model, inputs, metadata, objective } = modelFromCheckpoint(path, { ema: true });
  if (!objective) throw new CliError(`${path}: not a generative model (vae or ddpm)`);
  return exportModule(
    model,
    inputs.map((i) => ({ dtype: i.dtype, shape: ['batch', ...i.shape] })),
    { metadata, inputNames: inputs.map((i) => i.name) },
  );
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('draw images from a generative model (vae, ddpm): a PNG grid or a float32 .npy array')
    .argument('<source>', 'run directory, checkpoint (.json) or model.onnx')
    .option('--n <n>', 'images to draw', '64')
    .option('--steps <n>', 'diffusion: denoising steps (DDIM; DDPM takes all T)', '50')
    .option('--sampler <name>', 'diffusion: ddim or ddpm', 'ddim')
    .option('--eta <x>', 'DDIM noise scale (0 deterministic, 1 ancestral)', '0')
    .option('--no-clip', 'diffusion: do not clip the predicted x̂0 to [−1, 1] at each step')
    .option('--guidance <w>', 'classifier-free guidance scale w: (1 + w)·cond − w·uncond', '0')
    .option('--class <k>', 'class label for every image (default: classes in turn)')
    .option('--seed <n>', 'seed of the initial noise', '0')
    .option('--batch <n>', 'images per denoiser run', '64')
    .option('--threads <n>', 'ORT intra-op threads')
    .option('--cols <n>', 'grid columns (default √n)')
    .requiredOption(
      '--out <file>',
      'grid.png (an image grid) or samples.npy (float32 [n, C, H, W] in [0, 1], NumPy format 1.0)',
    )
    .option(
      '--track [url]',
      'log the grid as an image artifact to a tracking store (default $LATHE_TRACKING_URL or ./.lathe)',
    )
    .option(
      '--run-id <id>',
      'with --track: add the grid to this tracked run (default: a new run in experiment "<name>-samples")',
    )
    .option('--json', 'one JSON line of results')
    .action(async (source: string, o: SampleFlags) => {
      const ext = extname(o.out).toLowerCase();
      if (ext !== '.png' && ext !== '.npy') throw new CliError(`--out ${o.out}: expected a .png or .npy file`);
      if (o.sampler !== 'ddim' && o.sampler !== 'ddpm') throw new CliError(`--sampler: ddim or ddpm, got ${o.sampler}`);
      const opts = {
        n: int('--n', o.n, 1),
        steps: int('--steps', o.steps, 1),
        sampler: o.sampler,
        eta: num('--eta', o.eta),
        guidance: num('--guidance', o.guidance),
        labels: o.class === undefined ? undefined : int('--class', o.class, 0),
        seed: int('--seed', o.seed, 0),
        batch: int('--batch', o.batch, 1),
        threads: o.threads === undefined ? undefined : int('--threads', o.threads, 1),
        clipSample: o.clip,
      } as const;
      let last = -1;
      const progress = (done: number, total: number) => {
        const pct = Math.floor((100 * done) / total);
        if (pct !== last && process.stderr.isTTY) process.stderr.write(`\rsampling: ${pct}%`);
        last = pct;
      };
      let r: Awaited<ReturnType<typeof sampleImages>>;
      try {
        r = await sampleImages(modelSource(source), { ...opts, onStep: progress });
      } catch (err) {
        if (err instanceof UserError) throw err;
        if (err instanceof Error && /^sample: /.test(err.message)) throw new CliError(err.message);
        throw err;
      }
      if (process.stderr.isTTY) process.stderr.write('\n');
      const out = resolve(o.out);
      if (ext === '.png')
        await writeImageGrid(out, r.images, { cols: o.cols === undefined ? undefined : int('--cols', o.cols, 1) });
      else writeAtomicFile(out, encodeNpy(r.images));
      let trackedRun: string | undefined;
      if (o.track && ext === '.png') {
        const tracking = await openTracking(typeof o.track === 'string' ? o.track : undefined);
        try {
          if (o.runId) {
            await logArtifactTo(tracking.store, o.runId, out, { name: `samples/${basename(out)}` });
            trackedRun = o.runId;
          } else {
            const run = await tracking.startRun({
              experiment: `${r.info.kind}-samples`,
              params: { source, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) },
            });
            await run.logArtifact(out, { name: `samples/${basename(out)}` });
            await run.end('finished');
            trackedRun = run.id;
          }
        } finally {
          await tracking.close();
        }
      }
      const result = {
        event: 'sampled',
        out,
        n: opts.n,
        kind: r.info.kind,
        seconds: r.seconds,
        samplesPerSecond: opts.n / r.seconds,
        ...(trackedRun ? { trackedRun } : {}),
      };
      console.log(
        o.json || !process.stdout.isTTY
          ? JSON.stringify(result)
          : `wrote ${out}: ${opts.n} images in ${r.seconds.toFixed(2)} s`,
      );
    });
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
