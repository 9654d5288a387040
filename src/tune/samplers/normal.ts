// Normal-distribution helpers in log space (stable far in the tails), for the Parzen estimators.

const LOG_HALF = Math.log(0.5);
const SQRT1_2 = Math.SQRT1_2;

/** log(erfc(z)) for z >= 0, without underflow (Chebyshev fit, relative error < 1.2e-7). */
function logErfcPos(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) + poly;
}

/** Standard normal CDF. */
function phi(x: number): number {
  return x < 0 ? 0.5 * Math.exp(logErfcPos(-x * SQRT1_2)) : 1 - 0.5 * Math.exp(logErfcPos(x * SQRT1_2));
}

/** log Φ(x). */
function logPhi(x: number): number {
  return x < 0 ? LOG_HALF + logErfcPos(-x * SQRT1_2) : Math.log1p(-0.5 * Math.exp(logErfcPos(x * SQRT1_2)));
}

/** log(Φ(b) − Φ(a)) for a < b, accurate in either tail. */
export function logDiffPhi(a: number, b: number): number {
  if (!(b > a)) return -Infinity;
  if (a < -9 && b > 9) return 0; // both tails below 1e-19: log(1 − tails) is 0 in double precision
  if (a >= 0) return logDiffPhi(-b, -a);
  if (b <= 0) {
    const lb = logPhi(b);
    return lb + Math.log1p(-Math.exp(logPhi(a) - lb));
  }
  return Math.log1p(-(phi(a) + phi(-b)));
}

export const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
