// A failing sample must reach the consumer (never end the process), name its index and file, and leave close()
// settling; skipErrors leaves bad samples out with a count. Process death is observed from a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader, SampleError, type SkippedSample, type SourceSpec } from '../../src/data/loader.js';
import { failingFast } from './fixture-sources.js';

const loaderUrl = new URL('../../src/data/loader.js', import.meta.url).href;
const fixtures = new URL('./fixture-sources.js', import.meta.url).href;
const spec = (bad: number): SourceSpec => ({
  module: fixtures,
  export: 'failingFast',
  options: { n: 6, bad, delayMs: 40 },
});

/** Runs an ES module body in a fresh node process; returns its exit code and output. */
function child(body: string): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-loader-'));
  try {
    writeFileSync(join(dir, 'main.mjs'), body); // a file, not --eval: worker threads inherit execArgv
    const r = spawnSync(process.execPath, [join(dir, 'main.mjs')], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a prefetched batch that fails first reaches the consumer's catch; the process lives (0, 1, 2 workers)", () => {
  for (const workers of [0, 1, 2]) {
    const r = child(`
      const { DataLoader } = await import(${JSON.stringify(loaderUrl)});
      const l = await DataLoader.fromSpec(${JSON.stringify(spec(1))}, { batchSize: 1, workers: ${workers}, prefetch: 3 });
      try { for await (const b of l) ; console.log('no error'); } catch (e) { console.log('caught:', e.message); }
      await l.close();
      console.log('closed');`);
    assert.equal(r.code, 0, `workers ${workers}: ${r.out}`);
    assert.match(r.out, /caught: sample 1 \(\/data\/img-1\.png\): corrupt/, `workers ${workers}`);
    assert.match(r.out, /closed/, `workers ${workers}: close() settled`);
  }
});

test("the issue's plain dataset: caught with 0 workers, not a process exit", () => {
  const r = child(`
    const { DataLoader } = await import(${JSON.stringify(loaderUrl)});
    const ds = { length: 4, async get(i) { if (i === 1) throw new Error('corrupt');
      await new Promise(r => setTimeout(r, 50)); return { x: { dtype: 'float32', shape: [1], data: new Float32Array([i]) } }; } };
    try { for await (const b of new DataLoader(ds, { batchSize: 1 })) ; } catch (e) { console.log('caught'); }`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /caught/);
});

test('close() settles after a caught worker error, every time (1 and 2 workers, repeated)', () => {
  const r = child(`
    const { DataLoader } = await import(${JSON.stringify(loaderUrl)});
    let closed = 0;
    for (let run = 0; run < 8; run++) {
      const l = await DataLoader.fromSpec(${JSON.stringify(spec(2))}, { batchSize: 2, workers: 1 + (run % 2) });
      try { for await (const b of l) ; } catch {}
      await l.close();
      closed++;
    }
    console.log('closed', closed);`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /closed 8/);
});

test('the error is a SampleError with index and file; batches after it still load on the next epoch', async () => {
  const l = new DataLoader(failingFast({ n: 4, bad: 2, delayMs: 1 }), { batchSize: 2 });
  const err = await (async () => {
    try {
      for await (const _ of l.iterate(0)) void _;
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof SampleError, String(err));
  assert.equal(err.index, 2);
  assert.equal(err.file, '/data/img-2.png');
  await l.close();
});

test('skipErrors leaves the bad sample out, counts it and reports it (0 and 2 workers give the same batches)', async () => {
  const results: number[][][] = [];
  for (const workers of [0, 2]) {
    const seen: SkippedSample[] = [];
    const l = await DataLoader.fromSpec(spec(3), {
      batchSize: 2,
      workers,
      skipErrors: true,
      onSkip: (s) => seen.push(s),
    });
    const batches: number[][] = [];
    for await (const b of l) batches.push(Array.from(b.x.data as Float32Array));
    await l.close();
    assert.equal(l.skipped, 1);
    assert.equal(seen.length, 1);
    assert.deepEqual(
      { index: seen[0].index, file: seen[0].file, batch: seen[0].batch },
      { index: 3, file: '/data/img-3.png', batch: 1 },
    );
    assert.match(seen[0].message, /corrupt/);
    assert.deepEqual(l.state(), { epoch: 1, batch: 0, seed: 0 });
    results.push(batches);
  }
  assert.deepEqual(results[0], [[0, 1], [2], [4, 5]]);
  assert.deepEqual(results[1], results[0]);
});

test('skipErrors without onSkip warns once per skipped sample, naming it', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  const l = new DataLoader(failingFast({ n: 3, bad: 0, delayMs: 1 }), { batchSize: 1, skipErrors: true });
  let n = 0;
  for await (const _ of l) n++;
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.equal(n, 2, 'the batch of only the bad sample is left out');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /sample 0 \(\/data\/img-0\.png\): corrupt.*1 skipped so far/);
});
