// NeRF (Mildenhall et al. 2020): a radiance field — density σ(x) from the position and colour c(x, d) from features
// and the view direction, both through sinusoidal positional encodings — rendered by quadrature along camera rays:
// α_i = 1 − exp(−σ_i δ_i), T_i = exp(−Σ_{j<i} σ_j δ_j), w_i = T_i α_i, C = Σ w_i c_i (+ (1 − Σ w_i) on white).
// Samples are stratified over [near, far] (a fresh uniform offset per bin each step, from the in-graph RNG; bin
// centres at inference); with `fineSamples` > 0 a second field is evaluated at the union of the coarse samples and
// samples drawn by inverse-CDF from the coarse weights (hierarchical sampling, computed in the graph with no gradient
// through the positions). Everything is traced ops, so a training step is one graph like every other model's.
import { z } from 'zod';
import {
  add,
  cast,
  clamp,
  cos,
  exp,
  lessOrEqual,
  log,
  maximum,
  minimum,
  mul,
  neg,
  relu,
  sigmoid,
  sin,
  softplus,
  square,
  sub,
  div,
  where,
  less,
} from '../graph/ops/elementwise.js';
import { cumsum, gatherElements, topk } from '../graph/ops/indexing.js';
import { constant, scalar } from '../graph/ops/leaf.js';
import { concat, reshape, sliceAxis, unsqueeze } from '../graph/ops/movement.js';
import { randomUniform } from '../graph/ops/random.js';
import { mean, sum } from '../graph/ops/reduce.js';
import { stopGradient } from '../graph/ops/differentiation.js';
import { float32 } from '../graph/ndarray.js';
import type { Tensor } from '../graph/tensor.js';
import { Linear, Module } from '../nn/index.js';
import { traceContext } from '../nn/context.js';
import { registerModel } from './registry.js';

/**
 * Zod schema of the `nerf` model's options (encodings, MLP size, coarse and fine samples per ray, near and far bounds);
 * parsing fills the defaults and throws if `far` ≤ `near`.
 */
export const nerfOptions = z
  .object({
    /** Frequencies of the position encoding (x, sin 2^k x, cos 2^k x for k < posFreqs). */
    posFreqs: z.number().int().nonnegative().default(8),
    /** Frequencies of the view-direction encoding. */
    dirFreqs: z.number().int().nonnegative().default(3),
    /** Width and number of hidden layers of the density trunk. */
    width: z.number().int().positive().default(128),
    depth: z.number().int().positive().default(4),
    /** Stratified (coarse) samples per ray. */
    samples: z.number().int().min(2).default(32),
    /** Inverse-CDF (fine) samples per ray; 0 disables the fine field. */
    fineSamples: z.number().int().nonnegative().default(32),
    /** Ray bounds (unit directions). */
    near: z.number().nonnegative().default(1.5),
    far: z.number().positive().default(7.5),
    /** Composite on white (the procedural scene's background). */
    whiteBackground: z.boolean().default(true),
  })
  .strict()
  .refine((o) => o.far > o.near, { message: 'far must be greater than near', path: ['far'] });
/**
 * Options of {@link NeRF} as written in a config or passed to the constructor (every field optional); see {@link
 * nerfOptions}.
 */
export type NeRFOptions = z.input<typeof nerfOptions>;
type Cfg = z.output<typeof nerfOptions>;

/** [..., D] → [..., D·(1 + 2·freqs)]: x, then sin(2^k x) and cos(2^k x) for k = 0..freqs−1. */
export function positionalEncoding(x: Tensor, freqs: number): Tensor {
  const parts = [x];
  for (let k = 0; k < freqs; k++) {
    const xk = mul(x, 2 ** k);
    parts.push(sin(xk), cos(xk));
  }
  return concat(parts, -1);
}

/** The encoded width of a D-vector with `freqs` frequencies. */
export const encodedWidth = (d: number, freqs: number): number => d * (1 + 2 * freqs);

/** Volume-rendered rays: colour [B, 3], accumulated opacity [B], and the per-sample weights [B, S]. */
export interface RenderedRays {
  readonly rgb: Tensor;
  readonly acc: Tensor;
  readonly weights: Tensor;
}

/**
 * Quadrature of the volume-rendering integral: densities σ [B, S] ≥ 0, colours [B, S, 3], interval lengths δ [B, S].
 * With `white`, the transmitted remainder 1 − acc is added to every channel.
 */
export function volumeRender(sigma: Tensor, rgb: Tensor, deltas: Tensor, white = false): RenderedRays {
  const sd = mul(sigma, deltas);
  const alpha = sub(1, exp(neg(sd)));
  const trans = exp(neg(cumsum(sd, 1, { exclusive: true })));
  const weights = mul(trans, alpha);
  const acc = sum(weights, 1);
  let color = sum(mul(unsqueeze(weights, 2), rgb), 1);
  if (white) color = add(color, unsqueeze(sub(1, acc), 1));
  return { rgb: color, acc, weights };
}

