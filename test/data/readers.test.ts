import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeIdx, readIdx, readIdxArray } from '../../src/data/idx.js';
import { idxDataset } from '../../src/data/readers/idx-dataset.js';
import { parseCsv, readCsv } from '../../src/data/readers/csv.js';
import { tableDataset } from '../../src/data/readers/table-dataset.js';
import { jsonlLines, parseJsonl, readJsonl } from '../../src/data/readers/jsonl.js';
import { imageFolder } from '../../src/data/readers/image-folder.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'lathe-read-'));

test('IDX: gzipped and plain, header validated, bad magic and truncation name the file, other element types', () => {
  const dir = tmp();
  const px = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  writeFileSync(join(dir, 'a.idx.gz'), gzipSync(encodeIdx([2, 3, 4], px)));
  writeFileSync(join(dir, 'l.idx'), encodeIdx([2], Uint8Array.of(7, 9)));
  const a = readIdx(join(dir, 'a.idx.gz'));
  assert.deepEqual(a.dims, [2, 3, 4]);
  assert.deepEqual(Array.from(a.data), Array.from(px));
  const ds = idxDataset({ images: join(dir, 'a.idx.gz'), labels: join(dir, 'l.idx') });
  const s = ds.get(1, { epoch: 0, index: 1, random: Math.random }) as unknown as {
    x: { shape: number[]; data: Uint8Array };
    y: number;
  };
  assert.deepEqual([s.x.shape, s.x.data[0], s.y], [[1, 3, 4], 12, 9]);
  writeFileSync(join(dir, 'bad.gz'), gzipSync(Buffer.from([1, 2, 3, 4, 5])));
  assert.throws(() => readIdx(join(dir, 'bad.gz')), /bad\.gz: not an IDX file \(bad magic 01020304\)/);
  writeFileSync(join(dir, 'short.idx'), encodeIdx([5], Uint8Array.of(1, 2)));
  assert.throws(() => readIdx(join(dir, 'short.idx')), /short\.idx: header \[5\] needs 5 bytes of data, file has 2/);
  assert.throws(() => readIdx(join(dir, 'none.idx')), /none\.idx: file not found/);
  const f = Buffer.alloc(4 + 4 + 8);
  f.set([0, 0, 0x0d, 1]);
  f.writeUInt32BE(2, 4);
  f.writeFloatBE(1.5, 8);
  f.writeFloatBE(-2, 12);
  writeFileSync(join(dir, 'f.idx'), f);
  assert.deepEqual(Array.from(readIdxArray(join(dir, 'f.idx')).data as Float32Array), [1.5, -2]);
  assert.throws(() => readIdx(join(dir, 'f.idx')), /element type is float, expected unsigned byte/);
});

const CSV = 'name,age,city,score\n"Smith, J",34,"New\nYork",1.5\nLee,,Paris,NA\n"O""Brien",51,Paris,-2\n';

test('CSV: quoted fields (commas, quotes, newlines), inferred and declared types, missing values, errors with line', () => {
  const t = parseCsv(CSV);
  assert.equal(t.rows, 3);
  assert.deepEqual(t.names, ['name', 'age', 'city', 'score']);
  assert.deepEqual(t.columns.name.values, ['Smith, J', 'Lee', 'O"Brien']);
  assert.deepEqual(t.columns.city.values, ['New\nYork', 'Paris', 'Paris']);
  assert.equal(t.columns.age.type, 'number');
  assert.deepEqual(Array.from(t.columns.age.values as Float64Array), [34, NaN, 51]);
  assert.deepEqual(Array.from(t.columns.score.values as Float64Array), [1.5, NaN, -2]);
  assert.throws(
    () => parseCsv(CSV, { columns: { score: 'int' }, source: 'p.csv' }),
    /p\.csv:2: column "score": "1\.5" is not an integer/,
  );
  assert.throws(() => parseCsv('a,b\n1,2\n3\n', { source: 'q.csv' }), /q\.csv:3: 1 fields, header has 2/);
  assert.throws(() => parseCsv('a\n"x', { source: 'r.csv' }), /r\.csv:2: unterminated quoted field/);
  assert.throws(() => parseCsv(CSV, { columns: { nope: 'string' } }), /no column "nope"/);
  const dir = tmp();
  writeFileSync(join(dir, 't.csv'), 'x;y\r\n1;a\r\n2;b\r\n');
  const r = readCsv(join(dir, 't.csv'), { delimiter: ';' });
  const ds = tableDataset(r, { label: 'y' });
  assert.deepEqual(ds.classes, ['a', 'b']);
  const s = ds.get(1, { epoch: 0, index: 1, random: Math.random }) as unknown as {
    x: { data: Float32Array };
    y: number;
  };
  assert.deepEqual([Array.from(s.x.data), s.y], [[2], 1]);
});

test('JSONL: values, blank lines skipped, streaming with line numbers, errors name file and line', async () => {
  assert.deepEqual(parseJsonl('{"a":1}\n\n[2]\n'), [{ a: 1 }, [2]]);
  assert.throws(() => parseJsonl('{"a":1}\n{oops}\n', 'd.jsonl'), /d\.jsonl:2: invalid JSON/);
  const dir = tmp();
  writeFileSync(join(dir, 'x.jsonl'), '{"t":"a"}\r\n\n{"t":"b"}\n{bad\n');
  const seen: unknown[] = [];
  await assert.rejects(async () => {
    for await (const { value, line } of jsonlLines(join(dir, 'x.jsonl'))) seen.push([value, line]);
  }, /x\.jsonl:4: invalid JSON/);
  assert.deepEqual(seen, [
    [{ t: 'a' }, 1],
    [{ t: 'b' }, 3],
  ]);
  assert.throws(() => readJsonl(join(dir, 'x.jsonl')), /x\.jsonl:4/);
});

test('image folder: class per subfolder, PNG and JPEG decoded by sharp, resized, greyscale or RGB', async () => {
  const root = tmp();
  for (const c of ['cat', 'dog']) mkdirSync(join(root, c));
  const solid = (r: number, g: number, b: number) =>
    sharp({ create: { width: 10, height: 6, channels: 3, background: { r, g, b } } });
  await solid(255, 0, 0)
    .png()
    .toFile(join(root, 'cat', 'a.png'));
  await solid(0, 0, 255)
    .jpeg({ quality: 95 })
    .toFile(join(root, 'dog', 'b.jpg'));
  writeFileSync(join(root, 'dog', 'notes.txt'), 'ignored');
  writeFileSync(join(root, 'dog', 'broken.png'), 'not a png');
  const ds = imageFolder({ root, size: [4, 5], channels: 3 });
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.equal(ds.length, 3);
  const ctx = { epoch: 0, index: 0, random: Math.random };
  const cat = (await ds.get(0, ctx)) as unknown as { x: { shape: number[]; data: Float32Array }; y: number };
  assert.deepEqual(cat.x.shape, [3, 4, 5]);
  assert.equal(cat.y, 0);
  assert.deepEqual([cat.x.data[0], cat.x.data[20], cat.x.data[40]], [1, 0, 0], 'red, CHW');
  const dog = (await ds.get(1, ctx)) as unknown as { x: { data: Float32Array }; y: number };
  assert.ok(dog.x.data[40] > 0.9 && dog.x.data[0] < 0.1 && dog.y === 1, 'blue JPEG');
  await assert.rejects(async () => ds.get(2, ctx), /broken\.png: cannot decode image/);
  const grey = imageFolder({ root, size: 4, channels: 1 });
  assert.deepEqual(((await grey.get(0, ctx)) as unknown as { x: { shape: number[] } }).x.shape, [1, 4, 4]);
});
