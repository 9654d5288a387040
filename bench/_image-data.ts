// The image folders the data benchmark reads, written once under $TMPDIR/lathe-bench-data and reused:
//   png28:  2,048 grey 28x28 PNGs (Fashion-MNIST training images from the bundled subset), 10 class folders
//   png96:  1,024 RGB 96x96 PNGs (Fashion-MNIST images upscaled, tinted per class, with a little texture), 10 folders
//   jpeg96: the same images as JPEGs (quality 90)
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fashionMnistSubset } from '../src/data/fashion.js';

export type ImageWorkload = 'png28' | 'png96' | 'jpeg96';
export const IMAGE_COUNT: Record<ImageWorkload, number> = { png28: 2048, png96: 1024, jpeg96: 1024 };

export async function imageFolderFor(w: ImageWorkload): Promise<string> {
  const root = join(process.env.LATHE_BENCH_DATA ?? join(tmpdir(), 'lathe-bench-data'), w);
  if (existsSync(join(root, '.complete'))) return root;
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const ds = fashionMnistSubset('train', 'unit');
  const n = IMAGE_COUNT[w];
  for (let i = 0; i < n; i++) {
    const s = await ds.get(i, { epoch: 0, index: i, random: () => 0 });
    const x = s.x as { data: Float32Array };
    const label = s.y as number;
    const dir = join(tmp, `class${label}`);
    mkdirSync(dir, { recursive: true });
    const grey = Buffer.from(Array.from(x.data, (v) => Math.round(v * 255)));
    if (w === 'png28') {
      await sharp(grey, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(join(dir, `${i}.png`));
    } else {
      const tint = [(label * 37) % 256, (label * 91) % 256, (label * 53) % 256];
      const rgb = Buffer.alloc(28 * 28 * 3);
      for (let p = 0; p < 28 * 28; p++)
        for (let k = 0; k < 3; k++)
          rgb[3 * p + k] = Math.round((grey[p] * (128 + tint[k] / 2)) / 255 + ((p * 7 + k * 13 + i) % 17));
      const big = sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } }).resize(96, 96, { kernel: 'cubic' });
      if (w === 'png96') await big.png().toFile(join(dir, `${i}.png`));
      else await big.jpeg({ quality: 90 }).toFile(join(dir, `${i}.jpg`));
    }
  }
  writeFileSync(join(tmp, '.complete'), ''); // a file: a folder would be a class to ImageFolder
  rmSync(root, { recursive: true, force: true });
  renameSync(tmp, root);
  return root;
}
