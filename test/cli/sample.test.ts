// `lathe sample`: from a tiny trained ddpm run (and its checkpoint) and a vae run it writes a valid PNG grid of the
// requested size and a .npy that NumPy's format describes; --track logs the grid as an image artifact; `lathe eval
// --fid` scores samples; bad input gets one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runTraining } from '../../src/train/run.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { readNpy } from '../../src/data/image-grid.js';
import { openStore } from '../../src/track/open.js';
import { runCli } from '../util/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lathe-sample-'));
const train = (name: string, model: Record<string, unknown>) =>
  runTraining(
    parseTrainConfig({
      name,
      seed: 0,
      model,
      data: { name: 'fashion-mnist-subset', batchSize: 32, limit: 64 },
      optimizer: { name: 'adam', lr: 0.001 },
      trainer: { epochs: 1, threads: 1, ema: 0.9 },
      output: join(dir, name),
    }),
    { quiet: true },
  );

test('lathe sample: PNG grid of the requested size, .npy, checkpoint source, tracking, errors', async () => {
  await train('ddpm', {
    name: 'ddpm',
    options: { base: 4, depth: 2, groups: 2, timeEmbed: 8, timesteps: 20, classes: 10 },
  });
  await train('vae', { name: 'vae', options: { hidden: [8], latent: 2 } });
  const png = join(dir, 'grid.png');
  const r = runCli([
    'sample',
    join(dir, 'ddpm'),
    '--n',
    '6',
    '--cols',
    '3',
    '--steps',
    '3',
    '--guidance',
    '1',
    '--class',
    '2',
    '--out',
    png,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const meta = await sharp(png).metadata();
  // 3 columns × 2 rows of 28 px with 2 px gaps and borders
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 3 * 28 + 4 * 2, 2 * 28 + 3 * 2, 1]);
  assert.equal(JSON.parse(r.stdout).n, 6);

  const npy = join(dir, 's.npy');
  const c = runCli(['sample', join(dir, 'ddpm', 'last.json'), '--n', '2', '--sampler', 'ddpm', '--out', npy]);
  assert.equal(c.status, 0, c.stderr);
  const a = readNpy(npy);
  assert.deepEqual(a.shape, [2, 1, 28, 28]);
  assert.ok((a.data as Float32Array).every((v) => v >= 0 && v <= 1));

  const track = join(dir, 'track');
  const v = runCli(['sample', join(dir, 'vae'), '--n', '4', '--out', join(dir, 'vae.png'), '--track', track, '--json']);
  assert.equal(v.status, 0, v.stderr);
  const runId = JSON.parse(v.stdout).trackedRun as string;
  const store = await openStore(track);
  try {
    const arts = await store.listArtifacts(runId);
    assert.deepEqual(
      arts.map((x) => [x.path, x.kind]),
      [['samples/vae.png', 'plot']],
    );
  } finally {
    await store.close();
  }

  // lathe eval --fid: FID-FMNIST, precision/recall and class agreement of samples against the test split
  const ev = runCli(['eval', join(dir, 'ddpm'), '--fid', '20', '--steps', '2', '--guidance', '1']);
  assert.equal(ev.status, 0, ev.stderr);
  const scores = JSON.parse(ev.stdout) as {
    fid: number;
    precision: number;
    recall: number;
    classAgreement: number;
    n: number;
  };
  assert.ok(scores.fid > 0 && Number.isFinite(scores.fid), ev.stdout);
  assert.ok(scores.classAgreement >= 0 && scores.classAgreement <= 1 && scores.n === 20, ev.stdout);
  const evVae = runCli(['eval', join(dir, 'vae'), '--fid', '20']);
  assert.equal(evVae.status, 0, evVae.stderr);
  assert.ok(!('classAgreement' in JSON.parse(evVae.stdout)));

  const bad = runCli(['sample', join(dir, 'ddpm'), '--out', join(dir, 'x.jpg')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--out .*x\.jpg: expected a \.png or \.npy file/);
  const steps = runCli(['sample', join(dir, 'ddpm'), '--steps', '50', '--out', png]);
  assert.equal(steps.status, 2);
  assert.match(steps.stderr, /steps must be an integer in \[1, 20\]/);
  const vaeClass = runCli(['sample', join(dir, 'vae'), '--class', '1', '--out', png]);
  assert.equal(vaeClass.status, 2);
  assert.match(vaeClass.stderr, /a VAE is unconditional/);
  const missing = runCli(['sample', join(dir, 'nope'), '--out', png]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such run directory, checkpoint or \.onnx file/);
});

test('lathe sample and lathe eval --fid on a GAN run (wgan-gp): PNG from the run and its checkpoint, FID, errors', async () => {
  const cfg = (trainer: Record<string, unknown>) =>
    parseTrainConfig({
      name: 'wgan',
      seed: 0,
      model: { name: 'wgan-gp', options: { latent: 8, width: 4, nCritic: 2 } },
      data: { name: 'fashion-mnist-subset', batchSize: 32, limit: 64 },
      optimizer: { name: 'adam', lr: 0.001 },
      trainer,
      output: join(dir, 'wgan'),
    });
  await assert.rejects(
    runTraining(cfg({ epochs: 1, threads: 1, ema: 0.9 }), { quiet: true }),
    /trainer\.ema\/trainer\.accumulate: not available for wgan-gp/,
  );
  await runTraining(cfg({ epochs: 1, threads: 1 }), { quiet: true });
  const png = join(dir, 'gan.png');
  const r = runCli(['sample', join(dir, 'wgan'), '--n', '4', '--cols', '2', '--out', png, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).kind, 'gan');
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [2 * 28 + 3 * 2, 2 * 28 + 3 * 2]);
  const npy = join(dir, 'gan.npy');
  const c = runCli(['sample', join(dir, 'wgan', 'last.json'), '--n', '3', '--out', npy]);
  assert.equal(c.status, 0, c.stderr);
  const a = readNpy(npy);
  assert.deepEqual(a.shape, [3, 1, 28, 28]);
  assert.ok(
    (a.data as Float32Array).every((v) => v >= 0 && v <= 1),
    'tanh images mapped to [0, 1]',
  );
  const ev = runCli(['eval', join(dir, 'wgan'), '--fid', '20']);
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(Number.isFinite((JSON.parse(ev.stdout) as { fid: number }).fid), ev.stdout);
  const cls = runCli(['sample', join(dir, 'wgan'), '--class', '1', '--out', png]);
  assert.equal(cls.status, 2);
  assert.match(cls.stderr, /a GAN is unconditional/);
});
