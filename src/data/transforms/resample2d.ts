// Separable image resampling with PIL's convolution scheme (Pillow's Resample.c), which torchvision's antialiased
// tensor resize also follows: output pixel x samples the source around centre (x + 0.5)·in/out with a filter
// stretched by max(in/out, 1) when antialiasing, taps outside the image dropped and the weights renormalised.
// Without antialiasing, bilinear is the same code unstretched (= F.interpolate(align_corners=False)); bicubic follows
// torch's upsample_bicubic2d (a = −0.75, border pixels repeated). 'nearest' takes floor((x + 0.5)·in/out), as PIL and
// torch's 'nearest-exact'.

/** Image resampling filter: 'nearest' (torch's nearest-exact), 'bilinear' or 'bicubic' (torchvision's a = −0.75). */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

/** For each output index, the first source index and its weights (ksize per output, zero-padded). */
export interface Taps {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
  readonly ksize: number;
}

const triangle = (x: number): number => ((x < 0 ? -x : x) < 1 ? 1 - Math.abs(x) : 0);
const cubic =
  (a: number) =>
  (x: number): number => {
    const t = Math.abs(x);
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  };

const cache = new Map<string, Taps>();

/** The taps resampling `inSize` samples to `outSize` (cached: a dataset resizes every image the same way). */
export function taps(inSize: number, outSize: number, interpolation: Interpolation, antialias: boolean): Taps {
  const key = `${inSize} ${outSize} ${interpolation} ${antialias}`;
  let t = cache.get(key);
  if (!t) {
    if (cache.size > 64) cache.clear();
    cache.set(key, (t = computeTaps(inSize, outSize, interpolation, antialias)));
  }
  return t;
}

function computeTaps(inSize: number, outSize: number, interpolation: Interpolation, antialias: boolean): Taps {
  const scale = inSize / outSize;
  if (interpolation === 'nearest') {
    const start = Int32Array.from({ length: outSize }, (_, x) => Math.min(inSize - 1, Math.floor((x + 0.5) * scale)));
    return { start, count: new Int32Array(outSize).fill(1), weights: new Float64Array(outSize).fill(1), ksize: 1 };
  }
  if (interpolation === 'bicubic' && !antialias) return torchBicubic(inSize, outSize, scale);
  const [filter, support0] = interpolation === 'bilinear' ? [triangle, 1] : [cubic(-0.5), 2];
  const filterscale = antialias ? Math.max(scale, 1) : 1;
  const support = support0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  for (let x = 0; x < outSize; x++) {
    const centre = (x + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let sum = 0;
    for (let k = 0; k < hi - lo; k++) {
      const w = filter((k + lo - centre + 0.5) / filterscale);
      weights[x * ksize + k] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < hi - lo; k++) weights[x * ksize + k] /= sum;
    start[x] = lo;
    count[x] = hi - lo;
  }
  return { start, count, weights, ksize };
}

/** torch's upsample_bicubic2d (align_corners=False): 4 taps at floor(src) − 1 .. + 2, indices clamped. */
function torchBicubic(inSize: number, outSize: number, scale: number): Taps {
  const f = cubic(-0.75);
  // clamped indices can repeat, so store the 4 taps with explicit per-tap indices folded into a dense window
  const ksize = 4;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const dense: { lo: number; w: Map<number, number> }[] = [];
  let width = 1;
  for (let x = 0; x < outSize; x++) {
    const src = (x + 0.5) * scale - 0.5;
    const i0 = Math.floor(src);
    const t = src - i0;
    const w = new Map<number, number>();
    [f(t + 1), f(t), f(1 - t), f(2 - t)].forEach((wk, k) => {
      const i = Math.min(inSize - 1, Math.max(0, i0 - 1 + k));
      w.set(i, (w.get(i) ?? 0) + wk);
    });
    const lo = Math.min(...w.keys());
    width = Math.max(width, Math.max(...w.keys()) - lo + 1);
    dense.push({ lo, w });
  }
  const out = {
    start,
    count,
    weights: width <= ksize ? weights : new Float64Array(outSize * width),
    ksize: Math.max(ksize, width),
  };
  dense.forEach(({ lo, w }, x) => {
    start[x] = lo;
    count[x] = Math.max(...w.keys()) - lo + 1;
    for (const [i, wk] of w) out.weights[x * out.ksize + (i - lo)] = wk;
  });
  return out;
}

/** Rounds and clips to 0..255 (PIL's clip8 after a pass over 8-bit pixels). */
const clip8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/**
 * Resizes planes [C, H, W] (any numeric array) to [C, oh, ow], horizontal pass first as PIL does. With `quantize`,
 * each pass rounds and clips to 0..255, as PIL does for 8-bit images.
 */
export function resample2d(
  src: ArrayLike<number>,
  c: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
  interpolation: Interpolation,
  antialias: boolean,
  quantize = false,
): Float32Array {
  let mid: ArrayLike<number> = src;
  if (w !== ow) {
    const { start, count, weights, ksize } = taps(w, ow, interpolation, antialias);
    const m = new Float64Array(c * h * ow);
    for (let row = 0; row < c * h; row++) {
      const rowIn = row * w;
      const rowOut = row * ow;
      for (let x = 0; x < ow; x++) {
        let acc = 0;
        const base = rowIn + start[x];
        const wb = x * ksize;
        for (let k = 0, n = count[x]; k < n; k++) acc += weights[wb + k] * src[base + k];
        m[rowOut + x] = quantize ? clip8(acc) : acc;
      }
    }
    mid = m;
  }
  const out = new Float32Array(c * oh * ow);
  if (h === oh) {
    for (let i = 0; i < out.length; i++) out[i] = mid[i];
    return out;
  }
  // vertical: [C, h, ow] → [C, oh, ow], a float64 row accumulator per output row
  const { start, count, weights, ksize } = taps(h, oh, interpolation, antialias);
  const acc = new Float64Array(ow);
  for (let k0 = 0; k0 < c; k0++)
    for (let y = 0; y < oh; y++) {
      acc.fill(0);
      for (let k = 0, n = count[y]; k < n; k++) {
        const wk = weights[y * ksize + k];
        const base = (k0 * h + start[y] + k) * ow;
        for (let x = 0; x < ow; x++) acc[x] += wk * mid[base + x];
      }
      const o = (k0 * oh + y) * ow;
      if (quantize) for (let x = 0; x < ow; x++) out[o + x] = clip8(acc[x]);
      else for (let x = 0; x < ow; x++) out[o + x] = acc[x];
    }
  return out;
}
