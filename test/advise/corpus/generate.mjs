// Writes the CSV datasets and run directories of the review corpus (deterministic; run once, files committed):
//   node test/advise/corpus/generate.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let s = 12345;
const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const centres = [[0, 0, 0, 0], [4, 4, 0, 0], [0, 4, 4, 0], [4, 0, 0, 4]];
/** Gaussian blobs: n rows of 4 features, class c around centres[c]. */
const blobs = (n, classes = 4, spread = 0.7, weights) => Array.from({ length: n }, (_, i) => {
  let c = i % classes;
  if (weights) { const u = rand() * weights.reduce((a, b) => a + b); let acc = 0; c = weights.findIndex((w) => (acc += w) > u); }
  return { f: centres[c].map((m) => +(m + spread * normal()).toFixed(4)), label: c };
});
const csv = (name, rows, cols = ['f0', 'f1', 'f2', 'f3']) => {
  const head = [...cols, 'label', ...(rows[0].split ? ['split'] : [])];
  const lines = rows.map((r) => [...r.f.map((v) => (Number.isNaN(v) ? 'NA' : String(v))), r.label, ...(r.split ? [r.split] : [])].join(','));
  writeFileSync(join(here, 'datasets', name), [head.join(','), ...lines].join('\n') + '\n');
};
const split = (rows, testFrac = 0.25) => rows.map((r, i) => ({ ...r, split: i % Math.round(1 / testFrac) === 0 ? 'test' : 'train' }));
mkdirSync(join(here, 'datasets'), { recursive: true });

// healthy
csv('healthy-blobs.csv', split(blobs(400)));
csv('healthy-blobs-3class.csv', split(blobs(300, 3, 0.6)));
csv('healthy-no-split.csv', blobs(240, 4, 0.8));
// broken
{
  const rows = split(blobs(400));
  const train = rows.filter((r) => r.split === 'train');
  rows.filter((r) => r.split === 'test').slice(0, 30).forEach((r, i) => (r.f = [...train[i].f]));
  csv('leak.csv', rows);
}
{
  const rows = blobs(300);
  for (let i = 0; i < 60; i++) rows.push({ ...rows[i], f: [...rows[i].f] });
  csv('duplicates.csv', rows);
}
{
  const rows = blobs(300);
  for (let i = 0; i < 8; i++) rows.push({ f: [...rows[i].f], label: (rows[i].label + 1) % 4 });
  csv('conflicting.csv', rows);
}
csv('imbalance.csv', blobs(440, 4, 0.7, [100, 100, 100, 3]));
csv('constant.csv', blobs(300).map((r) => ({ ...r, f: [r.f[0], r.f[1], r.f[2], 1] })));
csv('unscaled.csv', blobs(300).map((r) => ({ ...r, f: [r.f[0] * 25000, r.f[1], r.f[2], r.f[3]] })));
csv('out-of-range.csv', split(blobs(400)).map((r) => (r.split === 'test' ? { ...r, f: [r.f[0] * 100 + 50, r.f[1], r.f[2], r.f[3]] } : r)));
csv('nan.csv', blobs(300).map((r, i) => (i % 25 === 0 ? { ...r, f: [NaN, r.f[1], r.f[2], r.f[3]] } : r)));
csv('label-noise.csv', blobs(400, 4, 0.5).map((r, i) => (i % 5 === 0 ? { ...r, label: (r.label + 1 + (i % 3)) % 4 } : r)));

// runs: config.json + metrics.csv
const runCfg = {
  name: 'corpus', seed: 0, model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [64], classes: 10 } },
  data: { name: 'fashion-mnist-subset', batchSize: 64, valFraction: 0.1 }, optimizer: { name: 'adam', lr: 0.001 }, trainer: { epochs: 6 },
};
const run = (name, rows) => {
  const d = join(here, 'runs', name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'config.json'), JSON.stringify(runCfg, null, 2) + '\n');
  const cols = Object.keys(rows[0]);
  writeFileSync(join(d, 'metrics.csv'), [['epoch', 'step', 'seconds', ...cols].join(','), ...rows.map((r, i) => [i, (i + 1) * 113, 2.1, ...cols.map((c) => r[c])].join(','))].join('\n') + '\n');
};
const ep = (t, v, a) => ({ train_loss: t, val_loss: v, val_accuracy: a, lr: 0.001 });
run('healthy-run', [ep(0.9, 0.62, 0.78), ep(0.55, 0.5, 0.82), ep(0.47, 0.46, 0.84), ep(0.42, 0.44, 0.845), ep(0.39, 0.43, 0.85), ep(0.37, 0.43, 0.852)]);
run('healthy-short-run', [ep(1.1, 0.8, 0.7), ep(0.7, 0.6, 0.78)]);
run('healthy-noisy-run', [ep(0.8, 0.6, 0.8), ep(0.55, 0.52, 0.83), ep(0.5, 0.5, 0.835), ep(0.46, 0.51, 0.84), ep(0.44, 0.49, 0.845), ep(0.43, 0.5, 0.845)]);
run('diverged-run', [ep(0.9, 0.7, 0.75), ep(0.7, 0.6, 0.8), ep('NaN', 'NaN', 0.1), ep('NaN', 'NaN', 0.1)]);
run('flat-run', [ep(2.302, 2.301, 0.1), ep(2.301, 2.302, 0.1), ep(2.3, 2.301, 0.11), ep(2.3, 2.3, 0.1)]);
run('overfit-run', [ep(0.8, 0.6, 0.8), ep(0.45, 0.42, 0.85), ep(0.3, 0.45, 0.85), ep(0.2, 0.5, 0.84), ep(0.12, 0.58, 0.84), ep(0.07, 0.66, 0.83)]);
run('chance-run', [ep(2.1, 2.25, 0.11), ep(2.0, 2.24, 0.12), ep(1.9, 2.26, 0.1)]);
