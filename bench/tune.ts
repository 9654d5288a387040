// `npm run bench -- tune [--json] [--quick] [--speed]` (--speed: only the overhead part): lathe's samplers against Optuna 3.1 (Debian python3-optuna, run in
// the same benchmark when /usr/bin/python3 has it).
//  - quality: mean best value after 100 trials over 20 seeds (`--seeds N`), TPE and CMA-ES, on Branin, Hartmann-6 and a 10-D
//    Rosenbrock (minimize), with the difference (ours − Optuna) and its 95% Welch confidence interval;
//  - speed: sampler overhead per trial (ask + tell, in-memory storage, TPE, 8 float parameters) on a study that
//    already holds 1,000 / 5,000 complete trials; ratio = Optuna time / our time.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-root.js';
import { Study } from '../src/tune/study.js';
import { tpeSampler } from '../src/tune/samplers/tpe.js';
import { cmaEsSampler } from '../src/tune/samplers/cmaes.js';
import { floatDistribution, type Distribution } from '../src/tune/distributions.js';
import { Rng } from '../src/util/random.js';
import { report } from './_peer.js';

const branin = ([x1, x2]: number[]): number => {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
};
const HA = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const HC = [1.0, 1.2, 3.0, 3.2];
const HP = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const hartmann6 = (x: number[]): number =>
  -HC.reduce(
    (s, c, i) => s + c * Math.exp(-HA[i].reduce((a, aij, j) => a + aij * (x[j] - HP[i][j] * 1e-4) ** 2, 0)),
    0,
  );
const rosenbrock = (x: number[]): number =>
  x.slice(0, -1).reduce((s, v, i) => s + 100 * (x[i + 1] - v * v) ** 2 + (1 - v) ** 2, 0);

const FUNCTIONS: Record<string, { f: (x: number[]) => number; bounds: [number, number][] }> = {
  branin: {
    f: branin,
    bounds: [
      [-5, 10],
      [0, 15],
    ],
  },
  hartmann6: { f: hartmann6, bounds: Array(6).fill([0, 1]) },
  rosenbrock10: { f: rosenbrock, bounds: Array(10).fill([-5, 10]) },
};

const optunaAvailable = (): boolean =>
  spawnSync('/usr/bin/python3', ['-c', 'import optuna'], { stdio: 'ignore' }).status === 0;

