// The Dataset contract, run against every map-style implementation: fixed length, pure get (same sample for the
// same (index, ctx), any order), consistent keys/dtypes/shapes, errors for bad indices; plus the stream loader and
// the caches, which must not change what a dataset returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { fromSamples, loadAll, type Dataset } from '../../src/data/dataset.js';
import { sampleRandom } from '../../src/data/random.js';
import { fashionMnistSubset } from '../../src/data/fashion.js';
import { encodeIdx } from '../../src/data/idx.js';
import { idxDataset } from '../../src/data/readers/idx-dataset.js';
import { parseCsv } from '../../src/data/readers/csv.js';
import { tableDataset } from '../../src/data/readers/table-dataset.js';
import { imageFolder } from '../../src/data/readers/image-folder.js';
import { memoryCache } from '../../src/data/memory-cache.js';
import { contentKey, diskCache } from '../../src/data/disk-cache.js';
import { mapDataset, onKey } from '../../src/data/transforms/transform.js';
import { randomCrop } from '../../src/data/transforms/image.js';
import { pipelineSource } from '../../src/data/pipeline.js';
import { StreamLoader, jsonlDataset } from '../../src/data/stream-loader.js';
import type { Batch, Sample } from '../../src/data/tensor.js';

const ctx = (i: number, epoch = 0) => ({ epoch, index: i, random: sampleRandom(3, epoch, i) });
const describe = (s: Sample) =>
  Object.fromEntries(
    Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? 'number' : `${v.dtype}[${v.shape}]`]),
  );
const plain = (s: Sample) =>
  JSON.stringify(
    Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v.data as ArrayLike<number>, Number)]),
  );

async function datasets(): Promise<Record<string, Dataset>> {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-conf-'));
  writeFileSync(
    join(dir, 'x.gz'),
    gzipSync(
      encodeIdx(
        [5, 2, 2],
        Uint8Array.from({ length: 20 }, (_, i) => i),
      ),
    ),
  );
  writeFileSync(join(dir, 'y.gz'), gzipSync(encodeIdx([5], Uint8Array.of(0, 1, 0, 1, 1))));
  mkdirSync(join(dir, 'img', 'a'), { recursive: true });
  for (const i of [0, 1])
    await sharp({ create: { width: 3, height: 3, channels: 3, background: { r: 90 * i, g: 5, b: 0 } } })
      .png()
      .toFile(join(dir, 'img', 'a', `${i}.png`));
  const fashion = fashionMnistSubset('test');
  return {
    fashionMnistSubset: fashion,
    idxDataset: idxDataset({ images: join(dir, 'x.gz'), labels: join(dir, 'y.gz') }),
    tableDataset: tableDataset(parseCsv('a,b,c\n1,2,x\n3,,y\n'), { label: 'c' }),
    imageFolder: imageFolder({ root: join(dir, 'img'), size: 2 }),
    memoryCache: memoryCache(fashion),
    diskCache: diskCache(fashion, { dir: join(dir, 'cache'), key: contentKey('fashion-test') }),
    mapDataset: mapDataset(fashion, onKey('x', randomCrop({ size: 28, padding: 2 }))),
    fromSamples: fromSamples([{ x: 1 }, { x: 2 }, { x: 3 }]),
    pipeline: await pipelineSource({
      dataset: { kind: 'fashion-mnist', split: 'test', subset: true },
      transforms: [{ kind: 'randomHorizontalFlip' }],
    }),
  };
}

test('dataset contract: every implementation', async () => {
  for (const [name, ds] of Object.entries(await datasets())) {
    const n = ds.length;
    assert.ok(Number.isInteger(n) && n > 0, `${name}: length`);
    const picks = [...new Set([0, n - 1, n >> 1])];
    const first = await Promise.all(picks.map(async (i) => ds.get(i, ctx(i))));
    const again = await Promise.all([...picks].reverse().map(async (i) => ds.get(i, ctx(i))));
    again.reverse();
    picks.forEach((_, k) =>
      assert.equal(plain(again[k]), plain(first[k]), `${name}: get is pure and order-independent`),
    );
    for (const s of first) assert.deepEqual(describe(s), describe(first[0]), `${name}: same keys, dtypes and shapes`);
    for (const s of first)
      for (const v of Object.values(s))
        if (typeof v !== 'number')
          assert.equal(
            v.data.length,
            v.shape.reduce((a, b) => a * b, 1),
            `${name}: data fills shape`,
          );
    for (const bad of [n, n + 5, -1, 1.5])
      await assert.rejects(
        async () => ds.get(bad, ctx(bad)),
        (e: unknown) => e instanceof Error && e.message.includes(String(bad)),
        `${name}: index ${bad} is an Error naming it`,
      );
  }
});

