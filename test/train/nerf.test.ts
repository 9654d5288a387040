// trainNerf: the library entry trains on the procedural scene, stops at its step count, reports held-out PSNR equal
// to the one recomputed from its own renderings, and writes the truth-over-rendered PNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { trainNerf, psnr } from '../../src/train/index.js';

test('psnr: 20 dB at RMS error 0.1, infinite-ish when equal', () => {
  assert.ok(Math.abs(psnr([0.1, 0.1], [0, 0]) - 20) < 1e-9);
  assert.equal(psnr([0.5], [0.5]), 100);
});

test('trainNerf (tiny): stops at its steps, PSNR matches its renderings, PNG has 2 rows of held-out views', async () => {
  const png = join(mkdtempSync(join(tmpdir(), 'nerf-')), 'views.png');
  const r = await trainNerf({
    views: 4,
    heldOut: 2,
    size: 8,
    steps: 6,
    batchSize: 64,
    png,
    model: { width: 16, depth: 1, samples: 8, fineSamples: 4, posFreqs: 2 },
  });
  assert.equal(r.stepsDone, 6);
  assert.deepEqual(r.truth.shape, [2, 3, 8, 8]);
  const t = r.truth.data as Float32Array;
  const p = r.rendered.data as Float32Array;
  const v0 = psnr(p.subarray(0, 192), t.subarray(0, 192));
  assert.ok(Math.abs(v0 - r.perViewPsnr[0]) < 1e-9);
  assert.ok(r.heldOutPsnr > 0 && Number.isFinite(r.heldOutPsnr));
  const meta = await sharp(readFileSync(png)).metadata();
  assert.ok(meta.width! >= 16 && meta.height === meta.width, `${meta.width}×${meta.height}`); // 2 × 2 grid
  await assert.rejects(trainNerf({ views: 4, heldOut: 4 }), /heldOut must be an integer/);
});
