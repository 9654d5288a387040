import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lrFind, plotSvg } from '../../src/advise/lr-find.js';
import { Linear, manualSeed, ReLU, Sequential } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { blobs } from './corpus.js';

test('lr-find sweeps the rate, suggests a rate below the minimum and writes a PNG', { timeout: 120_000 }, async () => {
  manualSeed(0);
  const model = new Sequential(new Linear(4, 32), ReLU(), new Linear(32, 4));
  const { x, y } = blobs(512);
  const png = join(mkdtempSync(join(tmpdir(), 'lathe-lr-')), 'lr.png');
  const r = await lrFind({ model, x, y, batchSize: 32, optimizer: adam() }, { steps: 80, png });
  assert.ok(
    r.lrs.every((v, i) => i === 0 || v > r.lrs[i - 1]),
    'the rate grows',
  );
  assert.ok(r.lrs.length >= 20 && r.lrs.length <= 80);
  assert.ok(r.suggestion <= r.minLossLr / 10 + 1e-12);
  assert.ok(r.suggestion > 1e-5 && r.suggestion < 1, `suggestion ${r.suggestion}`);
  const bytes = readFileSync(png);
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
});

test('lr-find rejects a bad range', async () => {
  manualSeed(0);
  const { x, y } = blobs(64);
  await assert.rejects(
    lrFind({ model: new Linear(4, 4), x, y, batchSize: 8, optimizer: adam() }, { start: 1, end: 0.1 }),
    /need 0 < start < end/,
  );
  assert.match(
    plotSvg({ lrs: [1e-3, 1e-2], losses: [1, 0.5], smoothed: [1, 0.7], suggestion: 1e-3 }),
    /suggested lr 0.0010/,
  );
});
