// Training a NeRF on the procedural scene: render the ground-truth views, hold some out, train on random rays of the
// rest with the usual one-graph step (nerfObjective), then render the held-out views and report their PSNR. With
// `png`, a grid of ground truth (top row) over rendered views (bottom row) is written.
import { float32, type NDArray } from '../graph/ndarray.js';
import { NeRF, type NeRFOptions } from '../models/nerf.js';
import { nerfObjective } from '../models/nerf.js';
import { withFrozenParameters } from '../nn/export.js';
import { manualSeed } from '../nn/index.js';
import { adam } from '../optim/index.js';
import type { Schedule } from '../optim/schedules.js';
import { compile } from '../runtime/compile.js';
import type { Tensor } from '../graph/tensor.js';
import { renderSceneViews, type SceneViews } from '../data/procedural-scene.js';
import { writeImageGrid } from '../data/image-grid.js';
import { ArrayLoader } from './loader.js';
import { Trainer } from './trainer.js';
import { UserError } from '../util/errors.js';

/**
 * Options of {@link trainNerf}: model, views (default 100, of which `heldOut` default 10 are held out, must be ≥ 1 and
 * < `views`), optimizer steps, batch size, learning rate and time budget.
 */
export interface TrainNerfOptions {
  /** Model options (near/far default to the scene's bounds). */
  readonly model?: NeRFOptions;
  /** Views rendered, image side, and how many of the views (the last ones) are held out. */
  readonly views?: number;
  readonly size?: number;
  readonly heldOut?: number;
  /** Seed of the camera poses, the initial weights and the ray order. */
  readonly seed?: number;
  /** Optimizer steps (default 2,000), rays per step (default 1,024), peak learning rate (default 5e-3). */
  readonly steps?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  /** Stop after this many seconds of training even if `steps` are not done (the steps taken are reported). */
  readonly timeBudgetS?: number;
  /** A PNG of held-out ground truth over the rendered views. */
  readonly png?: string;
  /** Called every 50 steps. */
  readonly onProgress?: (p: { step: number; steps: number; loss: number; psnr: number; seconds: number }) => void;
}

/**
 * What {@link trainNerf} returns: the trained model, the steps taken and seconds spent, and the held-out views' PSNR
 * and images.
 */
export interface TrainNerfResult {
  readonly model: NeRF;
  readonly stepsDone: number;
  readonly seconds: number;
  /** Mean over held-out views of each view's PSNR (dB), and the PSNR of the training rays' last-epoch loss. */
  readonly heldOutPsnr: number;
  readonly perViewPsnr: readonly number[];
  /** Held-out views: ground truth and rendered, each [heldOut, 3, size, size] in [0, 1]. */
  readonly truth: NDArray;
  readonly rendered: NDArray;
}

/** Renders every pixel of `views` rays [n, 6] with a trained NeRF in chunks; returns colours [n, 3]. */
export async function renderRays(model: NeRF, rays: Float32Array, chunk = 4096): Promise<Float32Array> {
  const f = compile((r: Tensor) => withFrozenParameters(model, () => model.forward(r)));
  const n = rays.length / 6;
  const out = new Float32Array(n * 3);
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    const r = await f(float32([e - s, 6], rays.subarray(s * 6, e * 6)));
    out.set(r.data as Float32Array, s * 3);
  }
  return out;
}

/** PSNR (dB) of `a` against `b`, both in [0, 1]. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return -10 * Math.log10(Math.max(se / a.length, 1e-10));
}

/** [v, size², 3] pixels → [v, 3, size, size] images. */
function toImages(rgb: Float32Array, v: number, size: number): NDArray {
  const out = new Float32Array(rgb.length);
  const px = size * size;
  for (let k = 0; k < v; k++)
    for (let p = 0; p < px; p++) for (let c = 0; c < 3; c++) out[(k * 3 + c) * px + p] = rgb[(k * px + p) * 3 + c];
  return float32([v, 3, size, size], out);
}

/** Trains a NeRF on the procedural scene (see the file comment) and evaluates it on the held-out views. */
export async function trainNerf(opts: TrainNerfOptions = {}): Promise<TrainNerfResult> {
  const seed = opts.seed ?? 0;
  const views = opts.views ?? 100;
  const heldOut = opts.heldOut ?? 10;
  const steps = opts.steps ?? 2000;
  const batchSize = opts.batchSize ?? 1024;
  if (!Number.isInteger(heldOut) || heldOut < 1 || heldOut >= views)
    throw new UserError(`trainNerf: heldOut must be an integer in [1, views − 1], got ${heldOut} with views ${views}`);
  if (!Number.isInteger(steps) || steps < 1)
    throw new UserError(`trainNerf: steps must be a positive integer, got ${steps}`);
  const scene: SceneViews = renderSceneViews({ views, size: opts.size ?? 64, seed });
  const px = scene.size * scene.size;
  const nTrain = (views - heldOut) * px;
  manualSeed(seed);
  const model = new NeRF({ near: scene.near, far: scene.far, ...opts.model });
  const lr = opts.lr ?? 5e-3;
  // exponential decay to lr/10 over the planned steps (the reference decays to lr/10 over its run)
  const schedule: Schedule = { name: 'exponential', lr: (s) => lr * 0.1 ** Math.min(1, s / steps) };
  const loader = new ArrayLoader(
    {
      x: float32([nTrain, 6], scene.rays.subarray(0, nTrain * 6)),
      y: float32([nTrain, 3], scene.rgb.subarray(0, nTrain * 3)),
    },
    { batchSize, shuffle: true, seed, dropLast: true },
  );
  const epochs = Math.ceil(steps / loader.length);
  const t0 = Date.now();
  let stepsDone = 0;
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: schedule,
    epochs,
    seed,
    objective: nerfObjective,
    callbacks: [
      {
        name: 'nerf-budget',
        onBatchEnd: (t, l) => {
          stepsDone = l.step;
          const seconds = (Date.now() - t0) / 1000;
          if (l.step % 50 === 0)
            opts.onProgress?.({ step: l.step, steps, loss: l.loss, psnr: l.metrics?.psnr ?? NaN, seconds });
          if (l.step >= steps || (opts.timeBudgetS !== undefined && seconds >= opts.timeBudgetS)) t.shouldStop = true;
        },
      },
    ],
  });
  try {
    await trainer.fit(loader);
  } finally {
    await trainer.release();
  }
  const seconds = (Date.now() - t0) / 1000;
  const rendered = await renderRays(model, scene.rays.subarray(nTrain * 6));
  const truth = scene.rgb.subarray(nTrain * 3);
  const perViewPsnr = Array.from({ length: heldOut }, (_, k) =>
    psnr(rendered.subarray(k * px * 3, (k + 1) * px * 3), truth.subarray(k * px * 3, (k + 1) * px * 3)),
  );
  const result: TrainNerfResult = {
    model,
    stepsDone,
    seconds,
    heldOutPsnr: perViewPsnr.reduce((a, b) => a + b, 0) / heldOut,
    perViewPsnr,
    truth: toImages(truth, heldOut, scene.size),
    rendered: toImages(rendered, heldOut, scene.size),
  };
  if (opts.png) {
    const both = new Float32Array(2 * heldOut * 3 * px);
    both.set(result.truth.data as Float32Array, 0);
    both.set(result.rendered.data as Float32Array, heldOut * 3 * px);
    await writeImageGrid(opts.png, float32([2 * heldOut, 3, scene.size, scene.size], both), { cols: heldOut });
  }
  return result;
}
