// `lathe nerf`: a tiny run writes views.png (truth over rendered), a model.onnx that renders rays, and result.json
// whose PSNR is finite; bad flags get one-line errors; `lathe models` lists nerf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { createSession } from '../../src/runtime/session.js';
import { runCli } from '../util/cli.js';

test('lathe nerf: PNG, ONNX model of rays → colours, result.json; errors name the flag', async () => {
  const out = mkdtempSync(join(tmpdir(), 'lathe-nerf-'));
  const r = runCli([
    'nerf',
    '--out',
    out,
    '--views',
    '5',
    '--held-out',
    '3',
    '--size',
    '8',
    '--steps',
    '4',
    '--batch',
    '32',
    '--width',
    '8',
    '--depth',
    '1',
    '--samples',
    '6',
    '--fine-samples',
    '4',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    steps: number;
    heldOutPsnr: number;
    perViewPsnr: number[];
  };
  assert.equal(res.steps, 4);
  assert.equal(res.perViewPsnr.length, 3);
  assert.ok(Number.isFinite(res.heldOutPsnr));
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).steps, 4);
  const meta = await sharp(join(out, 'views.png')).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [3 * 8 + 4 * 2, 2 * 8 + 3 * 2, 3]); // 3 columns × 2 rows
  const session = await createSession(join(out, 'model.onnx'));
  const rays = new ort.Tensor('float32', Float32Array.from([0, 2, 4.5, 0, 0, -1, 4.5, 1, 0, -1, 0, 0]), [2, 6]);
  const y = (await session.run({ rays })).output;
  await session.release();
  assert.deepEqual(y.dims, [2, 3]);
  assert.ok(Array.from(y.data as Float32Array).every((v) => v >= 0 && v <= 1));
  const bad = runCli(['nerf', '--out', out, '--steps', 'x']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--steps: expected an integer/);
  const models = runCli(['models']);
  assert.match(models.stdout, /nerf/);
});