/** δ_i = t_{i+1} − t_i, the last one reaching `far`: [B, S]. */
export function sampleDeltas(t: Tensor, far: number): Tensor {
  const s = t.shape[1] as number;
  const next = concat([sliceAxis(t, 1, 1, s), add(mul(sliceAxis(t, 1, 0, 1), 0), far)], 1);
  return relu(sub(next, t));
}

/** A tensor of zeros [B, n] with the batch dim of `like` [B, ...] (to shape random draws and constants). */
function zerosRows(like: Tensor, n: number): Tensor {
  return add(mul(sliceAxis(like, 1, 0, 1), 0), constant(float32([1, n])));
}

/**
 * Stratified depths [B, S] in [near, far]: bin i is [near + i·h, near + (i+1)·h), one uniform draw per bin from `key`,
 * or the bin centres when `key` is null.
 */
export function stratifiedDepths(
  rays: Tensor,
  samples: number,
  near: number,
  far: number,
  key: Tensor | null,
  stream = 1,
): Tensor {
  const h = (far - near) / samples;
  const base = constant(
    float32(
      [1, samples],
      Array.from({ length: samples }, (_, i) => near + i * h),
    ),
  );
  const zeros = zerosRows(rays, samples);
  const u = key ? randomUniform(key, zeros, { stream }) : add(zeros, 0.5);
  return add(base, mul(u, h));
}

/**
 * Hierarchical sampling: `n` depths [B, n] drawn by inverse-CDF from piecewise-constant weights [B, S] over the bins
 * between consecutive coarse depths t [B, S] (the end weights dropped, as in the reference). With `key` null the
 * CDF is inverted at evenly spaced points. No gradient flows through the result.
 */
export function samplePdf(t: Tensor, weights: Tensor, n: number, key: Tensor | null, stream = 2): Tensor {
  const s = t.shape[1] as number;
  if (s < 3) throw new Error(`samplePdf: needs at least 3 coarse samples, got ${s}`);
  const tc = stopGradient(t);
  const bins = mul(add(sliceAxis(tc, 1, 1, s), sliceAxis(tc, 1, 0, s - 1)), 0.5); // [B, S−1] midpoints
  const w = add(sliceAxis(stopGradient(weights), 1, 1, s - 1), 1e-5); // [B, S−2]
  const pdf = div(w, sum(w, 1, true));
  const cdf = concat([mul(sliceAxis(pdf, 1, 0, 1), 0), cumsum(pdf, 1)], 1); // [B, S−1], 0 … 1
  const zeros = zerosRows(t, n);
  const u = key
    ? randomUniform(key, zeros, { stream })
    : add(
        zeros,
        constant(
          float32(
            [1, n],
            Array.from({ length: n }, (_, i) => (i + 0.5) / n),
          ),
        ),
      );
  // the number of CDF entries ≤ u: the bin above u (searchsorted, right)
  const inds = sum(cast(lessOrEqual(unsqueeze(cdf, 1), unsqueeze(u, 2)), 'int64'), 2); // [B, n]
  const below = maximum(sub(inds, scalar(1, 'int64')), scalar(0, 'int64'));
  const above = minimum(inds, scalar(s - 2, 'int64'));
  const cdfB = gatherElements(cdf, below, 1);
  const cdfA = gatherElements(cdf, above, 1);
  const binB = gatherElements(bins, below, 1);
  const binA = gatherElements(bins, above, 1);
  const span = sub(cdfA, cdfB);
  const denom = where(less(span, 1e-5), 1, span);
  const frac = clamp(div(sub(u, cdfB), denom), 0, 1);
  return stopGradient(add(binB, mul(frac, sub(binA, binB))));
}

