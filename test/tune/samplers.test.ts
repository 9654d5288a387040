// Sampler conformance (every sampler: values inside their distributions, seeded runs reproducible, conditional
// spaces) plus checks specific to TPE, CMA-ES, Sobol, grid, NSGA-II and evolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Study } from '../../src/tune/study.js';
import type { Sampler } from '../../src/tune/samplers/sampler.js';
import { randomSampler } from '../../src/tune/samplers/random.js';
import { tpeSampler } from '../../src/tune/samplers/tpe.js';
import { cmaEsSampler } from '../../src/tune/samplers/cmaes.js';
import { sobolSampler, sobolPoint } from '../../src/tune/samplers/sobol.js';
import { gridSampler } from '../../src/tune/samplers/grid.js';
import { nsga2Sampler } from '../../src/tune/samplers/nsga2.js';
import { evolutionSampler } from '../../src/tune/samplers/evolution.js';
import { bohbSampler } from '../../src/tune/samplers/bohb.js';
import { contains } from '../../src/tune/distributions.js';
import type { Trial } from '../../src/tune/trial.js';

const factories: Record<string, (seed: number) => Sampler> = {
  random: (seed) => randomSampler({ seed }),
  tpe: (seed) => tpeSampler({ seed, nStartupTrials: 5 }),
  'tpe-multivariate-group-liar': (seed) =>
    tpeSampler({ seed, nStartupTrials: 5, multivariate: true, group: true, constantLiar: true }),
  cmaes: (seed) => cmaEsSampler({ seed }),
  sobol: (seed) => sobolSampler({ seed }),
  evolution: (seed) => evolutionSampler({ seed, populationSize: 6, sampleSize: 3 }),
  bohb: (seed) => bohbSampler({ seed, minPointsInModel: 4 }),
  nsga2: (seed) => nsga2Sampler({ seed, populationSize: 6 }),
};

/** A conditional mixed space (define-by-run): every kind of distribution. */
function mixed(trial: Trial): number {
  const x = trial.suggestFloat('x', -3, 3);
  const lr = trial.suggestFloat('lr', 1e-5, 1e-1, { log: true });
  const q = trial.suggestFloat('q', 0, 1, { step: 0.25 });
  const n = trial.suggestInt('n', 1, 9, { step: 2 });
  const w = trial.suggestInt('w', 8, 512, { log: true });
  const opt = trial.suggestCategorical('opt', ['sgd', 'adam']);
  const extra = opt === 'sgd' ? trial.suggestFloat('momentum', 0, 0.99) : trial.suggestInt('beta_k', 1, 3);
  return x * x + Math.abs(Math.log10(lr) + 3) + q + n / 10 + Math.log2(w) / 10 + (opt === 'sgd' ? extra : extra / 3);
}

async function run(make: (seed: number) => Sampler, seed: number, n: number): Promise<Study> {
  const study = await Study.create({ sampler: make(seed) });
  await study.optimize(
    async (t) => {
      const v = mixed(t);
      await t.report(v, 1);
      return v;
    },
    { nTrials: n },
  );
  return study;
}

for (const [name, make] of Object.entries(factories)) {
  test(`sampler conformance: ${name} stays in its distributions, is reproducible, handles conditional spaces`, async () => {
    const a = await run(make, 7, 30);
    const ta = await a.trials();
    assert.equal(ta.length, 30);
    for (const t of ta) {
      assert.equal(t.state, 'COMPLETE', `trial ${t.number}: ${JSON.stringify(t.systemAttrs)}`);
      for (const [k, d] of Object.entries(t.distributions))
        assert.ok(contains(d, t.internal[k]), `${name}: ${k}=${t.internal[k]}`);
      assert.ok('momentum' in t.params !== 'beta_k' in t.params);
    }
    const b = await run(make, 7, 30);
    assert.deepEqual(
      (await b.trials()).map((t) => t.params),
      ta.map((t) => t.params),
      'same seed, same suggestions',
    );
  });
}

const sphere = (t: Trial): number => {
  let s = 0;
  for (let i = 0; i < 4; i++) s += (t.suggestFloat(`x${i}`, -5, 5) - 1) ** 2;
  return s;
};

