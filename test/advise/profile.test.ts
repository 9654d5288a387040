import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileConfig, profileModel, formatProfileResult } from '../../src/advise/profile.js';
import { exportModule, Linear, manualSeed, ReLU, Sequential } from '../../src/nn/index.js';
import { CORPUS } from './corpus.js';

test('profile of a training step charges kernels to the modules that created them and ranks measured suggestions', {
  timeout: 300_000,
}, async () => {
  const r = await profileConfig(`${CORPUS}/configs/healthy-mlp.yaml`, { steps: 5 });
  assert.equal(r.kind, 'train-step');
  const modules = r.byModule.map((m) => m.module);
  for (const m of ['layers.1', 'layers.3', 'layers.5'])
    assert.ok(modules.includes(m), `${m} (a Linear) is in ${modules.join(', ')}`);
  const gemm = r.byModule.filter((m) => m.ops.some((o) => o.op === 'Gemm' || o.op === 'MatMul'));
  assert.ok(gemm.length >= 3, 'each Linear shows its Gemm/MatMul kernels');
  assert.ok(Math.abs(r.byModule.reduce((s, m) => s + m.percent, 0) - 100) < 1e-6);
  assert.ok(r.gflops! > 0 && r.rooflineGflops > 0 && r.peakRssMB > 0);
  assert.ok(r.suggestions.length >= 2 && r.suggestions[0].measured, 'the top suggestion was measured');
  assert.ok(
    r.suggestions.every((s, i, a) => i === 0 || !s.measured || (a[i - 1].measured?.speedup ?? 0) >= s.measured.speedup),
  );
  assert.match(formatProfileResult(r), /top suggestions:/);
});

test('profile of an ONNX model groups by op type; a bad file is a clear error', { timeout: 120_000 }, async () => {
  manualSeed(0);
  const path = join(mkdtempSync(join(tmpdir(), 'lathe-prof-')), 'm.onnx');
  exportModule(
    new Sequential(new Linear(16, 64), ReLU(), new Linear(64, 4)),
    [{ dtype: 'float32', shape: ['batch', 16] }],
    { path },
  );
  const r = await profileModel(path, { runs: 10 });
  assert.equal(r.kind, 'inference');
  assert.ok(r.byOp.some((o) => o.op === 'Gemm'));
  await assert.rejects(profileModel(`${CORPUS}/configs/text.txt`), /text.txt/);
});
