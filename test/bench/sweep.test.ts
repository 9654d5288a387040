// Smoke test of the size sweep's harness (bench/sweep.ts): the grid, one tiny point measured end to end in child
// processes (lathe, and the PyTorch peer where it is installed), the Markdown table and the PNG chart. Nothing here
// is a timing claim; the sweep itself runs by hand (`npm run bench -- sweep`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { torchAvailable } from '../../bench/_peer.js';
import { sweepPng, sweepTable, type SweepRow } from '../../bench/_sweep-chart.js';
import { pointAxes, pointKey, sweepPoints, SWEEP_WORKLOADS } from '../../bench/_sweep-grid.js';
import { measureRow } from '../../bench/sweep.js';

test('sweep grid: each axis through the anchor once; the --quick points are points of the full grid', () => {
  for (const w of SWEEP_WORKLOADS) {
    const full = sweepPoints(w, false);
    const keys = full.map(pointKey);
    assert.equal(new Set(keys).size, keys.length, `${w}: a point twice`);
    for (const q of sweepPoints(w, true)) assert.ok(keys.includes(pointKey(q)), `${w}: ${pointKey(q)} not in the grid`);
    // the anchor lies on every axis of its workload, every other point on exactly one
    const onAll = full.filter((p) => pointAxes(p).length > 1);
    assert.equal(onAll.length, 1, `${w}: one anchor`);
    for (const p of full) assert.ok(pointAxes(p).length >= 1, `${pointKey(p)} on no axis`);
  }
  assert.deepEqual(
    sweepPoints('gpt', false)
      .filter((p) => pointAxes(p).some((a) => a.axis === 'seq'))
      .map((p) => p.seq)
      .sort((a, b) => a! - b!),
    [32, 64, 256, 512],
  );
});

test('sweep harness: a tiny MLP point measured in child processes, with peak RSS from /proc', () => {
  const peer = torchAvailable();
  const row = measureRow(
    { workload: 'mlp', batch: 2, width: 0.25, seq: null },
    {
      targetMs: 1,
      reps: 1,
      timeoutS: 120,
      latheThreads: [{ threads: 1, spinning: true }],
      peerThreads: peer ? [1] : [],
    },
  );
  assert.equal(row.note, undefined, row.note);
  assert.ok(row.samples_per_s! > 0);
  // a Node process with ORT loaded holds tens of MB at least; VmHWM is in kB, reported in MB
  assert.ok(row.peak_rss_mb! > 20 && row.peak_rss_mb! < 4096, `peak RSS ${row.peak_rss_mb} MB`);
  assert.equal(row.lathe_config, '1 thread');
  if (peer) {
    assert.ok(row.peer_peak_rss_mb! > 20);
    assert.equal(row.ratio, Math.round((row.samples_per_s! / row.peer_samples_per_s!) * 1000) / 1000);
  } else assert.equal(row.ratio, null);
});

test('sweep documents: a table row per point and a PNG chart of the ratios', async () => {
  const row = (batch: number, ratio: number | null): SweepRow => ({
    workload: 'gpt',
    batch,
    width: 1,
    seq: 64,
    samples_per_s: 100,
    peer_samples_per_s: ratio === null ? null : 100 / ratio,
    ratio,
    peak_rss_mb: 150,
    peer_peak_rss_mb: 250,
  });
  const rows = [row(1, 0.5), row(8, 1.25), row(32, null)];
  const table = sweepTable(rows).split('\n');
  assert.equal(table.length, 2 + rows.length);
  assert.match(table[2], /\| gpt-train \| 1 \| 1× \| 64 \| .*\*\*0\.50\*\*/);
  assert.match(table[4], /\| – \|/);
  const meta = await sharp(await sweepPng(rows, 'test')).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 900, 520]);
});
