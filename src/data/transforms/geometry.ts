// Geometry transforms named as torchvision's: resize, centerCrop, pad (constant, edge, reflect, symmetric),
// randomVerticalFlip and randomResizedCrop, on float32 [C, H, W] images. Resampling is resample2d.ts's (PIL's).
import type { NDArray } from '../../graph/ndarray.js';
import { withDefaults, type ArrayTransform } from './transform.js';
import { resample2d, type Interpolation } from './resample2d.js';

type Image = NDArray<'float32'>;
export type { Interpolation };

function asImage(name: string, a: NDArray): { data: Float32Array; c: number; h: number; w: number } {
  if (a.dtype !== 'float32') throw new Error(`${name}: image is ${a.dtype}, expected float32 (add toFloat() first)`);
  if (a.shape.length !== 3) throw new Error(`${name}: image has shape [${a.shape}], expected [C, H, W]`);
  return { data: a.data as Float32Array, c: a.shape[0], h: a.shape[1], w: a.shape[2] };
}
const image = (c: number, h: number, w: number, data: Float32Array): Image => ({
  dtype: 'float32',
  shape: [c, h, w],
  data,
});
const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic'];

function checkSize(name: string, size: number | readonly number[]): void {
  const ok =
    typeof size === 'number'
      ? Number.isInteger(size) && size >= 1
      : size.length === 2 && size.every((v) => Number.isInteger(v) && v >= 1);
  if (!ok) throw new Error(`${name}: size must be an integer ≥ 1 or [height, width], got ${JSON.stringify(size)}`);
}
function checkInterpolation(name: string, i: string): void {
  if (!INTERPOLATIONS.includes(i as Interpolation))
    throw new Error(`${name}: interpolation must be one of ${INTERPOLATIONS.join(', ')}, got ${JSON.stringify(i)}`);
}

/** torchvision's output size: a number sets the smaller edge (aspect kept, the other edge truncated), a pair is exact. */
export function resizedShape(h: number, w: number, size: number | readonly [number, number]): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  return h <= w ? [size, Math.trunc((size * w) / h)] : [Math.trunc((size * h) / w), size];
}

/** Options of {@link resize}: target size, interpolation and antialiasing. */
export interface ResizeOptions {
  /** The smaller edge (aspect kept) or [height, width]. */
  readonly size: number | readonly [number, number];
  /** Default 'bilinear' (torchvision's default). */
  readonly interpolation?: Interpolation;
  /** Widen the filter when shrinking (default true: PIL's behaviour, torchvision ≥ 0.17's default). */
  readonly antialias?: boolean;
}
/** torchvision's Resize on float images. */
export function resize(options: ResizeOptions): ArrayTransform {
  const o = withDefaults<ResizeOptions>('resize', { size: 0, interpolation: 'bilinear', antialias: true }, options);
  checkSize('resize', o.size);
  checkInterpolation('resize', o.interpolation);
  return function resize(a) {
    const { data, c, h, w } = asImage('resize', a);
    const [oh, ow] = resizedShape(h, w, o.size);
    return image(c, oh, ow, resample2d(data, c, h, w, oh, ow, o.interpolation, o.antialias));
  };
}

/** Crops [top, top + h) × [left, left + w), filling outside the image with `fill` (torchvision's F.crop). */
export function crop(a: NDArray, top: number, left: number, h: number, w: number, fill = 0): Image {
  const { data, c, h: H, w: W } = asImage('crop', a);
  const out = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++)
    for (let r = 0; r < h; r++)
      for (let q = 0; q < w; q++) {
        const sr = r + top;
        const sc = q + left;
        out[(k * h + r) * w + q] = sr < 0 || sr >= H || sc < 0 || sc >= W ? fill : data[(k * H + sr) * W + sc];
      }
  return image(c, h, w, out);
}

