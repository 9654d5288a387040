#!/usr/bin/env node
// Builds data/fashion-mnist-subset from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist):
// the first PER_CLASS_TRAIN images of each class from the training split and the first PER_CLASS_TEST of each
// class from the test split, in the original order, written as gzipped IDX files (same format as the originals).
// Usage: node scripts/data/make-fashion-subset.mjs [sourceDir] [outDir]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const src = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = process.argv[3] ?? 'data/fashion-mnist-subset';
const PER_CLASS_TRAIN = 800;
const PER_CLASS_TEST = 200;

const idx = (p) => {
  const b = gunzipSync(readFileSync(join(src, p)));
  const rank = b[3];
  const dims = Array.from({ length: rank }, (_, i) => b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * rank), header: b.subarray(0, 4 + 4 * rank) };
};
const write = (p, dims, data) => {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 0x08;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  writeFileSync(join(out, p), gzipSync(Buffer.concat([h, Buffer.from(data)]), { level: 9 }));
};
mkdirSync(out, { recursive: true });
for (const [prefix, per] of [
  ['train', PER_CLASS_TRAIN],
  ['t10k', PER_CLASS_TEST],
]) {
  const img = idx(`${prefix}-images-idx3-ubyte.gz`);
  const lab = idx(`${prefix}-labels-idx1-ubyte.gz`);
  const counts = new Array(10).fill(0);
  const keep = [];
  for (let i = 0; i < lab.dims[0]; i++) if (counts[lab.data[i]]++ < per) keep.push(i);
  const px = img.dims[1] * img.dims[2];
  const images = new Uint8Array(keep.length * px);
  keep.forEach((i, k) => images.set(img.data.subarray(i * px, (i + 1) * px), k * px));
  write(`${prefix}-images-idx3-ubyte.gz`, [keep.length, img.dims[1], img.dims[2]], images);
  write(
    `${prefix}-labels-idx1-ubyte.gz`,
    [keep.length],
    Uint8Array.from(keep, (i) => lab.data[i]),
  );
  console.log(`${prefix}: ${keep.length} images`);
}
