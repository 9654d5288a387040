// lrFind: the learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", §3.3).
// Train from the initial weights with a learning rate that grows exponentially from `start` to `end` over `steps`
// batches, record the loss, stop once it exceeds 4× its best, and suggest the rate where the smoothed loss falls
// fastest (capped at a tenth of the rate of the lowest loss). The curve is drawn as an SVG and rasterised to PNG
// with sharp.
import sharp from 'sharp';
import type { NDArray } from '../graph/ndarray.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { createOptimizer } from '../optim/registry.js';
import { loadTrainConfig } from '../train/config.js';
import { buildModel, lossAndMetrics, splits } from '../train/run.js';
import { crossEntropy } from '../nn/losses.js';
import { permutation } from '../data/random.js';
import { UserError } from '../util/errors.js';
import { headRows } from './dynamic-rules.js';
import type { LossFn } from './probe.js';
import { createStep } from './step.js';

/**
 * Options of {@link lrFind}: the learning-rate range swept geometrically from `start` (default 1e-7) to `end`
 * (default 10) in `steps` steps (default 100, at least 10), and an optional PNG plot path.
 */
export interface LrFindOptions {
  readonly start?: number;
  readonly end?: number;
  readonly steps?: number;
  /** Write the plot here (PNG). */
  readonly png?: string;
  /** Called after each step with its 0-based index, the learning rate used and the raw loss. */
  readonly onProgress?: (step: number, lr: number, loss: number) => void;
}

/**
 * What {@link lrFind} returns: per step the learning rate, raw loss and bias-corrected smoothed loss (EMA 0.98),
 * the suggested rate, the rate of the lowest smoothed loss, whether the sweep stopped early on divergence, and the
 * plot path when one was written.
 */
export interface LrFindResult {
  readonly lrs: readonly number[];
  readonly losses: readonly number[];
  readonly smoothed: readonly number[];
  /** Suggested learning rate. */
  readonly suggestion: number;
  /** The learning rate of the lowest smoothed loss. */
  readonly minLossLr: number;
  readonly stoppedEarly: boolean;
  readonly png?: string;
}

/**
 * What {@link lrFind} trains: the model, inputs `x` and targets `y` (samples on the first axis), the batch size,
 * the loss (default cross-entropy), the optimizer and the seed of the batch order (default 0).
 */
export interface LrFindSpec {
  readonly model: Module;
  readonly x: NDArray;
  readonly y: NDArray;
  readonly batchSize: number;
  readonly loss?: LossFn;
  readonly optimizer: Optimizer;
  readonly seed?: number;
}

function rows(a: NDArray, idx: readonly number[]): NDArray {
  const per = a.shape.slice(1).reduce((p, q) => p * q, 1);
  const data = new (a.data.constructor as new (n: number) => NDArray['data'])(idx.length * per);
  idx.forEach((r, i) => (data as Float32Array).set((a.data as Float32Array).subarray(r * per, (r + 1) * per), i * per));
  return { dtype: a.dtype, shape: [idx.length, ...a.shape.slice(1)], data };
}

/**
 * Learning-rate range test: trains for `steps` steps with the rate rising geometrically from `start` to `end`,
 * stopping early when the loss turns non-finite or exceeds 4× its best. Suggests the rate of the steepest descent
 * of the smoothed loss, capped at a tenth of the rate of its minimum. Throws UserError unless
 * 0 < start < end and steps is an integer ≥ 10.
 */