/** Options of {@link centerCrop}: the output size in pixels. */
export interface CenterCropOptions {
  /** Output size (square or [height, width]); larger than the image pads with 0, as torchvision. */
  readonly size: number | readonly [number, number];
}
/** torchvision's CenterCrop: top = round((H − h) / 2), left = round((W − w) / 2) (Python's round, half to even). */
export function centerCrop(options: CenterCropOptions): ArrayTransform {
  const o = withDefaults<CenterCropOptions>('centerCrop', { size: 0 }, options);
  checkSize('centerCrop', o.size);
  const [oh, ow] = typeof o.size === 'number' ? [o.size, o.size] : [o.size[0], o.size[1]];
  return function centerCrop(a) {
    const { h, w } = asImage('centerCrop', a);
    return crop(a, roundHalfEven((h - oh) / 2), roundHalfEven((w - ow) / 2), oh, ow);
  };
}
/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/**
 * How {@link pad} fills the border: a constant value, the edge pixel repeated, or the image mirrored (`reflect` without
 * repeating the edge pixel, `symmetric` repeating it).
 */
export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';
/** Options of {@link pad}: the padding in pixels per side, the padding mode and the constant fill value. */
export interface PadOptions {
  /** All sides, [left/right, top/bottom], or [left, top, right, bottom] (torchvision's order). */
  readonly padding: number | readonly number[];
  /** Default 'constant'. reflect mirrors without repeating the edge, symmetric repeating it. */
  readonly paddingMode?: PaddingMode;
  /** Value for 'constant' (default 0). */
  readonly fill?: number;
}
/** torchvision's Pad. */
export function pad(options: PadOptions): ArrayTransform {
  const o = withDefaults<PadOptions>('pad', { padding: 0, paddingMode: 'constant', fill: 0 }, options);
  const p =
    typeof o.padding === 'number'
      ? [o.padding, o.padding, o.padding, o.padding]
      : o.padding.length === 2
        ? [o.padding[0], o.padding[1], o.padding[0], o.padding[1]]
        : [...o.padding];
  if (p.length !== 4 || p.some((v) => !(Number.isInteger(v) && v >= 0)))
    throw new Error(`pad: padding must be integers ≥ 0 (1, 2 or 4 of them), got ${JSON.stringify(o.padding)}`);
  if (!['constant', 'edge', 'reflect', 'symmetric'].includes(o.paddingMode))
    throw new Error(
      `pad: paddingMode must be constant, edge, reflect or symmetric, got ${JSON.stringify(o.paddingMode)}`,
    );
  const [left, top, right, bottom] = p;
  return function pad(a) {
    const { data, c, h, w } = asImage('pad', a);
    if (o.paddingMode === 'reflect' && (Math.max(top, bottom) >= h || Math.max(left, right) >= w)) {
      throw new Error(`pad: reflect padding ${JSON.stringify(p)} must be smaller than the image ${h}x${w}`);
    }
    const index = (i: number, n: number): number => {
      if (i >= 0 && i < n) return i;
      if (o.paddingMode === 'edge') return i < 0 ? 0 : n - 1;
      const period = o.paddingMode === 'reflect' ? 2 * n - 2 : 2 * n;
      const m = ((i % period) + period) % period;
      if (o.paddingMode === 'reflect') return m < n ? m : period - m;
      return m < n ? m : period - 1 - m;
    };
    const oh = h + top + bottom;
    const ow = w + left + right;
    const out = new Float32Array(c * oh * ow);
    for (let k = 0; k < c; k++)
      for (let r = 0; r < oh; r++)
        for (let q = 0; q < ow; q++) {
          const sr = r - top;
          const sc = q - left;
          const inside = sr >= 0 && sr < h && sc >= 0 && sc < w;
          out[(k * oh + r) * ow + q] = inside
            ? data[(k * h + sr) * w + sc]
            : o.paddingMode === 'constant'
              ? o.fill
              : data[(k * h + index(sr, h)) * w + index(sc, w)];
        }
    return image(c, oh, ow, out);
  };
}

