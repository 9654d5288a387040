// RandAugment and TrivialAugmentWide as torchvision 0.14 defines them (transforms/autoaugment.py): the same 14
// operations, magnitude tables and sampling, on float32 [C, H, W] images in [0, 1]. Geometric operations use
// nearest-neighbour sampling with fill 0 (torchvision's defaults). Posterize and equalize work on the 8-bit image
// torchvision's convert_image_dtype gives (floor(x·255.999)); solarize's threshold is the 8-bit magnitude / 255
// (torchvision 0.14 rejects float images there). Checked op by op against torchvision in test/data/autoaugment.test.ts.
import type { NDArray } from '../../graph/ndarray.js';
import { withDefaults, type ArrayTransform } from './transform.js';
import { adjustBrightness, adjustContrast, adjustSaturation } from './color.js';

type Image = NDArray<'float32'>;

function asImage(name: string, a: NDArray): { data: Float32Array; c: number; h: number; w: number } {
  if (a.dtype !== 'float32') throw new Error(`${name}: image is ${a.dtype}, expected float32 (add toFloat() first)`);
  if (a.shape.length !== 3 || (a.shape[0] !== 1 && a.shape[0] !== 3))
    throw new Error(`${name}: image has shape [${a.shape}], expected [C, H, W] with C = 1 or 3`);
  return { data: a.data as Float32Array, c: a.shape[0], h: a.shape[1], w: a.shape[2] };
}
const like = (a: NDArray, data: Float32Array): Image => ({ dtype: 'float32', shape: [...a.shape], data });
const rad = (deg: number): number => (deg * Math.PI) / 180;
/** Round half to even (torch's nearbyint in grid_sample's nearest mode). */
const nearbyint = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** torchvision's _get_inverse_affine_matrix: output → input, about `centre` (relative to the image centre). */
function inverseAffine(
  centre: [number, number],
  angle: number,
  translate: [number, number],
  shear: [number, number],
): number[] {
  const [rot, sx, sy] = [rad(angle), rad(shear[0]), rad(shear[1])];
  const [cx, cy] = centre;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0];
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

/**
 * F.affine / F.rotate on a tensor with nearest sampling and fill 0 (affine_grid + grid_sample, align_corners=False),
 * in float32 as torch computes it: nearest sampling rounds, so a coordinate on a half pixel must round the same way.
 */
function warp(a: NDArray, m: number[]): Image {
  const { data, c, h, w } = asImage('affine', a);
  const f = Math.fround;
  // rescaled theta: theta / [w/2, h/2] per output coordinate (float32)
  const [t0, t1, t2] = [f(f(m[0]) / f(0.5 * w)), f(f(m[1]) / f(0.5 * w)), f(f(m[2]) / f(0.5 * w))];
  const [t3, t4, t5] = [f(f(m[3]) / f(0.5 * h)), f(f(m[4]) / f(0.5 * h)), f(f(m[5]) / f(0.5 * h))];
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const xc = f(-w * 0.5 + 0.5 + x);
      const yc = f(-h * 0.5 + 0.5 + y);
      const gx = f(f(f(xc * t0) + f(yc * t1)) + t2);
      const gy = f(f(f(xc * t3) + f(yc * t4)) + t5);
      const sx = nearbyint(f(f(f(f(gx + 1) * w) - 1) / 2));
      const sy = nearbyint(f(f(f(f(gy + 1) * h) - 1) / 2));
      if (sx < 0 || sx >= w || sy < 0 || sy >= h) continue;
      for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = data[(k * h + sy) * w + sx];
    }
  return like(a, out);
}

/** F.affine's centre argument [0, 0] (the top-left corner) in image-centre coordinates. */
const corner = (a: NDArray): [number, number] => [-a.shape[2] / 2, -a.shape[1] / 2];

/**
 * Shears a [C, H, W] image along x by the shear factor `m` (angle atan(m)) about the top-left corner, as torchvision's
 * F.affine with nearest sampling; uncovered pixels become 0.
 */
export const shearX = (a: NDArray, m: number): Image =>
  warp(a, inverseAffine(corner(a), 0, [0, 0], [(Math.atan(m) * 180) / Math.PI, 0]));
