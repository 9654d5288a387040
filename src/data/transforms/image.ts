// Image transforms on float32 [C, H, W] arrays (C = 1 or 3). Geometry first, then colour, then normalise.
// Colour adjustments (colorJitter and its steps) live in color.ts.
import type { NDArray } from '../../graph/ndarray.js';
import { rejectUnknown, withDefaults, type ArrayTransform } from './transform.js';

type Image = NDArray<'float32'>;

function asImage(name: string, a: NDArray): { img: Image; c: number; h: number; w: number } {
  if (a.dtype !== 'float32') throw new Error(`${name}: image is ${a.dtype}, expected float32 (add toFloat() first)`);
  if (a.shape.length !== 3) throw new Error(`${name}: image has shape [${a.shape}], expected [C, H, W]`);
  return { img: a as Image, c: a.shape[0], h: a.shape[1], w: a.shape[2] };
}
const image = (c: number, h: number, w: number, data: Float32Array): Image => ({
  dtype: 'float32',
  shape: [c, h, w],
  data,
});
const pair = (v: number | readonly [number, number]): [number, number] =>
  typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** Options of {@link toFloat}: the factor every value is multiplied by on the way to float32. */
export interface ToFloatOptions {
  /** Multiplier applied to every value (default 1/255: uint8 pixels to [0, 1]). */
  readonly scale?: number;
}
/** Any numeric array to float32, scaled (uint8 [H, W] becomes [1, H, W]). */
export function toFloat(options?: ToFloatOptions): ArrayTransform {
  const o = withDefaults<ToFloatOptions>('toFloat', { scale: 1 / 255 }, options);
  return function toFloat(a) {
    const src = a.data as ArrayLike<number | bigint>;
    const data = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) data[i] = Number(src[i]) * o.scale;
    return { dtype: 'float32', shape: a.shape.length === 2 ? [1, ...a.shape] : [...a.shape], data };
  };
}

/** Options of {@link normalize}: x ↦ (x − mean)/std per channel. */
export interface NormalizeOptions {
  /** Per-channel (or one for all) mean and standard deviation. */
  readonly mean: number | readonly number[];
  readonly std: number | readonly number[];
}
/** (x - mean[c]) / std[c]. */
export function normalize(options: NormalizeOptions): ArrayTransform {
  rejectUnknown('normalize', options, ['mean', 'std']);
  const stds = ([] as number[]).concat(options.std);
  if (stds.some((s) => !(s > 0))) throw new Error(`normalize: std must be > 0, got ${stds}`);
  return function normalize(a) {
    const { img, c, h, w } = asImage('normalize', a);
    const at = (v: number | readonly number[], k: number, what: string): number => {
      if (typeof v === 'number') return v;
      if (v.length !== c) throw new Error(`normalize: ${what} has ${v.length} values, image has ${c} channels`);
      return v[k];
    };
    const out = new Float32Array(img.data.length);
    for (let k = 0; k < c; k++) {
      const m = at(options.mean, k, 'mean');
      const s = at(options.std, k, 'std');
      for (let p = k * h * w; p < (k + 1) * h * w; p++) out[p] = (img.data[p] - m) / s;
    }
    return image(c, h, w, out);
  };
}

/** Options of {@link randomCrop}: output size, padding added first and its fill value. */
export interface RandomCropOptions {
  /** Output size (square or [height, width]). */
  readonly size: number | readonly [number, number];
  /** Pixels of `fill` added on every side before cropping (default 0). */
  readonly padding?: number;
  readonly fill?: number;
}
/** Pads by `padding`, then crops `size` at a uniformly random offset. */
export function randomCrop(options: RandomCropOptions): ArrayTransform {
  const o = withDefaults<RandomCropOptions>('randomCrop', { size: 0, padding: 0, fill: 0 }, options);
  const [oh, ow] = pair(o.size);
  if (!(oh >= 1 && ow >= 1)) throw new Error(`randomCrop: size must be ≥ 1, got ${o.size}`);
  return function randomCrop(a, ctx) {
    const { img, c, h, w } = asImage('randomCrop', a);
    const ph = h + 2 * o.padding;
    const pw = w + 2 * o.padding;
    if (oh > ph || ow > pw) throw new Error(`randomCrop: crop ${oh}x${ow} larger than padded image ${ph}x${pw}`);
    const top = Math.floor(ctx.random() * (ph - oh + 1)) - o.padding;
    const left = Math.floor(ctx.random() * (pw - ow + 1)) - o.padding;
    const out = new Float32Array(c * oh * ow);
    for (let k = 0; k < c; k++)
      for (let r = 0; r < oh; r++)
        for (let q = 0; q < ow; q++) {
          const sr = r + top;
          const sc = q + left;
          out[(k * oh + r) * ow + q] =
            sr < 0 || sr >= h || sc < 0 || sc >= w ? o.fill : img.data[(k * h + sr) * w + sc];
        }
    return image(c, oh, ow, out);
  };
}