/** Options of {@link randomVerticalFlip}: the probability of flipping. */
export interface VerticalFlipOptions {
  /** Probability of flipping (default 0.5). */
  readonly p?: number;
}
/** Mirrors top-bottom with probability p (one random draw). */
export function randomVerticalFlip(options?: VerticalFlipOptions): ArrayTransform {
  const o = withDefaults<VerticalFlipOptions>('randomVerticalFlip', { p: 0.5 }, options);
  return function randomVerticalFlip(a, ctx) {
    const { data, c, h, w } = asImage('randomVerticalFlip', a);
    if (ctx.random() >= o.p) return image(c, h, w, data.slice());
    const out = new Float32Array(data.length);
    for (let k = 0; k < c; k++)
      for (let r = 0; r < h; r++) out.set(data.subarray((k * h + h - 1 - r) * w, (k * h + h - r) * w), (k * h + r) * w);
    return image(c, h, w, out);
  };
}

/**
 * Options of {@link randomResizedCrop}: output size, ranges of the crop's area and aspect ratio, and how it is resized.
 */
export interface RandomResizedCropOptions {
  /** Output size (square or [height, width]). */
  readonly size: number | readonly [number, number];
  /** Range of the crop's area as a fraction of the image (default [0.08, 1]). */
  readonly scale?: readonly [number, number];
  /** Range of the crop's aspect ratio w/h, drawn log-uniformly (default [3/4, 4/3]). */
  readonly ratio?: readonly [number, number];
  readonly interpolation?: Interpolation;
  readonly antialias?: boolean;
}
/**
 * torchvision's RandomResizedCrop: up to 10 tries at a crop of random area and log-uniform aspect ratio that fits,
 * else the centre crop with the ratio clamped to the range; then resized to `size`. Draws 40 random values always.
 */
export function randomResizedCrop(options: RandomResizedCropOptions): ArrayTransform {
  const o = withDefaults<RandomResizedCropOptions>(
    'randomResizedCrop',
    { size: 0, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], interpolation: 'bilinear', antialias: true },
    options,
  );
  checkSize('randomResizedCrop', o.size);
  checkInterpolation('randomResizedCrop', o.interpolation);
  if (!(o.scale[0] > 0 && o.scale[0] <= o.scale[1]))
    throw new Error(`randomResizedCrop: scale must be [min, max] with 0 < min ≤ max, got ${JSON.stringify(o.scale)}`);
  if (!(o.ratio[0] > 0 && o.ratio[0] <= o.ratio[1]))
    throw new Error(`randomResizedCrop: ratio must be [min, max] with 0 < min ≤ max, got ${JSON.stringify(o.ratio)}`);
  const [oh, ow] = typeof o.size === 'number' ? [o.size, o.size] : [o.size[0], o.size[1]];
  return function randomResizedCrop(a, ctx) {
    const { c, h, w } = asImage('randomResizedCrop', a);
    const [top, left, ch, cw] = resizedCropBox(h, w, o.scale, o.ratio, ctx.random);
    const box = crop(a, top, left, ch, cw);
    return image(c, oh, ow, resample2d(box.data, c, ch, cw, oh, ow, o.interpolation, o.antialias));
  };
}

/** RandomResizedCrop.get_params: [top, left, height, width] of the crop. */
export function resizedCropBox(
  h: number,
  w: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  random: () => number,
): [number, number, number, number] {
  const area = h * w;
  const [lr0, lr1] = [Math.log(ratio[0]), Math.log(ratio[1])];
  let found: [number, number, number, number] | undefined;
  for (let t = 0; t < 10; t++) {
    const u = [random(), random(), random(), random()]; // area, ratio, top, left: always drawn
    if (found) continue;
    const target = area * (scale[0] + u[0] * (scale[1] - scale[0]));
    const aspect = Math.exp(lr0 + u[1] * (lr1 - lr0));
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h)
      found = [Math.floor(u[2] * (h - ch + 1)), Math.floor(u[3] * (w - cw + 1)), ch, cw];
  }
  if (found) return found;
  const inRatio = w / h;
  let cw: number;
  let ch: number;
  if (inRatio < ratio[0]) (cw = w), (ch = roundHalfEven(cw / ratio[0]));
  else if (inRatio > ratio[1]) (ch = h), (cw = roundHalfEven(ch * ratio[1]));
  else (cw = w), (ch = h);
  return [Math.trunc((h - ch) / 2), Math.trunc((w - cw) / 2), ch, cw];
}