/**
 * Shears a [C, H, W] image along y by the shear factor `m` (angle atan(m)) about the top-left corner, as torchvision's
 * F.affine with nearest sampling; uncovered pixels become 0.
 */
export const shearY = (a: NDArray, m: number): Image =>
  warp(a, inverseAffine(corner(a), 0, [0, 0], [0, (Math.atan(m) * 180) / Math.PI]));
/** Shifts a [C, H, W] image right by `m` pixels (truncated to an integer; negative: left); uncovered pixels are 0. */
export const translateX = (a: NDArray, m: number): Image =>
  warp(a, inverseAffine([0, 0], 0, [Math.trunc(m), 0], [0, 0]));
/**
 * Shifts a [C, H, W] image down by `m` pixels (truncated to an integer; negative shifts up); uncovered pixels become 0.
 */
export const translateY = (a: NDArray, m: number): Image =>
  warp(a, inverseAffine([0, 0], 0, [0, Math.trunc(m)], [0, 0]));
/** Counter-clockwise by `deg` degrees about the centre (F.rotate: the inverse matrix of −angle). */
export const rotateNearest = (a: NDArray, deg: number): Image => warp(a, inverseAffine([0, 0], -deg, [0, 0], [0, 0]));

/** F.adjust_sharpness: blend with the 3x3 smoothed image (centre weight 5/13), borders kept. */
export function adjustSharpness(a: NDArray, f: number): Image {
  const { data, c, h, w } = asImage('adjustSharpness', a);
  if (h <= 2 || w <= 2) return like(a, data.slice());
  const out = new Float32Array(data.length);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (k * h + y) * w + x;
        let blur = data[i];
        if (y > 0 && y < h - 1 && x > 0 && x < w - 1) {
          let s = 4 * data[i];
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += data[i + dy * w + dx];
          blur = s / 13;
        }
        const v = f * data[i] + (1 - f) * blur;
        out[i] = v < 0 ? 0 : Math.min(v, 1);
      }
  return like(a, out);
}

const toByte = (v: number): number => Math.floor(v * 255.999);

/** F.posterize on the 8-bit image: keeps the top `bits` bits. */
export function posterize(a: NDArray, bits: number): Image {
  const { data } = asImage('posterize', a);
  const mask = -(2 ** (8 - bits)) & 0xff;
  return like(
    a,
    Float32Array.from(data, (v) => (toByte(v) & mask) / 255),
  );
}

/** F.solarize: values ≥ threshold (in [0, 1]) become 1 − value. */
export function solarize(a: NDArray, threshold: number): Image {
  const { data } = asImage('solarize', a);
  return like(
    a,
    Float32Array.from(data, (v) => (v >= threshold ? 1 - v : v)),
  );
}

/** F.autocontrast: each channel stretched to [0, 1] (a constant channel is kept). */
export function autocontrast(a: NDArray): Image {
  const { data, c, h, w } = asImage('autocontrast', a);
  const n = h * w;
  const out = new Float32Array(data.length);
  for (let k = 0; k < c; k++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = k * n; p < (k + 1) * n; p++) (lo = Math.min(lo, data[p])), (hi = Math.max(hi, data[p]));
    const scale = hi > lo ? 1 / (hi - lo) : 1;
    if (!(hi > lo)) lo = 0;
    for (let p = k * n; p < (k + 1) * n; p++) out[p] = Math.min(1, Math.max(0, (data[p] - lo) * scale));
  }
  return like(a, out);
}

/** F.equalize on the 8-bit image, per channel (torchvision's _scale_channel). */
export function equalize(a: NDArray): Image {
  const { data, c, h, w } = asImage('equalize', a);
  const n = h * w;
  const out = new Float32Array(data.length);
  for (let k = 0; k < c; k++) {
    const hist = new Float64Array(256);
    for (let p = k * n; p < (k + 1) * n; p++) hist[toByte(data[p])]++;
    const nonzero = [...hist].filter((v) => v !== 0);
    const step = Math.floor(nonzero.slice(0, -1).reduce((s, v) => s + v, 0) / 255);
    if (step === 0) {
      for (let p = k * n; p < (k + 1) * n; p++) out[p] = toByte(data[p]) / 255;
      continue;
    }
    const lut = new Float64Array(256);
    let cum = 0;
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(255, Math.floor((cum + Math.floor(step / 2)) / step)); // shifted by one: lut[i] uses the sum below i
      cum += hist[i];
    }
    for (let p = k * n; p < (k + 1) * n; p++) out[p] = lut[toByte(data[p])] / 255;
  }
  return like(a, out);
}

