// Batch-level mixing (mixup, cutmix): pairs each sample with another of the batch and mixes inputs and labels,
// so labels become soft: float32 [B, numClasses]. Randomness from the batch context (seed, epoch, batch).
import type { BatchContext } from '../dataset.js';
import { beta } from '../random.js';
import type { Batch } from '../tensor.js';
import type { NDArray } from '../../graph/ndarray.js';
import { withDefaults } from './transform.js';

/** A transform of a whole collated batch (mixup, cutmix), seeded through `ctx`; a pure function of (batch, ctx). */
export type BatchTransform = (batch: Batch, ctx: BatchContext) => Batch;

/**
 * Options of {@link mixup} and {@link cutmix}: the class count (labels become soft [B, K]), the Beta concentration and
 * the batch keys of inputs and labels.
 */
export interface MixOptions {
  readonly numClasses: number;
  /** Beta(alpha, alpha) concentration (default 1 for cutmix, 0.2 for mixup). */
  readonly alpha?: number;
  readonly xKey?: string;
  readonly yKey?: string;
}

/** Labels as float32 [B, K]: integer labels one-hot, soft labels checked and copied. */
export function softLabels(name: string, y: NDArray, numClasses: number): Float32Array {
  const b = y.shape[0];
  if (y.shape.length === 2) {
    if (y.dtype !== 'float32' || y.shape[1] !== numClasses)
      throw new Error(`${name}: soft labels must be float32 [B, ${numClasses}], got ${y.dtype}[${y.shape}]`);
    return (y.data as Float32Array).slice();
  }
  if (y.shape.length !== 1) throw new Error(`${name}: labels must be [B] or [B, K], got [${y.shape}]`);
  const out = new Float32Array(b * numClasses);
  for (let i = 0; i < b; i++) {
    const c = Number((y.data as ArrayLike<number | bigint>)[i]);
    if (!(Number.isInteger(c) && c >= 0 && c < numClasses))
      throw new Error(`${name}: label ${c} at row ${i} is not in [0, ${numClasses})`);
    out[i * numClasses + c] = 1;
  }
  return out;
}

function checkMix(name: string, o: Required<MixOptions>): void {
  if (!(Number.isInteger(o.numClasses) && o.numClasses >= 2))
    throw new Error(`${name}: numClasses must be an integer ≥ 2, got ${o.numClasses}`);
  if (!(o.alpha > 0)) throw new Error(`${name}: alpha must be > 0, got ${o.alpha}`);
}

function shuffled(b: number, random: () => number): Uint32Array {
  const p = Uint32Array.from({ length: b }, (_, i) => i);
  for (let i = b - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function parts(name: string, batch: Batch, xKey: string, yKey: string): { x: NDArray<'float32'>; y: NDArray } {
  const x = batch[xKey];
  const y = batch[yKey];
  if (x?.dtype !== 'float32')
    throw new Error(`${name}: batch "${xKey}" must be float32, got ${x ? x.dtype : 'nothing'}`);
  if (!y) throw new Error(`${name}: batch has no "${yKey}"`);
  return { x: x as NDArray<'float32'>, y };
}

function mixLabels(soft: Float32Array, perm: Uint32Array, k: number, lam: number): Float32Array {
  const out = new Float32Array(soft.length);
  for (let i = 0; i < perm.length; i++)
    for (let c = 0; c < k; c++) out[i * k + c] = lam * soft[i * k + c] + (1 - lam) * soft[perm[i] * k + c];
  return out;
}

/** mixup (Zhang et al. 2018): x = λ·x + (1−λ)·x[perm], same for labels; one λ ~ Beta(α, α) per batch. */
export function mixup(options: MixOptions): BatchTransform {
  const o = withDefaults<MixOptions>('mixup', { numClasses: 0, alpha: 0.2, xKey: 'x', yKey: 'y' }, options);
  checkMix('mixup', o);
  return function mixup(batch, ctx) {
    const { x, y } = parts('mixup', batch, o.xKey, o.yKey);
    const b = x.shape[0];
    const per = x.data.length / b;
    const lam = beta(ctx.random, o.alpha, o.alpha);
    const perm = shuffled(b, ctx.random);
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < b; i++)
      for (let p = 0; p < per; p++)
        out[i * per + p] = lam * x.data[i * per + p] + (1 - lam) * x.data[perm[i] * per + p];
    const soft = mixLabels(softLabels('mixup', y, o.numClasses), perm, o.numClasses, lam);
    return {
      ...batch,
      [o.xKey]: { dtype: 'float32', shape: [...x.shape], data: out },
      [o.yKey]: { dtype: 'float32', shape: [b, o.numClasses], data: soft },
    };
  };
}

/** cutmix (Yun et al. 2019): pastes a box of x[perm] into x; labels mixed by the pasted area. x is [B, C, H, W]. */
export function cutmix(options: MixOptions): BatchTransform {
  const o = withDefaults<MixOptions>('cutmix', { numClasses: 0, alpha: 1, xKey: 'x', yKey: 'y' }, options);
  checkMix('cutmix', o);
  return function cutmix(batch, ctx) {
    const { x, y } = parts('cutmix', batch, o.xKey, o.yKey);
    if (x.shape.length !== 4) throw new Error(`cutmix: "${o.xKey}" must be [B, C, H, W], got [${x.shape}]`);
    const [b, c, h, w] = x.shape;
    const lam0 = beta(ctx.random, o.alpha, o.alpha);
    const perm = shuffled(b, ctx.random);
    const cutH = Math.floor(h * Math.sqrt(1 - lam0));
    const cutW = Math.floor(w * Math.sqrt(1 - lam0));
    const cy = Math.floor(ctx.random() * h);
    const cx = Math.floor(ctx.random() * w);
    const [y0, y1] = [Math.max(0, cy - (cutH >> 1)), Math.min(h, cy + cutH - (cutH >> 1))];
    const [x0, x1] = [Math.max(0, cx - (cutW >> 1)), Math.min(w, cx + cutW - (cutW >> 1))];
    const lam = 1 - ((y1 - y0) * (x1 - x0)) / (h * w); // the area actually kept
    const out = x.data.slice();
    const per = c * h * w;
    for (let i = 0; i < b; i++)
      for (let k = 0; k < c; k++)
        for (let r = y0; r < y1; r++)
          for (let q = x0; q < x1; q++)
            out[i * per + (k * h + r) * w + q] = x.data[perm[i] * per + (k * h + r) * w + q];
    const soft = mixLabels(softLabels('cutmix', y, o.numClasses), perm, o.numClasses, lam);
    return {
      ...batch,
      [o.xKey]: { dtype: 'float32', shape: [...x.shape], data: out },
      [o.yKey]: { dtype: 'float32', shape: [b, o.numClasses], data: soft },
    };
  };
}
