// Colour adjustments on float32 [C, H, W] images in [0, 1], as torchvision's tensor functional ops
// (torchvision/transforms/functional_tensor.py): each step blends and clamps to [0, 1] before the next, greyscale is
// 0.2989 R + 0.587 G + 0.114 B, hue goes through HSV. `colorJitter` draws factors and a random order as
// torchvision's ColorJitter does. Checked against torchvision 0.14 in test/data/color.test.ts.
import type { NDArray } from '../../graph/ndarray.js';
import { withDefaults, type ArrayTransform } from './transform.js';

type Image = NDArray<'float32'>;

function asImage(name: string, a: NDArray): { data: Float32Array; c: number; n: number } {
  if (a.dtype !== 'float32') throw new Error(`${name}: image is ${a.dtype}, expected float32 (add toFloat() first)`);
  if (a.shape.length !== 3 || (a.shape[0] !== 1 && a.shape[0] !== 3))
    throw new Error(`${name}: image has shape [${a.shape}], expected [C, H, W] with C = 1 or 3`);
  return { data: a.data as Float32Array, c: a.shape[0], n: a.shape[1] * a.shape[2] };
}
const clamp01 = (v: number): number => (v < 0 ? 0 : Math.min(v, 1));
const like = (a: NDArray, data: Float32Array): Image => ({ dtype: 'float32', shape: [...a.shape], data });

/** torchvision's rgb_to_grayscale weights for tensors (ITU-R 601-2 luma). */
const grey = (d: Float32Array, n: number, p: number): number => 0.2989 * d[p] + 0.587 * d[n + p] + 0.114 * d[2 * n + p];

/** clamp(f·x): adjust_brightness. */
export function adjustBrightness(a: NDArray, f: number): Image {
  const { data } = asImage('adjustBrightness', a);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = f * data[i];
    out[i] = v < 0 ? 0 : Math.min(v, 1);
  }
  return like(a, out);
}

/** clamp(f·x + (1 − f)·mean(grey(x))): adjust_contrast (the mean over the whole image). */
export function adjustContrast(a: NDArray, f: number): Image {
  const { data, c, n } = asImage('adjustContrast', a);
  let mean = 0;
  if (c === 3) for (let p = 0; p < n; p++) mean += grey(data, n, p);
  else for (let p = 0; p < n; p++) mean += data[p];
  mean /= n;
  const out = new Float32Array(data.length);
  const shift = (1 - f) * mean;
  for (let i = 0; i < data.length; i++) {
    const v = f * data[i] + shift;
    out[i] = v < 0 ? 0 : Math.min(v, 1);
  }
  return like(a, out);
}

/** clamp(f·x + (1 − f)·grey(x)) per pixel: adjust_saturation (one channel: unchanged). */
export function adjustSaturation(a: NDArray, f: number): Image {
  const { data, c, n } = asImage('adjustSaturation', a);
  if (c === 1) return like(a, data.slice());
  const out = new Float32Array(data.length);
  const f1 = 1 - f;
  for (let p = 0; p < n; p++) {
    const r = data[p];
    const g = data[n + p];
    const b = data[2 * n + p];
    const l = f1 * (0.2989 * r + 0.587 * g + 0.114 * b);
    const vr = f * r + l;
    const vg = f * g + l;
    const vb = f * b + l;
    out[p] = vr < 0 ? 0 : Math.min(vr, 1);
    out[n + p] = vg < 0 ? 0 : Math.min(vg, 1);
    out[2 * n + p] = vb < 0 ? 0 : Math.min(vb, 1);
  }
  return like(a, out);
}