test('disk cache: stores each sample once under a content-hash key, returns equal samples, survives a new process view', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-dc-'));
  const src = fashionMnistSubset('test');
  const key = contentKey(
    { file: join(process.cwd(), 'data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz') },
    'standard',
  );
  const a = diskCache(src, { dir, key });
  for (const i of [0, 1, 0]) assert.equal(plain(await a.get(i, ctx(i))), plain(src.get(i)));
  assert.deepEqual([a.misses, a.hits], [2, 1]);
  assert.equal(readdirSync(join(dir, key)).length, 2);
  const b = diskCache(
    {
      length: src.length,
      get: () => {
        throw new Error('must come from the cache');
      },
    },
    { dir, key },
  );
  assert.equal(plain(await b.get(1, ctx(1))), plain(src.get(1)));
  assert.notEqual(contentKey('a'), contentKey('b'));
  assert.throws(() => diskCache(src, { dir, key: '../escape' }), /file-name-safe/);
});

test('stream loader: batches a JSONL stream, seeded shuffle buffer, exact resume, drop-last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-stream-'));
  writeFileSync(join(dir, 's.jsonl'), Array.from({ length: 23 }, (_, i) => JSON.stringify({ v: i })).join('\n'));
  const ds = jsonlDataset(join(dir, 's.jsonl'), (o) => ({ v: (o as { v: number }).v }));
  const rows = async (it: AsyncIterable<Batch>) => {
    const out: number[][] = [];
    for await (const b of it) out.push(Array.from(b.v.data as BigInt64Array, Number));
    return out;
  };
  const plainOrder = await rows(new StreamLoader(ds, { batchSize: 5 }).iterate(0));
  assert.deepEqual(
    plainOrder.flat(),
    Array.from({ length: 23 }, (_, i) => i),
  );
  const l = new StreamLoader(ds, { batchSize: 5, shuffleBuffer: 8, seed: 4, dropLast: true });
  const e0 = await rows(l.iterate(0));
  assert.equal(e0.length, 4);
  assert.notDeepEqual(e0.flat(), plainOrder.flat().slice(0, 20), 'shuffled');
  assert.deepEqual(await rows(l.iterate(0)), e0, 'same seed and epoch, same batches');
  assert.notDeepEqual(await rows(l.iterate(1)), e0);
  const m = new StreamLoader(ds, { batchSize: 5, shuffleBuffer: 8, seed: 4, dropLast: true });
  m.resume({ epoch: 0, batch: 3, seed: 4 });
  assert.deepEqual(await rows(m), e0.slice(3));
  assert.deepEqual(m.state(), { epoch: 1, batch: 0, seed: 4 });
});

test('stream loader over JSONL: a bad line is an error naming file and line; a pass can stop early and the next is complete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-stream-'));
  writeFileSync(join(dir, 'bad.jsonl'), '{"v":1}\n\n{"v":\n');
  const bad = new StreamLoader(
    jsonlDataset(join(dir, 'bad.jsonl'), (o) => ({ v: (o as { v: number }).v })),
    { batchSize: 2 },
  );
  await assert.rejects(
    async () => {
      for await (const _ of bad.iterate(0));
    },
    (e: unknown) => e instanceof Error && e.message.includes(`${join(dir, 'bad.jsonl')}:3`),
  );
  writeFileSync(join(dir, 'ok.jsonl'), '{"v":1}\r\n{"v":2}\n\n{"v":3}\n');
  const ok = new StreamLoader(
    jsonlDataset(join(dir, 'ok.jsonl'), (o) => ({ v: (o as { v: number }).v })),
    { batchSize: 1 },
  );
  for await (const _ of ok.iterate(0)) break;
  const all: number[] = [];
  for await (const b of ok.iterate(0)) all.push(Number((b.v.data as BigInt64Array)[0]));
  assert.deepEqual(all, [1, 2, 3]);
});

test('loadAll stacks an image folder into x float32 [N, C, H, W] in [0, 1], y int64 [N]', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lathe-loadall-'));
  for (const [cls, background] of [
    ['cat', { r: 200, g: 10, b: 10 }],
    ['dog', { r: 10, g: 10, b: 200 }],
  ] as const) {
    mkdirSync(join(root, cls));
    await sharp({ create: { width: 6, height: 5, channels: 3, background } })
      .png()
      .toFile(join(root, cls, 'a.png'));
    await sharp({ create: { width: 9, height: 7, channels: 4, background: { ...background, alpha: 1 } } })
      .jpeg()
      .toFile(join(root, cls, 'b.jpg'));
  }
  const ds = imageFolder({ root, size: [3, 5], channels: 1 });
  const b = await loadAll(ds);
  assert.deepEqual(b.x.shape, [4, 1, 3, 5]);
  assert.equal(b.x.dtype, 'float32');
  assert.deepEqual(Array.from(b.y.data as BigInt64Array, Number), [0, 0, 1, 1]);
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  for (const v of b.x.data as Float32Array) assert.ok(v >= 0 && v <= 1);
});