/** One radiance field: density from the encoded position, colour from features and the encoded direction. */
export class RadianceField extends Module {
  readonly trunk: Linear[];
  readonly sigmaHead: Linear;
  readonly feature: Linear;
  readonly dirLayer: Linear;
  readonly rgbHead: Linear;
  constructor(private readonly c: Cfg) {
    super();
    const inPos = encodedWidth(3, c.posFreqs);
    this.trunk = Array.from({ length: c.depth }, (_, i) => new Linear(i === 0 ? inPos : c.width, c.width));
    this.sigmaHead = new Linear(c.width, 1);
    this.feature = new Linear(c.width, c.width);
    const half = Math.max(1, c.width >> 1);
    this.dirLayer = new Linear(c.width + encodedWidth(3, c.dirFreqs), half);
    this.rgbHead = new Linear(half, 3);
  }
  /** Points [N, 3] and unit directions [N, 3] → density [N] (softplus, ≥ 0) and colour [N, 3] in (0, 1). */
  query(points: Tensor, dirs: Tensor): { sigma: Tensor; rgb: Tensor } {
    let h = positionalEncoding(points, this.c.posFreqs);
    for (const l of this.trunk) h = relu(l.forward(h));
    const sigma = softplus(sub(reshape(this.sigmaHead.forward(h), [-1]), 1));
    const f = this.feature.forward(h);
    const g = relu(this.dirLayer.forward(concat([f, positionalEncoding(dirs, this.c.dirFreqs)], 1)));
    return { sigma, rgb: sigmoid(this.rgbHead.forward(g)) };
  }
  forward(points: Tensor, dirs?: Tensor): Tensor {
    if (!dirs) throw new Error('RadianceField.forward: needs points and directions');
    const { sigma, rgb } = this.query(points, dirs);
    return concat([unsqueeze(sigma, 1), rgb], 1);
  }
  /** Renders rays [B, 6] (origin, unit direction) at depths t [B, S]. */
  renderAt(rays: Tensor, t: Tensor): RenderedRays {
    const s = t.shape[1] as number;
    const o = sliceAxis(rays, 1, 0, 3);
    const d = sliceAxis(rays, 1, 3, 6);
    const pts = add(unsqueeze(o, 1), mul(unsqueeze(t, 2), unsqueeze(d, 1))); // [B, S, 3]
    const dirs = add(unsqueeze(d, 1), unsqueeze(mul(t, 0), 2)); // [B, S, 3]
    const { sigma, rgb } = this.query(reshape(pts, [-1, 3]), reshape(dirs, [-1, 3]));
    return volumeRender(
      reshape(sigma, [-1, s]),
      reshape(rgb, [-1, s, 3]),
      sampleDeltas(t, this.c.far),
      this.c.whiteBackground,
    );
  }
}

/** NeRF: a coarse field and (with fineSamples > 0) a fine one; `forward(rays [B, 6])` is the rendered colour [B, 3]. */
export class NeRF extends Module {
  readonly coarse: RadianceField;
  readonly fine: RadianceField | null;
  readonly cfg: Cfg;
  constructor(opts: NeRFOptions = {}) {
    super();
    this.cfg = nerfOptions.parse(opts);
    this.coarse = new RadianceField(this.cfg);
    this.fine = this.cfg.fineSamples > 0 ? new RadianceField(this.cfg) : null;
  }
  /** Coarse and (if any) fine renderings of rays [B, 6]; `key` null renders deterministically. */
  render(rays: Tensor, key: Tensor | null): { coarse: RenderedRays; fine: RenderedRays | null } {
    const c = this.cfg;
    const t = stratifiedDepths(rays, c.samples, c.near, c.far, key);
    const coarse = this.coarse.renderAt(rays, t);
    if (!this.fine) return { coarse, fine: null };
    const tf = samplePdf(t, coarse.weights, c.fineSamples, key);
    const all = concat([stopGradient(t), tf], 1);
    const [sorted] = topk(all, c.samples + c.fineSamples, 1, false);
    return { coarse, fine: this.fine.renderAt(rays, stopGradient(sorted)) };
  }
  forward(rays: Tensor): Tensor {
    const r = this.render(rays, null);
    return (r.fine ?? r.coarse).rgb;
  }
}

/** −10·log10(mse): PSNR in dB of colours in [0, 1]. */
export const psnrFromMse = (mse: Tensor): Tensor => mul(log(maximum(mse, 1e-10)), -10 / Math.LN10);

/**
 * The training objective: mean squared error of the coarse and the fine renderings against `batch.y` [B, 3], rays
 * in `batch.x` [B, 6]; metrics `mse` and `psnr` of the final rendering. Stratified offsets come from the step's key.
 */
export function nerfObjective(
  model: Module,
  batch: Readonly<Record<string, Tensor>>,
): { loss: Tensor; metrics: Record<string, Tensor> } {
  if (!(model instanceof NeRF)) throw new Error('nerfObjective: the model is not a NeRF');
  const { x, y } = batch;
  if (!x || !y)
    throw new Error(
      `nerfObjective: the batch needs "x" (rays) and "y" (colours); its keys are ${Object.keys(batch).join(', ')}`,
    );
  const key = traceContext().key ?? null;
  const r = model.render(x, key);
  const coarse = mean(square(sub(r.coarse.rgb, y)));
  const fine = r.fine ? mean(square(sub(r.fine.rgb, y))) : null;
  const final = fine ?? coarse;
  return { loss: fine ? add(coarse, fine) : coarse, metrics: { mse: final, psnr: psnrFromMse(final) } };
}

registerModel({
  name: 'nerf',
  description:
    'neural radiance field: positional encoding, view-dependent MLP, stratified + hierarchical sampling, volume rendering; forward(rays [B, 6]) renders colours',
  options: nerfOptions,
  inputShape: () => [6],
  inputs: () => [{ name: 'rays', dtype: 'float32', shape: [6] }],
  create: (o) => new NeRF(o),
});
