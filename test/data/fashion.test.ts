// Fashion-MNIST: the shipped subset, the lookup order, and the real download code path against a local
// 127.0.0.1 server (never the internet).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, readdirSync, statSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  downloadFashionMnist,
  fashionMnist,
  fashionMnistSubset,
  fashionSubsetDir,
  FASHION_FILES,
  FASHION_SYSTEM_DIR,
} from '../../src/data/fashion.js';

const FILES = Object.keys(FASHION_FILES);

async function withServer(
  fn: (base: string, stats: { requests: number; tamper: boolean }) => Promise<void>,
): Promise<void> {
  const src = fashionSubsetDir();
  const stats = { requests: 0, tamper: false };
  const server = createServer((req, res) => {
    stats.requests++;
    const name = (req.url ?? '').split('/').pop()!;
    const p = join(src, name);
    if (!existsSync(p)) return void res.writeHead(404).end();
    const bytes = readFileSync(p);
    if (stats.tamper && name.startsWith('t10k-labels')) bytes[bytes.length - 1] ^= 1;
    res.writeHead(200).end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, stats);
  } finally {
    server.close();
  }
}
const md5s = () =>
  Object.fromEntries(
    FILES.map((n) => [
      n,
      createHash('md5')
        .update(readFileSync(join(fashionSubsetDir(), n)))
        .digest('hex'),
    ]),
  );

test('the shipped subset: class-balanced, 8,000 + 2,000 images, under 5 MB, with the MIT notice', () => {
  const dir = fashionSubsetDir();
  const bytes = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  assert.ok(bytes < 5 * 1024 * 1024, `${bytes} bytes`);
  assert.match(readFileSync(join(dir, 'LICENSE'), 'utf8'), /MIT License[\s\S]*Zalando SE/);
  for (const [split, n] of [
    ['train', 8000],
    ['test', 2000],
  ] as const) {
    const ds = fashionMnistSubset(split);
    assert.equal(ds.length, n);
    const counts = new Array(10).fill(0);
    for (const y of ds.labels.data) counts[y]++;
    assert.deepEqual(counts, new Array(10).fill(n / 10));
    const { x, y } = ds.toArrays();
    assert.deepEqual(x.shape, [n, 1, 28, 28]);
    assert.equal(y.dtype, 'int64');
    const s = ds.get(3);
    assert.deepEqual(Array.from((s.x as { data: Float32Array }).data), Array.from(x.data.subarray(3 * 784, 4 * 784)));
  }
  assert.throws(() => fashionMnistSubset('train').get(8000), /index 8000 out of range/);
});

test('download verifies MD5 sums, caches, and rejects a tampered file without leaving it behind', async () => {
  await withServer(async (base, stats) => {
    const files = md5s();
    const dir = mkdtempSync(join(tmpdir(), 'lathe-dl-'));
    assert.equal(await downloadFashionMnist({ dir, baseUrl: base, files }), dir);
    assert.equal(stats.requests, 4);
    await downloadFashionMnist({ dir, baseUrl: base, files });
    assert.equal(stats.requests, 4, 'verified cached files are not downloaded again');
    const dir2 = mkdtempSync(join(tmpdir(), 'lathe-dl-'));
    stats.tamper = true;
    await assert.rejects(
      downloadFashionMnist({ dir: dir2, baseUrl: base, files }),
      /t10k-labels-idx1-ubyte\.gz has MD5 [0-9a-f]+, expected/,
    );
    assert.ok(!readdirSync(dir2).some((f) => f.startsWith('t10k-labels') || f.startsWith('.t10k-labels')));
    await assert.rejects(
      downloadFashionMnist({ dir: dir2, baseUrl: base, files: { 'missing.gz': '0' } }),
      /missing\.gz: HTTP 404/,
    );
  });
});

test('fashionMnist looks in root, then the system dir, then the cache, and downloads only when all miss', async () => {
  await withServer(async (base, stats) => {
    const empty = mkdtempSync(join(tmpdir(), 'lathe-none-'));
    const cacheDir = mkdtempSync(join(tmpdir(), 'lathe-cache-'));
    const saved = process.env.LATHE_FASHION_MNIST;
    delete process.env.LATHE_FASHION_MNIST;
    try {
      const fromRoot = await fashionMnist({
        split: 'test',
        root: fashionSubsetDir(),
        cacheDir,
        systemDir: empty,
        baseUrl: base,
      });
      assert.equal(fromRoot.dir, fashionSubsetDir());
      await assert.rejects(fashionMnist({ split: 'test', root: empty }), /has no t10k-images/);
      await assert.rejects(
        fashionMnist({ split: 'test', cacheDir, systemDir: empty, download: false }),
        /not found .*download is off/,
      );
      const system = mkdtempSync(join(tmpdir(), 'lathe-sys-'));
      for (const f of FILES) copyFileSync(join(fashionSubsetDir(), f), join(system, f));
      assert.equal((await fashionMnist({ split: 'train', cacheDir, systemDir: system, baseUrl: base })).dir, system);
      assert.equal(stats.requests, 0);
      const dl = await fashionMnist({ split: 'test', cacheDir, systemDir: empty, baseUrl: base, files: md5s() });
      assert.equal(dl.dir, cacheDir);
      assert.equal(stats.requests, 4);
      assert.equal(dl.length, 2000);
      assert.equal((await fashionMnist({ split: 'test', cacheDir, systemDir: empty, baseUrl: base })).dir, cacheDir);
      assert.equal(stats.requests, 4, 'found in the cache');
    } finally {
      if (saved !== undefined) process.env.LATHE_FASHION_MNIST = saved;
    }
  });
});

test('the full dataset from Debian (skipped when dataset-fashion-mnist is absent)', {
  skip: existsSync(join(FASHION_SYSTEM_DIR, 't10k-images-idx3-ubyte.gz'))
    ? false
    : `${FASHION_SYSTEM_DIR} absent (apt-get install dataset-fashion-mnist)`,
}, async () => {
  const ds = await fashionMnist({ split: 'test', download: false });
  assert.equal(ds.length, 10000);
  const counts = new Array(10).fill(0);
  for (const y of ds.labels.data) counts[y]++;
  assert.deepEqual(counts, new Array(10).fill(1000));
});
