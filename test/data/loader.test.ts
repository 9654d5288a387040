import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, type SourceSpec } from '../../src/data/loader.js';
import { fashionSource, fashionSubsetDir } from '../../src/data/fashion.js';
import type { Batch } from '../../src/data/tensor.js';
import { pipeline } from '../../src/data/pipeline.js';

const spec: SourceSpec = {
  module: new URL('./fixture-sources.js', import.meta.url).href,
  export: 'counting',
  options: { n: 23 },
};
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
  assert.deepEqual(
    seen,
    Array.from({ length: 23 }, (_, i) => i),
    'every sample once per epoch',
  );
  assert.notDeepEqual(await collect(main, 1), a, 'another epoch, another order and augmentation');
  await workers.close();
});

test('resume mid-epoch yields exactly the remaining batches; drop-last; labels collate to int64', async () => {
  const l = await DataLoader.fromSpec(spec, { ...opts, dropLast: true });
  assert.equal(l.length, 4);
  const full = await collect(l, 2);
  assert.deepEqual(await collect(l, 2, 2), full.slice(2));
  let first: Batch | undefined;
  for await (const b of l.iterate(0)) {
    first = b;
    break;
  }
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
  const src = fashionSource({ dir: fashionSubsetDir(), split: 'train', augment: true });
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
  const src = memoryCache({ length: 6, get: (i) => (decodes++, { x: ndarray('float32', [1], [i]) }) }, (s, ctx) => ({
    x: ndarray('float32', [1], [(s.x as { data: Float32Array }).data[0] + ctx.random()]),
  }));
  const l = new DataLoader(src, 6, { batchSize: 3, seed: 2 });
  const e0 = await collect(l, 0);
  const e1 = await collect(l, 1);
  assert.equal(decodes, 6);
  assert.equal(src.cached, 6);
  assert.notDeepEqual(e0, e1);
});

async function drain(l: AsyncIterable<Batch>, max = Infinity): Promise<number[][]> {
  const out: number[][] = [];
  for await (const b of l) {
    out.push(Array.from(b.x.data as Float32Array));
    if (out.length >= max) break;
  }
  return out;
}

test('for await + state()/resume(): a resumed loader sees exactly the remaining batches, then the next epoch', async () => {
  const a = await DataLoader.fromSpec(spec, opts);
  const epoch0 = await drain(a);
  assert.deepEqual(a.state(), { epoch: 1, batch: 0, seed: 9 });
  const epoch1 = await drain(a);
  const b = await DataLoader.fromSpec(spec, opts);
  assert.deepEqual(await drain(b, 2), epoch0.slice(0, 2));
  const saved = JSON.parse(JSON.stringify(b.state()));
  assert.deepEqual(saved, { epoch: 0, batch: 2, seed: 9 });
  const c = await DataLoader.fromSpec(spec, { ...opts, workers: 2 });
  c.resume(saved);
  assert.deepEqual(await drain(c), epoch0.slice(2));
  assert.deepEqual(await drain(c), epoch1);
  await c.close();
  assert.throws(() => c.resume({ epoch: 0, batch: 0, seed: 1 }), /seed 1/);
  assert.throws(() => c.resume({ epoch: 0, batch: 99, seed: 9 }), /bad position/);
});

test('a described pipeline (registered kinds) rebuilds in workers: augmentation and mixup identical with 0 and 2 workers', async () => {
  const src = pipeline({
    dataset: { kind: 'fashion-mnist', split: 'test', subset: true, scale: 'unit' },
    transforms: [
      { kind: 'randomCrop', size: 28, padding: 2 },
      { kind: 'randomHorizontalFlip' },
      { kind: 'normalize', mean: 0.286, std: 0.353 },
    ],
    batchTransforms: [{ kind: 'mixup', numClasses: 10, alpha: 0.4 }],
  });
  const o = { batchSize: 32, shuffle: true, seed: 5 };
  const main = await DataLoader.fromSpec(src, o);
  const par = await DataLoader.fromSpec(src, { ...o, workers: 2 });
  const first = async (l: DataLoader, n: number) => {
    const out: Batch[] = [];
    for await (const b of l.iterate(1)) if (out.push(b) >= n) break;
    return out;
  };
  const [a, b] = [await first(main, 3), await first(par, 3)];
  await par.close();
  assert.equal(a.length, 3);
  assert.deepEqual(b, a);
  assert.deepEqual(a[0].y.shape, [32, 10]);
  const rows = a[0].y.data as Float32Array;
  for (let i = 0; i < 32; i++)
    assert.ok(
      Math.abs(rows.subarray(i * 10, i * 10 + 10).reduce((p, q) => p + q, 0) - 1) < 1e-5,
      'soft labels sum to 1',
    );
  await assert.rejects(
    DataLoader.fromSpec(pipeline({ dataset: { kind: 'nope' } }), o),
    /unknown dataset kind "nope".*fashion-mnist/,
  );
});
