// The progress callback on a terminal and off it, driven without a Trainer (its hooks only read `cfg.epochs`); the
// time budget, alone and through a config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressBar, timeBudget, type BatchLogs, type EpochLogs } from '../../src/train/callbacks.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { runTraining } from '../../src/train/run.js';
import type { Trainer } from '../../src/train/trainer.js';

function fakeStream(isTTY: boolean, columns: number): NodeJS.WriteStream & { text: string; writes: number } {
  const s = {
    isTTY,
    columns,
    text: '',
    writes: 0,
    write(chunk: string) {
      s.text += chunk;
      s.writes++;
      return true;
    },
  };
  return s as unknown as NodeJS.WriteStream & { text: string; writes: number };
}

const trainer = { cfg: { epochs: 3 } } as unknown as Trainer;
const batch = (b: number, batches = 400): BatchLogs => ({
  epoch: 0,
  batch: b,
  batches,
  step: b + 1,
  loss: 0.5 + b / 1e4,
  lr: 0.0019275736865868778,
  metrics: {},
});
const epoch: EpochLogs = {
  epoch: 0,
  step: 400,
  seconds: 12.345678,
  metrics: { train_loss: 0.512345678, val_accuracy: 0.876543 },
};

test('terminal: epoch i/N, elapsed < ETA, a validating phase, redraws throttled and cut to the width', () => {
  const out = fakeStream(true, 60);
  const p = progressBar({ stream: out, redrawsPerSecond: 10 });
  p.onFitStart!(trainer);
  for (let b = 0; b < 400; b++) p.onBatchEnd!(trainer, batch(b));
  assert.ok(out.writes < 20, `${out.writes} redraws for 400 fast batches`);
  const lines = out.text.split('\r').filter(Boolean);
  assert.match(lines[0], /^epoch 1\/3 \[/);
  assert.match(out.text, /validating…|…$/m);
  for (const l of lines)
    assert.ok(l.replace('\n', '').length <= 59, `line longer than the terminal: ${JSON.stringify(l)}`);
  p.onEpochEnd!(trainer, epoch);
  assert.match(out.text, /epoch 1\/3 done in 0:12 {2}train_loss 0\.5123 {2}val_accuracy 0\.…\n$/);
  const wide = fakeStream(true, 200);
  const q = progressBar({ stream: wide });
  q.onFitStart!(trainer);
  q.onBatchEnd!(trainer, batch(0, 2));
  q.onBatchEnd!(trainer, batch(1, 2));
  assert.match(wide.text, /epoch 1\/3 \[=+>?\s*\] 2\/2 {2}loss 0\.5000 {2}[\d.]+ it\/s {2}0:00 < 0:00 {2}validating…/);
});

test('not a terminal: JSON lines with rounded numbers', () => {
  const out = fakeStream(false, 80);
  const p = progressBar({ stream: out, everyBatches: 200 });
  p.onFitStart!(trainer);
  for (let b = 0; b < 400; b++) p.onBatchEnd!(trainer, batch(b));
  p.onEpochEnd!(trainer, epoch);
  const rows = out.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    rows.map((r) => r.event),
    ['batch', 'batch', 'epoch'],
  );
  assert.equal(rows[0].lr, 0.00192757);
  assert.equal(rows[2].seconds, 12.34568);
  assert.equal(rows[2].train_loss, 0.51235);
});

test('timeBudget: stops at the first step past the budget, counts time across resumes, refuses a bad budget', async () => {
  const logged: Record<string, unknown>[] = [];
  const t = { shouldStop: false, log: (r: Record<string, unknown>) => logged.push(r) } as unknown as Trainer;
  const cb = timeBudget(0.001); // 60 ms
  await cb.onFitStart?.(t);
  await cb.onBatchEnd?.(t, batch(0));
  assert.equal(t.shouldStop, false, 'inside the budget');
  await new Promise((r) => setTimeout(r, 80));
  await cb.onBatchEnd?.(t, batch(1));
  assert.equal(t.shouldStop, true);
  assert.equal(logged[0].event, 'time_budget');
  // a resumed run carries the time already spent: it stops at once
  const saved = cb.state?.() as { seconds: number };
  assert.ok(saved.seconds >= 0.06);
  const resumed = timeBudget(0.001);
  resumed.load?.(saved);
  const t2 = { shouldStop: false, log: () => undefined } as unknown as Trainer;
  await resumed.onFitStart?.(t2);
  await resumed.onBatchEnd?.(t2, batch(2));
  assert.equal(t2.shouldStop, true);
  assert.throws(() => timeBudget(0), /minutes must be positive/);
});

test('trainer.maxMinutes: a run stops mid-epoch, validated and exported like any other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-time-budget-'));
  const r = await runTraining(
    parseTrainConfig({
      name: 'budget',
      model: { name: 'mlp', options: { hidden: [16], imageShape: [1, 28, 28] } },
      data: { name: 'fashion-mnist-subset', batchSize: 4, valFraction: 0.1 },
      optimizer: { name: 'adam', lr: 0.001 },
      trainer: { epochs: 50, threads: 1, maxMinutes: 0.02 },
      output: join(dir, 'run'),
    }),
    { quiet: true },
  );
  assert.ok(r.epochs < 50, `stopped by the budget after ${r.epochs} epochs`);
  assert.ok(r.seconds < 60, `${r.seconds} s`);
  assert.ok(existsSync(r.onnxPath) && existsSync(r.checkpoint));
  assert.ok(typeof r.testAccuracy === 'number');
});