/** Rotates the hue by `f` turns (f in [-0.5, 0.5]) through HSV: adjust_hue (one channel: unchanged). */
export function adjustHue(a: NDArray, f: number): Image {
  const { data, c, n } = asImage('adjustHue', a);
  if (!(f >= -0.5 && f <= 0.5)) throw new Error(`adjustHue: factor ${f} is not in [-0.5, 0.5]`);
  if (c === 1) return like(a, data.slice());
  const out = new Float32Array(data.length);
  for (let p = 0; p < n; p++) {
    const [r, g, b] = [data[p], data[n + p], data[2 * n + p]];
    // rgb → hsv (torchvision's _rgb2hsv)
    const maxc = Math.max(r, g, b);
    const minc = Math.min(r, g, b);
    const eq = maxc === minc;
    const cr = maxc - minc;
    const s = cr / (eq ? 1 : maxc);
    const div = eq ? 1 : cr;
    const [rc, gc, bc] = [(maxc - r) / div, (maxc - g) / div, (maxc - b) / div];
    let h = maxc === r ? bc - gc : maxc === g ? 2 + rc - bc : 4 + gc - rc;
    h = (((h / 6 + 1) % 1) + f) % 1;
    if (h < 0) h += 1;
    // hsv → rgb (_hsv2rgb)
    const v = maxc;
    const i6 = Math.floor(h * 6);
    const fr = h * 6 - i6;
    const P = clamp01(v * (1 - s));
    const Q = clamp01(v * (1 - s * fr));
    const T = clamp01(v * (1 - s * (1 - fr)));
    const sector = ((i6 % 6) + 6) % 6;
    out[p] = [v, Q, P, P, T, v][sector];
    out[n + p] = [T, v, v, Q, P, P][sector];
    out[2 * n + p] = [P, P, T, v, v, Q][sector];
  }
  return like(a, out);
}

/** A factor range: v → [max(0, 1 − v), 1 + v] (hue: v → [−v, v]), or an explicit [min, max]. */
export type FactorRange = number | readonly [number, number];

/**
 * Options of {@link colorJitter}: the range of each random adjustment, applied in a random order; each one left out is
 * off.
 */
export interface ColorJitterOptions {
  /** Brightness factor range (default 0: off). */
  readonly brightness?: FactorRange;
  /** Contrast factor range (default 0: off). */
  readonly contrast?: FactorRange;
  /** RGB only (one channel: unchanged). */
  readonly saturation?: FactorRange;
  /** Hue shift in turns: v in [0, 0.5] → [−v, v], or [min, max] within [−0.5, 0.5] (default 0: off; RGB only). */
  readonly hue?: FactorRange;
}

function range(
  name: string,
  v: FactorRange,
  centre: number,
  bound?: readonly [number, number],
): [number, number] | undefined {
  let r: [number, number];
  if (typeof v === 'number') {
    if (!(v >= 0)) throw new Error(`colorJitter: ${name} must be ≥ 0, got ${v}`);
    if (v === 0) return undefined;
    r = centre === 1 ? [Math.max(0, 1 - v), 1 + v] : [-v, v];
  } else {
    if (!(Array.isArray(v) && v.length === 2 && v[0] <= v[1]))
      throw new Error(`colorJitter: ${name} range must be [min, max] with min ≤ max, got ${JSON.stringify(v)}`);
    r = [v[0], v[1]];
  }
  const [lo, hi] = bound ?? [0, Infinity];
  if (!(r[0] >= lo && r[1] <= hi))
    throw new Error(`colorJitter: ${name} ${JSON.stringify(v)} gives [${r}], outside [${lo}, ${hi}]`);
  return r;
}

/**
 * torchvision's ColorJitter: a factor for each of brightness, contrast, saturation and hue, drawn uniformly from
 * its range, applied in a random order, each step clamped to [0, 1]. Draws 8 random values whatever the options.
 */
export function colorJitter(options: ColorJitterOptions): ArrayTransform {
  const o = withDefaults<ColorJitterOptions>(
    'colorJitter',
    { brightness: 0, contrast: 0, saturation: 0, hue: 0 },
    options,
  );
  const ranges = [
    range('brightness', o.brightness, 1),
    range('contrast', o.contrast, 1),
    range('saturation', o.saturation, 1),
    range('hue', o.hue, 0, [-0.5, 0.5]),
  ];
  const ops = [adjustBrightness, adjustContrast, adjustSaturation, adjustHue];
  return function colorJitter(a, ctx) {
    asImage('colorJitter', a);
    const order = [0, 1, 2, 3];
    for (let i = 3; i > 0; i--) {
      const j = Math.floor(ctx.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const factors = ranges.map((r) => {
      const u = ctx.random();
      return r ? r[0] + u * (r[1] - r[0]) : undefined;
    });
    let out: NDArray = a;
    for (const k of order) if (factors[k] !== undefined) out = ops[k](out, factors[k]!);
    return out === a ? like(a, (a.data as Float32Array).slice()) : (out as Image);
  };
}
