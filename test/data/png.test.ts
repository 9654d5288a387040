// The JS PNG decoder against Pillow (every common layout: L, LA, RGB, RGBA, palette 8- and 4-bit, 1-bit), broken
// files named in errors, and a corrupt file in an image folder reaching the consumer through worker threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { decodePng } from '../../src/data/readers/png.js';
import { toPlanes } from '../../src/data/readers/image-folder.js';
import { DataLoader, SampleError } from '../../src/data/loader.js';
import { pipeline } from '../../src/data/pipeline.js';
import { folder, ref } from './image-reference.js';

const pngs = join(process.cwd(), 'test/fixtures/data/png');
const png = ref.png as Record<string, { RGB: number[]; L: number[] }>;

test("every common PNG layout decodes to Pillow's RGB and L pixels", () => {
  assert.deepEqual(Object.keys(png).sort(), ['1', 'L', 'LA', 'P4', 'P8', 'RGB', 'RGBA']);
  for (const [name, want] of Object.entries(png)) {
    const img = decodePng(readFileSync(join(pngs, `${name}.png`)), name);
    assert.ok(img, `${name} handled in JS`);
    assert.deepEqual([img.width, img.height], [7, 5], name);
    assert.deepEqual(Array.from(toPlanes(img, 3)), want.RGB, `${name} as RGB`);
    assert.deepEqual(Array.from(toPlanes(img, 1)), want.L, `${name} as L`);
  }
});

/** A PNG (CRCs left zero: the decoder does not check them) whose row y uses filter y mod 5. */
function encodeFiltered(px: Uint8Array, w: number, h: number, channels: number): Uint8Array {
  const stride = w * channels;
  const raw = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = px[y * stride + i];
      const a = i >= channels ? px[y * stride + i - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? px[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      raw[y * (stride + 1) + 1 + i] = (x - [0, a, b, (a + b) >> 1, paeth][f]) & 0xff;
    }
  }
  const chunk = (type: string, body: Uint8Array): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, body, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 3 ? 2 : 6;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

test('all five row filters (None, Sub, Up, Average, Paeth) unfilter to the original pixels', () => {
  for (const channels of [3, 4]) {
    const [w, h] = [9, 10];
    const px = Uint8Array.from({ length: w * h * channels }, (_, i) => (i * 73 + ((i * i) % 251)) & 0xff);
    const img = decodePng(encodeFiltered(px, w, h, channels), 'filters.png');
    assert.ok(img);
    assert.deepEqual(Array.from(img.data), Array.from(px), `${channels} channels`);
  }
});

test('broken PNGs are errors naming the file; not-a-PNG is left to sharp', () => {
  const bytes = readFileSync(join(pngs, 'RGB.png'));
  assert.throws(
    () => decodePng(bytes.subarray(0, bytes.length - 20), 'cut.png'),
    /cut\.png: PNG (chunk IDAT is truncated|is truncated)/,
  );
  const bad = Uint8Array.from(bytes);
  bad[60] ^= 0xff; // inside the compressed data
  assert.throws(() => decodePng(bad, 'flip.png'), /flip\.png: PNG/);
  assert.equal(decodePng(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0]), 'x.jpg'), undefined);
});

test('a corrupt PNG in an image folder reaches the consumer as a SampleError naming it (2 workers), or is skipped', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lathe-png-'));
  try {
    cpSync(folder, root, { recursive: true });
    writeFileSync(join(root, 'a', 'broken.png'), readFileSync(join(pngs, 'RGB.png')).subarray(0, 50));
    const spec = pipeline({ dataset: { kind: 'image-folder', root, size: 8 } });
    const l = await DataLoader.fromSpec(spec, { batchSize: 1, workers: 2 });
    const err = await (async () => {
      try {
        for await (const _ of l) void _;
      } catch (e) {
        return e;
      }
    })();
    await l.close();
    assert.ok(err instanceof SampleError, String(err));
    assert.equal(err.index, 0);
    assert.match(err.message, /broken\.png/);
    const skipping = await DataLoader.fromSpec(spec, {
      batchSize: 2,
      workers: 2,
      skipErrors: true,
      onSkip: () => undefined,
    });
    let n = 0;
    for await (const b of skipping) n += b.x.shape[0];
    await skipping.close();
    assert.equal(n, 2);
    assert.equal(skipping.skipped, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
