// The Parzen estimator of TPE against Optuna 3.1's (python3-optuna): log densities of the same observations at the
// same points. Reference values were printed by optuna.samplers._tpe.parzen_estimator._ParzenEstimator (prior weight
// 1, magic clip, no endpoints, default weights) — the kernels Optuna 3.1 scores with, weighted by bandwidth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parzen, type ParzenDim } from '../../src/tune/samplers/parzen.js';
import { defaultWeights } from '../../src/tune/samplers/tpe.js';

const REF = {
  cont: {
    obs: [
      3.262, 5.6222, -0.6364, 2.6624, 8.3942, 8.4444, -3.1162, -1.8914, -4.228, 1.6121, -4.5519, 1.8525, 4.7372,
      -0.8227, 5.1438, 3.8629, -4.6403, 3.3828, -1.1112, 1.2265, -0.7471, 5.3971, 1.6068, -2.647, 3.1697, 6.7047,
      -0.4045, -1.6706, 0.8196, 9.0458,
    ],
    xs: [9.6399, 5.0858, 8.5425, 7.6863, 0.6699, -3.6167],
    logpdf: [
      -2.820639453795046, -2.3635506415634095, -2.4929310080204203, -2.659116300381629, -2.6116665043580656,
      -2.6006633322733363,
    ],
  },
  int: {
    obs: [8, 6, 15, 2, 18, 2, 11, 12, 5, 4, 17, 17],
    xs: [1, 4, 10, 20],
    logpdf: [-3.053774514690734, -2.6445581155693, -3.150190701038016, -3.776380920722572],
  },
  log: {
    obs: [0.0097288, 0.0410408, 0.0271446, 0.0013255, 0.0001681, 0.0191309, 0.0001553, 0.0333521, 0.0119647],
    xs: [0.0002, 0.003, 0.05],
    logpdf: [-1.422273730081339, -1.613805087731979, -1.439020813621431],
  },
} as const;

const opts = { priorWeight: 1, magicClip: true, endpoints: false, multivariate: false, bandwidthWeighted: true };

function check(
  dim: ParzenDim,
  ref: { readonly obs: readonly number[]; readonly xs: readonly number[]; readonly logpdf: readonly number[] },
  toModel = (x: number) => x,
): void {
  const p = new Parzen([dim], [Float64Array.from(ref.obs, toModel)], defaultWeights(ref.obs.length), opts);
  const got = p.logPdf([Float64Array.from(ref.xs, toModel)], ref.xs.length);
  ref.logpdf.forEach((want, i) =>
    assert.ok(Math.abs(got[i] - want) < 1e-6, `x=${ref.xs[i]}: ${got[i]} vs Optuna ${want}`),
  );
}

test('Parzen log density matches Optuna 3.1: continuous, integer (step bins) and log-scale parameters', () => {
  check({ kind: 'num', low: -5, high: 10, step: null }, REF.cont);
  check({ kind: 'num', low: 0.5, high: 20.5, step: 1 }, REF.int);
  check({ kind: 'num', low: Math.log(1e-4), high: Math.log(1e-1), step: null }, REF.log, Math.log);
});

test('bandwidthWeighted: false gives a normalized mixture density (integrates to 1)', () => {
  const obs = Float64Array.from([0.1, 0.15, 0.7]);
  const dim: ParzenDim = { kind: 'num', low: 0, high: 1, step: null };
  for (const bandwidthWeighted of [false, true]) {
    const p = new Parzen([dim], [obs], defaultWeights(3), { ...opts, bandwidthWeighted });
    const n = 20_000;
    const xs = Float64Array.from({ length: n }, (_, i) => (i + 0.5) / n);
    const mass = p.logPdf([xs], n).reduce((a, l) => a + Math.exp(l) / n, 0);
    if (!bandwidthWeighted) assert.ok(Math.abs(mass - 1) < 1e-3, `mass ${mass}`);
    else assert.ok(Math.abs(mass - 1) > 0.05, 'bandwidth-weighted scores are not a density');
  }
});
