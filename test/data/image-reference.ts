// The torchvision/Pillow reference values of test/fixtures/data/image-reference.json (scripts/data/make-image-reference.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { NDArray } from '../../src/graph/ndarray.js';

export interface ImageReference {
  readonly colour_input: number[];
  readonly colour: Record<string, number[]>;
  readonly colour_two_pixels: number[];
  readonly resize_input: number[];
  readonly resize: Record<string, number[]>;
  readonly impulse_8_to_16: number[];
  readonly pil: Record<string, number[]>;
  readonly [more: string]: unknown;
}

export const ref = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/data/image-reference.json'), 'utf8'),
) as ImageReference;
export const folder = join(process.cwd(), 'test/fixtures/data/image-folder');

export const img = (shape: readonly number[], values: readonly number[]): NDArray<'float32'> => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from(values),
});

/** Largest |a − b|, asserting it is at most `tol`. */
export function near(got: ArrayLike<number>, want: readonly number[], tol: number, what: string): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst <= tol, `${what}: max |diff| ${worst} > ${tol}`);
  return worst;
}