/** The 14 operations of torchvision's RandAugment / TrivialAugmentWide augmentation spaces, by torchvision's names. */
export type AugmentOp =
  | 'Identity'
  | 'ShearX'
  | 'ShearY'
  | 'TranslateX'
  | 'TranslateY'
  | 'Rotate'
  | 'Brightness'
  | 'Color'
  | 'Contrast'
  | 'Sharpness'
  | 'Posterize'
  | 'Solarize'
  | 'AutoContrast'
  | 'Equalize';

/** torchvision's _apply_op on a float image (Solarize's magnitude is on the 8-bit scale). */
export function applyOp(a: NDArray, op: AugmentOp, magnitude: number): Image {
  switch (op) {
    case 'Identity':
      return like(a, (a.data as Float32Array).slice());
    case 'ShearX':
      return shearX(a, magnitude);
    case 'ShearY':
      return shearY(a, magnitude);
    case 'TranslateX':
      return translateX(a, magnitude);
    case 'TranslateY':
      return translateY(a, magnitude);
    case 'Rotate':
      return rotateNearest(a, magnitude);
    case 'Brightness':
      return adjustBrightness(a, 1 + magnitude);
    case 'Color':
      return adjustSaturation(a, 1 + magnitude);
    case 'Contrast':
      return adjustContrast(a, 1 + magnitude);
    case 'Sharpness':
      return adjustSharpness(a, 1 + magnitude);
    case 'Posterize':
      return posterize(a, Math.trunc(magnitude));
    case 'Solarize':
      return solarize(a, magnitude / 255);
    case 'AutoContrast':
      return autocontrast(a);
    case 'Equalize':
      return equalize(a);
  }
}

/** One op's magnitudes (index = bin; a single 0 for ops without one) and whether its sign is random. */
export type AugmentationSpace = ReadonlyArray<readonly [AugmentOp, readonly number[], boolean]>;
const linspace = (a: number, b: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));
const posterizeBits = (n: number, span: number): number[] =>
  Array.from({ length: n }, (_, i) => 8 - roundHalfEven(i / ((n - 1) / span)));
const roundHalfEven = (v: number): number => {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
};

/** RandAugment._augmentation_space(numBins, [h, w]). */
export function randAugmentSpace(bins: number, h: number, w: number): AugmentationSpace {
  return [
    ['Identity', [0], false],
    ['ShearX', linspace(0, 0.3, bins), true],
    ['ShearY', linspace(0, 0.3, bins), true],
    ['TranslateX', linspace(0, (150 / 331) * w, bins), true],
    ['TranslateY', linspace(0, (150 / 331) * h, bins), true],
    ['Rotate', linspace(0, 30, bins), true],
    ['Brightness', linspace(0, 0.9, bins), true],
    ['Color', linspace(0, 0.9, bins), true],
    ['Contrast', linspace(0, 0.9, bins), true],
    ['Sharpness', linspace(0, 0.9, bins), true],
    ['Posterize', posterizeBits(bins, 4), false],
    ['Solarize', linspace(255, 0, bins), false],
    ['AutoContrast', [0], false],
    ['Equalize', [0], false],
  ];
}

