// The real download code path, against a local 127.0.0.1 server (never the internet).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { downloadFashionMnist, FASHION_FILES } from '../../src/data/fashion.js';
import { FASHION_SUBSET_DIR } from '../../src/train/datasets.js';

test('download verifies MD5 sums, caches, and rejects a tampered file without leaving it behind', async () => {
  const src = FASHION_SUBSET_DIR();
  let tamper = false;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const name = (req.url ?? '').split('/').pop()!;
    const p = join(src, name);
    if (!existsSync(p)) return void res.writeHead(404).end();
    const bytes = readFileSync(p);
    if (tamper && name.startsWith('t10k-labels')) bytes[bytes.length - 1] ^= 1;
    res.writeHead(200).end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const files = Object.fromEntries(Object.keys(FASHION_FILES).map((n) => [n, createHash('md5').update(readFileSync(join(src, n))).digest('hex')]));
  try {
    const dir = mkdtempSync(join(tmpdir(), 'lathe-dl-'));
    assert.equal(await downloadFashionMnist({ dir, baseUrl: base, files }), dir);
    assert.equal(requests, 4);
    await downloadFashionMnist({ dir, baseUrl: base, files });
    assert.equal(requests, 4, 'verified cached files are not downloaded again');
    const dir2 = mkdtempSync(join(tmpdir(), 'lathe-dl-'));
    tamper = true;
    await assert.rejects(downloadFashionMnist({ dir: dir2, baseUrl: base, files }), /t10k-labels-idx1-ubyte\.gz has MD5 [0-9a-f]+, expected/);
    assert.ok(!readdirSync(dir2).includes('t10k-labels-idx1-ubyte.gz'));
  } finally {
    server.close();
  }
});
