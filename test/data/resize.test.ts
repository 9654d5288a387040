// Resizing and greyscale against torchvision 0.14 (tensor F.resize, antialias on and off) and Pillow (the
// image-folder path: ImageFolder + convert('L'/'RGB') + Resize).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resize } from '../../src/data/transforms/geometry.js';
import { decodeImage, imageFolder } from '../../src/data/readers/image-folder.js';
import type { Interpolation } from '../../src/data/transforms/resample2d.js';
import { folder, img, near, ref } from './image-reference.js';

const ctx = { epoch: 0, index: 0, random: () => 0.5 };

test("resize equals torchvision's tensor resize: bilinear/bicubic, antialias on and off, down and up", () => {
  const x = img([2, 7, 9], ref.resize_input);
  let n = 0;
  for (const [key, want] of Object.entries(ref.resize)) {
    const [interpolation, aa, hw] = key.split('_');
    const [oh, ow] = hw.split('x').map(Number);
    const y = resize({ size: [oh, ow], interpolation: interpolation as Interpolation, antialias: aa === 'True' })(
      x,
      ctx,
    );
    assert.deepEqual(y.shape, [2, oh, ow]);
    near(y.data as Float32Array, want, 2e-6, key);
    n++;
  }
  assert.equal(n, 12);
});

test('upsizing is aligned on pixel centres: an impulse 8 → 16 has its centre at 7.5 (not shifted by half a pixel)', () => {
  const x = img([1, 1, 8], [0, 0, 0, 1, 1, 0, 0, 0]);
  const y = resize({ size: [1, 16] })(x, ctx).data as Float32Array;
  near(y, ref.impulse_8_to_16, 1e-6, 'impulse');
  let m = 0;
  let s = 0;
  y.forEach((v, i) => ((m += v * i), (s += v)));
  assert.ok(Math.abs(m / s - 7.5) < 1e-6, `centre ${m / s}`);
});

test('resize keeps the aspect ratio for a single size (smaller edge), as torchvision', () => {
  const x = img([1, 4, 10], new Array(40).fill(0.5));
  assert.deepEqual(resize({ size: 2 })(x, ctx).shape, [1, 2, 5]);
  assert.throws(
    () => resize({ size: 2, interpolation: 'lanczos' as Interpolation }),
    /interpolation must be one of nearest, bilinear, bicubic/,
  );
});

test('imageFolder decodes, converts and resizes as Pillow: RGB and L, bilinear/bicubic/nearest, down and up', async () => {
  let exact = 0;
  let total = 0;
  for (const [key, want] of Object.entries(ref.pil)) {
    const [file, ch, interpolation, hw] = key.split('_');
    if (interpolation === 'native') continue;
    const [h, w] = hw.split('x').map(Number);
    const x = await decodeImage(join(folder, 'a', file), [h, w], Number(ch) as 1 | 3, {
      interpolation: interpolation as Interpolation,
    });
    const got = Array.from(x.data as Float32Array, (v) => Math.round(v * 255));
    near(got, want, 1, key); // Pillow's fixed-point weights may round a level differently
    exact += got.filter((v, i) => v === want[i]).length;
    total += got.length;
  }
  assert.ok(exact / total > 0.99, `${exact} of ${total} levels equal Pillow's`);
});

test('greyscale is PIL\'s convert("L") luma: pure red, green, blue → 76, 150, 29 (not linear-light Rec.709)', async () => {
  const ds = imageFolder({ root: folder, size: [11, 13], channels: 1 });
  const i = ds.files.findIndex((f) => f.path.endsWith('primaries.png'));
  const x = (await ds.get(i, ctx)).x as { data: Float32Array };
  assert.deepEqual(
    [0, 3, 6, 9].map((q) => Math.round(x.data[q] * 255)),
    [76, 150, 29, Math.floor((200 * 19595 + 120 * 38470 + 40 * 7471 + 0x8000) / 65536)],
  );
  near(
    Array.from(x.data, (v) => Math.round(v * 255)),
    ref.pil['primaries.png_1_native'],
    0,
    'primaries L',
  );
  const rgb = await decodeImage(join(folder, 'a', 'noise.png'), [11, 13], 3);
  near(
    Array.from(rgb.data, (v) => Math.round(v * 255)),
    ref.pil['noise.png_3_native'],
    0,
    'noise RGB at its own size',
  );
  assert.throws(
    () => imageFolder({ root: folder, size: 8, interpolation: 'area' as Interpolation }),
    /interpolation must be nearest, bilinear or bicubic/,
  );
  assert.throws(() => imageFolder({ root: folder, size: 8, chanels: 1 } as never), /unknown option "chanels"/);
});
