// FFT over float64 real/imaginary arrays of any length: in-place iterative radix-2 Cooley–Tukey (decimation in time)
// for powers of two, and Bluestein's chirp-z for the rest (torchaudio's default n_fft = 400), which rewrites a
// length-n DFT as a convolution done with power-of-two FFTs of length ≥ 2n − 1.

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** Transforms (re, im) in place; any length ≥ 1. `inverse` divides by n. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (!(n >= 1) || im.length !== n)
    throw new Error(`fft: re and im must have the same length ≥ 1, got ${n} and ${im.length}`);
  if (isPow2(n)) radix2(re, im, inverse);
  else bluestein(re, im, inverse);
}

interface Chirp {
  readonly m: number;
  /** w_k = exp(−iπk²/n), k < n */
  readonly wr: Float64Array;
  readonly wi: Float64Array;
  /** FFT of the conjugate chirp laid out circularly over m (b_k for k in (−n, n)) */
  readonly br: Float64Array;
  readonly bi: Float64Array;
}
const chirps = new Map<number, Chirp>();

function chirp(n: number): Chirp {
  let c = chirps.get(n);
  if (c) return c;
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const wr = new Float64Array(n);
  const wi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const a = (Math.PI * ((k * k) % (2 * n))) / n; // k² mod 2n keeps the angle exact for large k
    wr[k] = Math.cos(a);
    wi[k] = -Math.sin(a);
  }
  const br = new Float64Array(m);
  const bi = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    br[k] = wr[k];
    bi[k] = -wi[k];
    if (k > 0) (br[m - k] = wr[k]), (bi[m - k] = -wi[k]);
  }
  radix2(br, bi, false);
  c = { m, wr, wi, br, bi };
  if (chirps.size > 32) chirps.clear();
  chirps.set(n, c);
  return c;
}

function bluestein(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  const { m, wr, wi, br, bi } = chirp(n);
  // an inverse DFT is the conjugate of the forward DFT of the conjugate
  const s = inverse ? -1 : 1;
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    const xr = re[k];
    const xi = s * im[k];
    ar[k] = xr * wr[k] - xi * wi[k];
    ai[k] = xr * wi[k] + xi * wr[k];
  }
  radix2(ar, ai, false);
  for (let k = 0; k < m; k++) {
    const r = ar[k] * br[k] - ai[k] * bi[k];
    ai[k] = ar[k] * bi[k] + ai[k] * br[k];
    ar[k] = r;
  }
  radix2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const yr = ar[k] * wr[k] - ai[k] * wi[k];
    const yi = ar[k] * wi[k] + ai[k] * wr[k];
    re[k] = inverse ? yr / n : yr;
    im[k] = inverse ? -yi / n : yi;
  }
}

/** In-place radix-2 FFT; n a power of two. */
function radix2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    // bit-reversal permutation
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
  if (inverse) for (let i = 0; i < n; i++) (re[i] /= n), (im[i] /= n);
}
