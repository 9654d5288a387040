import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/tune/storage/memory.js';
import { openStorage, parseStorageUrl } from '../../src/tune/storage/open.js';
import { StorageError } from '../../src/tune/errors.js';
import { storageConformance } from './storage-conformance.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgAvailable, tempDir, tempPostgres, tempSqlite } from './helpers.js';

storageConformance('memory', async () => ({ storage: new MemoryStorage(), cleanup: async () => undefined }));
storageConformance('sqlite', async () => {
  const t = tempSqlite();
  return { storage: await openStorage(t.url), cleanup: t.cleanup };
});
const pgSkip = (await pgAvailable()) ? false : 'PostgreSQL not reachable at 127.0.0.1:5432';
storageConformance(
  'postgres',
  async () => {
    const t = tempPostgres();
    return { storage: await openStorage(t.url), cleanup: t.cleanup };
  },
  { skip: pgSkip },
);

test('storage URLs', () => {
  assert.deepEqual(parseStorageUrl('memory:'), { kind: 'memory' });
  assert.deepEqual(parseStorageUrl('sqlite:///rel/a.db'), { kind: 'sqlite', path: 'rel/a.db' });
  assert.deepEqual(parseStorageUrl('sqlite:////abs/a.db'), { kind: 'sqlite', path: '/abs/a.db' });
  assert.deepEqual(parseStorageUrl('plain.db'), { kind: 'sqlite', path: 'plain.db' });
  assert.equal(parseStorageUrl('postgresql://u@h/db').kind, 'postgres');
  assert.throws(() => parseStorageUrl('mysql://x'), /unknown scheme/);
  assert.throws(() => parseStorageUrl(''), StorageError);
});

test('an unreachable PostgreSQL gives a clear StorageError', async () => {
  await assert.rejects(
    openStorage('postgres://postgres@127.0.0.1:1/test'),
    (e: Error) =>
      e instanceof StorageError && /cannot reach PostgreSQL storage at 127\.0\.0\.1:1\/test/.test(e.message),
  );
});

test('an SQLite path that cannot be created gives a clear StorageError', async () => {
  const t = tempDir();
  const file = join(t.dir, 'plain-file');
  writeFileSync(file, 'not a folder');
  try {
    await assert.rejects(
      openStorage(`sqlite:///${file}/x.db`),
      (e: Error) => e instanceof StorageError && e.message.includes(`cannot open SQLite storage '${file}/x.db'`),
    );
  } finally {
    t.cleanup();
  }
});