export async function lrFind(spec: LrFindSpec, opts: LrFindOptions = {}): Promise<LrFindResult> {
  const start = opts.start ?? 1e-7;
  const end = opts.end ?? 10;
  const steps = opts.steps ?? 100;
  if (!(start > 0 && end > start)) throw new UserError(`lr-find: need 0 < start < end, got ${start} and ${end}`);
  if (!(Number.isInteger(steps) && steps >= 10))
    throw new UserError(`lr-find: steps must be an integer ≥ 10, got ${steps}`);
  const n = spec.x.shape[0];
  const order = permutation(n, spec.seed ?? 0, 0);
  const batchAt = (i: number) => {
    const s = (i * spec.batchSize) % Math.max(1, n - spec.batchSize + 1);
    const idx = Array.from({ length: Math.min(spec.batchSize, n) }, (_, k) => order[(s + k) % n]);
    return { x: rows(spec.x, idx), y: rows(spec.y, idx) };
  };
  const loss = spec.loss ?? ((o, b) => crossEntropy(o, b.y));
  const step = await createStep({
    model: spec.model,
    batch: headRows({ x: spec.x, y: spec.y }, 2),
    loss,
    optimizer: spec.optimizer,
    seed: spec.seed,
    session: { threads: 2 },
  });
  const lrs: number[] = [];
  const losses: number[] = [];
  const smoothed: number[] = [];
  let avg = 0;
  let best = Infinity;
  let stoppedEarly = false;
  try {
    for (let i = 0; i < steps; i++) {
      const lr = start * (end / start) ** (i / (steps - 1));
      const r = await step.run(batchAt(i), lr);
      lrs.push(lr);
      losses.push(r.loss);
      avg = 0.98 * avg + 0.02 * r.loss;
      const s = avg / (1 - 0.98 ** (i + 1));
      smoothed.push(s);
      opts.onProgress?.(i, lr, r.loss);
      if (s < best) best = s;
      if (!Number.isFinite(r.loss) || (i > 10 && s > 4 * best)) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    await step.release();
  }
  const finite = smoothed.map((s, i) => ({ s, i })).filter((p) => Number.isFinite(p.s));
  const minAt = finite.reduce((m, p) => (p.s < m.s ? p : m), finite[0]).i;
  // steepest descent of the smoothed loss in log-lr, between the first 10 % and the minimum
  let steepest = minAt;
  let slope = 0;
  for (let i = Math.max(1, Math.floor(lrs.length * 0.1)); i <= minAt; i++) {
    const g = (smoothed[i] - smoothed[i - 1]) / Math.log(lrs[i] / lrs[i - 1]);
    if (g < slope) {
      slope = g;
      steepest = i;
    }
  }
  const suggestion = Math.min(lrs[steepest], lrs[minAt] / 10);
  const result: LrFindResult = { lrs, losses, smoothed, suggestion, minLossLr: lrs[minAt], stoppedEarly };
  if (opts.png) {
    await sharp(Buffer.from(plotSvg(result)))
      .png()
      .toFile(opts.png);
    return { ...result, png: opts.png };
  }
  return result;
}

/** The range test as an SVG: loss (raw and smoothed) against log10(lr), the suggestion marked. */
export function plotSvg(r: Pick<LrFindResult, 'lrs' | 'losses' | 'smoothed' | 'suggestion'>): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 20, t: 30, b: 50 };
  const xs = r.lrs.map(Math.log10);
  const ys = [...r.losses, ...r.smoothed].filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const lo = Math.min(...ys);
  const hi = Math.min(Math.max(...ys), lo + 4 * (r.smoothed[0] - lo || 1));
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => m.t + (1 - (Math.min(y, hi) - lo) / (hi - lo || 1)) * (H - m.t - m.b);
  const path = (v: readonly number[]) =>
    v
      .map((y, i) => (Number.isFinite(y) ? `${i ? 'L' : 'M'}${px(xs[i]).toFixed(1)},${py(y).toFixed(1)}` : ''))
      .join(' ');
  const ticks: string[] = [];
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++)
    ticks.push(
      `<line x1="${px(e)}" y1="${H - m.b}" x2="${px(e)}" y2="${H - m.b + 5}" stroke="#333"/><text x="${px(e)}" y="${H - m.b + 20}" font-size="12" text-anchor="middle" font-family="sans-serif">1e${e}</text>`,
    );
  const sx = px(Math.log10(r.suggestion));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" font-size="14" text-anchor="middle" font-family="sans-serif">lathe lr-find: suggested lr ${r.suggestion.toPrecision(2)}</text>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
${ticks.join('')}
<text x="${W / 2}" y="${H - 10}" font-size="12" text-anchor="middle" font-family="sans-serif">learning rate (log scale)</text>
<text x="15" y="${H / 2}" font-size="12" text-anchor="middle" font-family="sans-serif" transform="rotate(-90 15 ${H / 2})">loss</text>
<text x="${m.l - 5}" y="${py(lo) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${lo.toPrecision(3)}</text>
<text x="${m.l - 5}" y="${py(hi) + 4}" font-size="11" text-anchor="end" font-family="sans-serif">${hi.toPrecision(3)}</text>
<path d="${path(r.losses)}" fill="none" stroke="#9ecae1" stroke-width="1"/>
<path d="${path(r.smoothed)}" fill="none" stroke="#08519c" stroke-width="2"/>
<line x1="${sx}" y1="${m.t}" x2="${sx}" y2="${H - m.b}" stroke="#d62728" stroke-dasharray="4 3"/>
</svg>`;
}

/** lr-find on a training config: its model, optimizer (rate swept), loss, batch size and training split. */
export async function lrFindConfig(
  path: string,
  opts: LrFindOptions & { overrides?: readonly string[] } = {},
): Promise<LrFindResult> {
  const cfg = loadTrainConfig(path, opts.overrides ?? []);
  const data = splits(cfg);
  const lm = cfg.loss === 'lm';
  return lrFind(
    {
      model: buildModel(cfg),
      x: data.train.x,
      y: data.train.y,
      batchSize: cfg.data.batchSize,
      loss: lossAndMetrics(lm).loss,
      optimizer: createOptimizer(cfg.optimizer),
      seed: cfg.seed,
    },
    opts,
  );
}