/** TrivialAugmentWide._augmentation_space(numBins). */
export function trivialAugmentSpace(bins: number): AugmentationSpace {
  return [
    ['Identity', [0], false],
    ['ShearX', linspace(0, 0.99, bins), true],
    ['ShearY', linspace(0, 0.99, bins), true],
    ['TranslateX', linspace(0, 32, bins), true],
    ['TranslateY', linspace(0, 32, bins), true],
    ['Rotate', linspace(0, 135, bins), true],
    ['Brightness', linspace(0, 0.99, bins), true],
    ['Color', linspace(0, 0.99, bins), true],
    ['Contrast', linspace(0, 0.99, bins), true],
    ['Sharpness', linspace(0, 0.99, bins), true],
    ['Posterize', posterizeBits(bins, 6), false],
    ['Solarize', linspace(255, 0, bins), false],
    ['AutoContrast', [0], false],
    ['Equalize', [0], false],
  ];
}

const pick = (random: () => number, n: number): number => Math.min(n - 1, Math.floor(random() * n));

/**
 * Options of {@link randAugment} (`numMagnitudeBins` default 31); throws if `numOps` is not an integer ≥ 0,
 * `numMagnitudeBins` not an integer ≥ 2, or `magnitude` not an integer below `numMagnitudeBins`.
 */
export interface RandAugmentOptions {
  /** Operations applied in sequence (default 2). */
  readonly numOps?: number;
  /** Magnitude bin (default 9, of numMagnitudeBins). */
  readonly magnitude?: number;
  readonly numMagnitudeBins?: number;
}
/** torchvision's RandAugment: `numOps` times, a uniformly chosen op at the fixed magnitude, its sign at random. */
export function randAugment(options?: RandAugmentOptions): ArrayTransform {
  const o = withDefaults<RandAugmentOptions>('randAugment', { numOps: 2, magnitude: 9, numMagnitudeBins: 31 }, options);
  if (!(Number.isInteger(o.numOps) && o.numOps >= 0))
    throw new Error(`randAugment: numOps must be an integer ≥ 0, got ${o.numOps}`);
  if (!(Number.isInteger(o.numMagnitudeBins) && o.numMagnitudeBins >= 2))
    throw new Error(`randAugment: numMagnitudeBins must be an integer ≥ 2, got ${o.numMagnitudeBins}`);
  if (!(Number.isInteger(o.magnitude) && o.magnitude >= 0 && o.magnitude < o.numMagnitudeBins)) {
    throw new Error(`randAugment: magnitude must be an integer in [0, ${o.numMagnitudeBins}), got ${o.magnitude}`);
  }
  return function randAugment(a, ctx) {
    const { h, w } = asImage('randAugment', a);
    const space = randAugmentSpace(o.numMagnitudeBins, h, w);
    let out: NDArray = a;
    for (let i = 0; i < o.numOps; i++) {
      const [op, mags, signed] = space[pick(ctx.random, space.length)];
      const negate = ctx.random() < 0.5;
      const m = mags.length > 1 ? mags[o.magnitude] : 0;
      out = applyOp(out, op, signed && negate ? -m : m);
    }
    return out === a ? like(a, (a.data as Float32Array).slice()) : (out as Image);
  };
}

/**
 * Options of {@link trivialAugmentWide}: `numMagnitudeBins` (default 31) splits each op's range; throws if it is not an
 * integer ≥ 2.
 */
export interface TrivialAugmentOptions {
  readonly numMagnitudeBins?: number;
}
/** torchvision's TrivialAugmentWide: one uniformly chosen op at a uniformly chosen magnitude, its sign at random. */
export function trivialAugmentWide(options?: TrivialAugmentOptions): ArrayTransform {
  const o = withDefaults<TrivialAugmentOptions>('trivialAugmentWide', { numMagnitudeBins: 31 }, options);
  if (!(Number.isInteger(o.numMagnitudeBins) && o.numMagnitudeBins >= 2))
    throw new Error(`trivialAugmentWide: numMagnitudeBins must be an integer ≥ 2, got ${o.numMagnitudeBins}`);
  const space = trivialAugmentSpace(o.numMagnitudeBins);
  return function trivialAugmentWide(a, ctx) {
    asImage('trivialAugmentWide', a);
    const [op, mags, signed] = space[pick(ctx.random, space.length)];
    const bin = pick(ctx.random, o.numMagnitudeBins);
    const negate = ctx.random() < 0.5;
    const m = mags.length > 1 ? mags[bin] : 0;
    return applyOp(a, op, signed && negate ? -m : m);
  };
}
