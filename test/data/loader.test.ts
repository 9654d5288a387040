import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, type SourceSpec } from '../../src/data/loader.js';
import { fashionSource } from '../../src/data/fashion.js';
import type { Batch } from '../../src/data/array-loader.js';
import { FASHION_SUBSET_DIR } from '../../src/train/datasets.js';

const spec: SourceSpec = { module: new URL('./fixture-sources.js', import.meta.url).href, export: 'counting', options: { n: 23 } };
const opts = { batchSize: 5, shuffle: true, seed: 9 };

async function collect(l: DataLoader, epoch: number, from = 0): Promise<number[][]> {
  const out: number[][] = [];
  for await (const b of l.iterate(epoch, from)) out.push(Array.from(b.x.data as Float32Array));
  return out;
}

test('batches are identical with 0 and 2 worker threads; shuffling depends on (seed, epoch)', async () => {
  const main = await DataLoader.fromSpec(spec, opts);
  const workers = await DataLoader.fromSpec(spec, { ...opts, workers: 2, prefetch: 3 });
  assert.equal(main.length, 5);
  const a = await collect(main, 0);
  const b = await collect(workers, 0);
  assert.deepEqual(b, a);
  const seen = a.flatMap((row) => row.filter((_, i) => i % 2 === 0)).sort((p, q) => p - q);
  assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => i), 'every sample once per epoch');
  assert.notDeepEqual(await collect(main, 1), a, 'another epoch, another order and augmentation');
  await workers.close();
});

test('resume mid-epoch yields exactly the remaining batches; drop-last; labels collate to int64', async () => {
  const l = await DataLoader.fromSpec(spec, { ...opts, dropLast: true });
  assert.equal(l.length, 4);
  const full = await collect(l, 2);
  assert.deepEqual(await collect(l, 2, 2), full.slice(2));
  let first: Batch | undefined;
  for await (const b of l.iterate(0)) { first = b; break; }
  assert.equal(first!.y.dtype, 'int64');
  assert.deepEqual(first!.x.shape, [5, 2]);
});

test('a sample that fails to load rejects the batch with its message (main thread and workers)', async () => {
  const bad: SourceSpec = { ...spec, export: 'failing', options: undefined };
  for (const workers of [0, 1]) {
    const l = await DataLoader.fromSpec(bad, { batchSize: 4, workers });
    await assert.rejects(collect(l, 0), /sample 2 is unreadable/);
    await l.close();
  }
});

test('Fashion-MNIST source with augmentation: deterministic per (seed, epoch, index), normalised', async () => {
  const src = fashionSource({ dir: FASHION_SUBSET_DIR(), split: 'train', augment: true });
  assert.equal(src.length, 8000);
  const l = new DataLoader(src, src.length, { batchSize: 64, seed: 1 });
  const [b1] = await collect(l, 0);
  const [b2] = await collect(l, 0);
  assert.deepEqual(b1, b2);
  const mean = b1.reduce((s, v) => s + v, 0) / b1.length;
  assert.ok(Math.abs(mean) < 0.5, `normalised mean ${mean}`);
});

test('memoryCache decodes each sample once and still augments per epoch', async () => {
  const { memoryCache } = await import('../../src/data/memory-cache.js');
  const { ndarray } = await import('../../src/graph/ndarray.js');
  let decodes = 0;
  const src = memoryCache({ length: 6, get: (i) => (decodes++, { x: ndarray('float32', [1], [i]) }) }, (s, ctx) => ({ x: ndarray('float32', [1], [(s.x as { data: Float32Array }).data[0] + ctx.random()]) }));
  const l = new DataLoader(src, 6, { batchSize: 3, seed: 2 });
  const e0 = await collect(l, 0);
  const e1 = await collect(l, 1);
  assert.equal(decodes, 6);
  assert.equal(src.cached, 6);
  assert.notDeepEqual(e0, e1);
});