async function meanBest(make: (seed: number) => Sampler, n: number, seeds = 4): Promise<number> {
  let sum = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const st = await Study.create({ sampler: make(seed) });
    await st.optimize(sphere, { nTrials: n });
    sum += await st.bestValue();
  }
  return sum / seeds;
}

test('TPE and CMA-ES beat random search on a 4-D sphere', async () => {
  const random = await meanBest((s) => randomSampler({ seed: s }), 80);
  const tpe = await meanBest((s) => tpeSampler({ seed: s }), 80);
  const cma = await meanBest((s) => cmaEsSampler({ seed: s }), 80);
  assert.ok(tpe < random * 0.7, `tpe ${tpe} vs random ${random}`);
  assert.ok(cma < random * 0.7, `cmaes ${cma} vs random ${random}`);
});

test('TPE with constant liar spreads parallel workers', async () => {
  const study = await Study.create({ sampler: tpeSampler({ seed: 1, nStartupTrials: 3, constantLiar: true }) });
  await study.optimize(
    async (t) => {
      const x = t.suggestFloat('x', 0, 1);
      await new Promise((r) => setTimeout(r, 2));
      return x;
    },
    { nTrials: 24, workers: 4 },
  );
  const xs = (await study.trials()).map((t) => t.params.x as number);
  assert.equal(new Set(xs).size, xs.length);
});

test('Sobol points match the reference sequence (scipy.stats.qmc.Sobol, unscrambled)', () => {
  // scipy 1.10: Sobol(5, scramble=False).random(8)
  const ref = [
    [0, 0, 0, 0, 0],
    [0.5, 0.5, 0.5, 0.5, 0.5],
    [0.75, 0.25, 0.25, 0.25, 0.75],
    [0.25, 0.75, 0.75, 0.75, 0.25],
    [0.375, 0.375, 0.625, 0.875, 0.375],
    [0.875, 0.875, 0.125, 0.375, 0.875],
    [0.625, 0.125, 0.875, 0.625, 0.625],
    [0.125, 0.625, 0.375, 0.125, 0.125],
  ];
  for (let i = 0; i < 8; i++)
    for (let d = 0; d < 5; d++) assert.equal(sobolPoint(i, d), ref[i][d], `point ${i} dim ${d}`);
  // Every dimension of the first 2^k points is stratified (one point per interval of width 2^-k).
  for (let d = 0; d < 64; d += 7) {
    const bins = new Set(Array.from({ length: 256 }, (_, i) => Math.floor(sobolPoint(i, d) * 256)));
    assert.equal(bins.size, 256, `dim ${d}`);
  }
});

test('grid sampler covers every grid point once', async () => {
  const study = await Study.create({ sampler: gridSampler({ a: [1, 2, 3], b: ['x', 'y'] }, { seed: 3 }) });
  await study.optimize((t) => t.suggestInt('a', 1, 3) + (t.suggestCategorical('b', ['x', 'y']) === 'x' ? 0 : 10), {
    nTrials: 6,
  });
  const pts = (await study.trials()).map((t) => `${t.params.a}${t.params.b}`).sort();
  assert.deepEqual(pts, ['1x', '1y', '2x', '2y', '3x', '3y']);
});

test('NSGA-II improves the Pareto front of a two-objective problem over generations', async () => {
  const hv = async (n: number): Promise<number> => {
    const study = await Study.create({
      directions: ['minimize', 'minimize'],
      sampler: nsga2Sampler({ seed: 2, populationSize: 10 }),
    });
    await study.optimize(
      (t) => {
        const x = t.suggestFloat('x', 0, 1);
        const y = t.suggestFloat('y', 0, 1);
        return [x, (1 + 9 * y) * (1 - Math.sqrt(x / (1 + 9 * y)))];
      },
      { nTrials: n },
    );
    // 2-D hypervolume against (1, 10)
    const front = (await study.bestTrials()).map((t) => t.values!).sort((a, b) => a[0] - b[0]);
    let area = 0;
    let prevY = 10;
    for (const [x, y] of front) {
      area += (1 - x) * Math.max(0, prevY - y);
      prevY = Math.min(prevY, y);
    }
    return area;
  };
  assert.ok((await hv(100)) > (await hv(10)));
});