/** Options of {@link randomHorizontalFlip}: the probability that a sample is mirrored left to right. */
export interface FlipOptions {
  /** Probability of flipping (default 0.5). */
  readonly p?: number;
}
/** Mirrors left-right with probability p. */
export function randomHorizontalFlip(options?: FlipOptions): ArrayTransform {
  const o = withDefaults<FlipOptions>('randomHorizontalFlip', { p: 0.5 }, options);
  return function randomHorizontalFlip(a, ctx) {
    const { img, c, h, w } = asImage('randomHorizontalFlip', a);
    if (ctx.random() >= o.p) return image(c, h, w, img.data.slice());
    const out = new Float32Array(img.data.length);
    for (let row = 0; row < c * h; row++)
      for (let q = 0; q < w; q++) out[row * w + q] = img.data[row * w + (w - 1 - q)];
    return image(c, h, w, out);
  };
}

/** Options of {@link randomRotation}: the maximum angle in degrees and the fill for uncovered pixels. */
export interface RotationOptions {
  /** The angle is uniform in [-degrees, degrees]. */
  readonly degrees: number;
  /** Value for pixels that come from outside the image (default 0). */
  readonly fill?: number;
}
/** Rotates about the image centre by a random angle, bilinear interpolation. */
export function randomRotation(options: RotationOptions): ArrayTransform {
  const o = withDefaults<RotationOptions>('randomRotation', { degrees: 0, fill: 0 }, options);
  return function randomRotation(a, ctx) {
    const { img, c, h, w } = asImage('randomRotation', a);
    const theta = ((ctx.random() * 2 - 1) * o.degrees * Math.PI) / 180;
    return image(c, h, w, rotate(img.data, c, h, w, theta, o.fill));
  };
}

/** Rotation by `theta` radians (counter-clockwise on screen), sampling the source bilinearly. */
export function rotate(src: Float32Array, c: number, h: number, w: number, theta: number, fill: number): Float32Array {
  const out = new Float32Array(c * h * w);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  for (let r = 0; r < h; r++)
    for (let q = 0; q < w; q++) {
      // inverse map: where in the source does output (r, q) come from
      const y = cos * (r - cy) + sin * (q - cx) + cy;
      const x = -sin * (r - cy) + cos * (q - cx) + cx;
      const y0 = Math.floor(y);
      const x0 = Math.floor(x);
      const fy = y - y0;
      const fx = x - x0;
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number): number =>
          yy < 0 || yy >= h || xx < 0 || xx >= w ? fill : src[(k * h + yy) * w + xx];
        const v =
          (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
          fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        out[(k * h + r) * w + q] = v;
      }
    }
  return out;
}

/** Options of {@link cutout}: the hole's side in pixels, the probability of applying it and the fill value. */
export interface CutoutOptions {
  /** Side of the square hole. */
  readonly size: number;
  /** Probability of applying (default 1). */
  readonly p?: number;
  readonly fill?: number;
}
/** Fills a size×size square centred on a random pixel (clipped at the borders) with `fill`. */
export function cutout(options: CutoutOptions): ArrayTransform {
  const o = withDefaults<CutoutOptions>('cutout', { size: 0, p: 1, fill: 0 }, options);
  return function cutout(a, ctx) {
    const { img, c, h, w } = asImage('cutout', a);
    const apply = ctx.random() < o.p;
    const cy = Math.floor(ctx.random() * h);
    const cx = Math.floor(ctx.random() * w);
    const out = img.data.slice();
    if (!apply) return image(c, h, w, out);
    const half = Math.floor(o.size / 2);
    const [y0, y1] = [Math.max(0, cy - half), Math.min(h, cy - half + o.size)];
    const [x0, x1] = [Math.max(0, cx - half), Math.min(w, cx - half + o.size)];
    for (let k = 0; k < c; k++)
      for (let r = y0; r < y1; r++) for (let q = x0; q < x1; q++) out[(k * h + r) * w + q] = o.fill;
    return image(c, h, w, out);
  };
}