function optuna(args: string[]): Record<string, unknown> {
  const r = spawnSync('/usr/bin/python3', [join(packageRoot(), 'bench', 'peers', 'optuna_tune.py'), ...args], {
    encoding: 'utf8',
    timeout: 1_800_000,
  });
  if (r.status !== 0) throw new Error(`Optuna peer failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function ourBest(sampler: 'tpe' | 'cmaes', fn: string, seeds: number, trials: number): Promise<number[]> {
  const { f, bounds } = FUNCTIONS[fn];
  const out: number[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const study = await Study.create({ sampler: sampler === 'tpe' ? tpeSampler({ seed }) : cmaEsSampler({ seed }) });
    await study.optimize((t) => f(bounds.map(([lo, hi], i) => t.suggestFloat(`x${i}`, lo, hi))), { nTrials: trials });
    out.push(await study.bestValue());
  }
  return out;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: readonly number[]): number => xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1);

/** 95% Welch interval for mean(a) − mean(b). */
function welch(a: readonly number[], b: readonly number[]): [number, number] {
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const se = Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1) || 1);
  const z = 1.959964;
  const t = z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
  const d = mean(a) - mean(b);
  return [d - t * se, d + t * se];
}

/** ms per ask+tell of our TPE on a study pre-filled with `filled` random complete trials. */
async function ourOverhead(filled: number, measured: number): Promise<number> {
  const study = await Study.create({ sampler: tpeSampler({ seed: 0 }) });
  const dists: Record<string, Distribution> = {};
  for (let i = 0; i < 8; i++) dists[`x${i}`] = floatDistribution(`x${i}`, -5, 5);
  const rng = new Rng(0);
  for (let n = 0; n < filled; n++) {
    const t = (await study.storage.createTrial(study.id, { state: 'RUNNING' }))!;
    let v = 0;
    for (const [k, d] of Object.entries(dists)) {
      const x = rng.uniform(-5, 5);
      v += x * x;
      await study.storage.setParam(t.id, k, { distribution: d, internal: x });
    }
    await study.storage.finishTrial(t.id, 'COMPLETE', [v]);
  }
  await study.refresh(); // load the pre-filled trials (Optuna's add_trials is outside its timing too)
  const t0 = performance.now();
  for (let i = 0; i < measured; i++) {
    const t = await study.ask(dists);
    await study.tell(
      t,
      Object.values(t.params).reduce((a: number, x) => a + (x as number) ** 2, 0),
    );
  }
  return (performance.now() - t0) / measured;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const si = args.indexOf('--seeds');
  const seeds = si >= 0 ? Number(args[si + 1]) : quick ? 3 : 20;
  if (!Number.isInteger(seeds) || seeds < 2) throw new Error(`--seeds: need an integer >= 2, got ${args[si + 1]}`);
  const trials = 100;
  const peer = optunaAvailable();
  if (!peer && !json) console.log('Optuna not found at /usr/bin/python3: reporting lathe only');
  if (!json)
    console.log(
      `quality: mean best after ${trials} trials over ${seeds} seeds (minimize)\n${'workload'.padEnd(24)} ${'lathe'.padStart(10)} ${'optuna'.padStart(10)}  diff [95% CI]`,
    );
  for (const sampler of args.includes('--speed') ? [] : (['tpe', 'cmaes'] as const)) {
    for (const fn of Object.keys(FUNCTIONS)) {
      const ours = await ourBest(sampler, fn, seeds, trials);
      const theirs = peer ? (optuna(['quality', sampler, fn, String(seeds), String(trials)]).best as number[]) : null;
      const ci = theirs ? welch(ours, theirs) : null;
      const line = {
        workload: `${sampler}-${fn}`,
        trials,
        seeds,
        mean_best: mean(ours),
        peer: theirs ? 'optuna' : null,
        peer_mean_best: theirs ? mean(theirs) : null,
        diff: theirs ? mean(ours) - mean(theirs) : null,
        diff_ci95: ci,
      };
      report(
        json,
        line,
        `${line.workload.padEnd(24)} ${mean(ours).toFixed(4).padStart(10)} ${(theirs ? mean(theirs).toFixed(4) : '-').padStart(10)}  ${ci ? `${line.diff!.toFixed(4)} [${ci[0].toFixed(4)}, ${ci[1].toFixed(4)}]` : ''}`,
      );
    }
  }
  if (!json)
    console.log(
      `\nspeed: TPE overhead per trial, 8 parameters\n${'workload'.padEnd(24)} ${'lathe ms'.padStart(10)} ${'optuna ms'.padStart(10)}  ratio`,
    );
  for (const filled of quick ? [1000] : [1000, 5000]) {
    const measured = filled >= 5000 ? 20 : 40;
    const ours = await ourOverhead(filled, measured);
    const theirs = peer
      ? (optuna(['overhead', String(filled), String(Math.min(measured, 20)), '8']).ms_per_trial as number)
      : null;
    const line = {
      workload: `tpe-overhead-${filled}`,
      ms_per_trial: ours,
      peer: theirs ? 'optuna' : null,
      peer_ms_per_trial: theirs,
      ratio: theirs ? theirs / ours : null,
    };
    report(
      json,
      line,
      `${line.workload.padEnd(24)} ${ours.toFixed(2).padStart(10)} ${(theirs ? theirs.toFixed(2) : '-').padStart(10)}  ${line.ratio ? line.ratio.toFixed(1) + 'x' : ''}`,
    );
  }
}
