// RandAugment / TrivialAugmentWide against torchvision 0.14: every operation at chosen magnitudes, both magnitude
// tables, and the sampling (op uniform, magnitude bin, sign) by its draws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyOp,
  randAugment,
  randAugmentSpace,
  trivialAugmentSpace,
  trivialAugmentWide,
  type AugmentOp,
} from '../../src/data/transforms/autoaugment.js';
import { sampleRandom } from '../../src/data/random.js';
import { img, near } from './image-reference.js';

interface Ref {
  x: number[];
  u: number[];
  ops: Record<string, number[]>;
  randAugmentSpace: [string, number[], boolean][];
  trivialSpace: [string, number[], boolean][];
}
const ref = JSON.parse(
  readFileSync(join(process.cwd(), 'test/fixtures/data/autoaugment-reference.json'), 'utf8'),
) as Ref;
const x = img([3, 10, 12], ref.x);
const u = img([3, 10, 12], ref.u);

test("every operation equals torchvision's _apply_op (colour to float32 rounding; geometry but for half-pixel ties)", () => {
  assert.equal(Object.keys(ref.ops).length, 18);
  let ties = 0;
  for (const [key, want] of Object.entries(ref.ops)) {
    const [op, m] = key.split(' ');
    const eightBit = op === 'Posterize' || op === 'Equalize';
    const magnitude = op === 'Solarize' ? Number(m) * 255 : Number(m); // lathe's solarize magnitude is on the 8-bit scale
    const y = applyOp(eightBit ? u : x, op as AugmentOp, magnitude).data as Float32Array;
    if (!/^(Shear|Translate|Rotate)/.test(op)) {
      near(y, want, 2e-6, key);
      continue;
    }
    // nearest sampling: a source coordinate exactly on a half pixel rounds by torch's float32 grid arithmetic
    const off = want.filter((v, i) => Math.abs(y[i] - v) > 1e-6).length / 3;
    assert.ok(off <= 4, `${key}: ${off} of 120 pixels differ`);
    ties += off;
  }
  assert.ok(ties <= 4, `${ties} tie pixels over all geometric ops`);
});

test("the magnitude tables equal torchvision's augmentation spaces", () => {
  const cmp = (got: ReturnType<typeof randAugmentSpace>, want: Ref['randAugmentSpace'], what: string) => {
    assert.deepEqual(
      got.map(([op, , s]) => [op, s]),
      want.map(([op, , s]) => [op, s]),
      what,
    );
    got.forEach(([op, mags], i) => near(mags, want[i][1], 1e-5, `${what} ${op}`));
  };
  cmp(randAugmentSpace(31, 10, 12), ref.randAugmentSpace, 'RandAugment');
  cmp(trivialAugmentSpace(31), ref.trivialSpace, 'TrivialAugmentWide');
});

test('RandAugment applies numOps ops at the fixed magnitude; TrivialAugment one op at a random bin; every op reachable', () => {
  // draws: op index, sign (per op)
  const r = randAugment({ numOps: 2, magnitude: 9 });
  const draws = [1 / 14 + 0.001, 0.9, 5 / 14 + 0.001, 0.1]; // ShearX (+), then Rotate (−)
  let k = 0;
  const y = r(x, { epoch: 0, index: 0, random: () => draws[k++] });
  const want = applyOp(applyOp(x, 'ShearX', 0.09), 'Rotate', -9);
  near(y.data as Float32Array, Array.from(want.data as Float32Array), 1e-6, 'ShearX then Rotate');
  const t = trivialAugmentWide();
  const tdraws = [3 / 14 + 0.001, 10 / 31 + 0.001, 0.2]; // TranslateX, bin 10 (32·10/30), negative
  k = 0;
  near(
    t(x, { epoch: 0, index: 0, random: () => tdraws[k++] }).data as Float32Array,
    Array.from(applyOp(x, 'TranslateX', -32 / 3).data as Float32Array),
    0,
    'TrivialAugment',
  );
  const seen = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const rs = sampleRandom(2, 0, i);
    seen.add(String(Math.floor(rs() * 14)));
    const out = t(x, { epoch: 0, index: i, random: sampleRandom(2, 0, i) });
    for (const v of out.data as Float32Array) assert.ok(v >= 0 && v <= 1);
  }
  assert.equal(seen.size, 14);
  assert.throws(() => randAugment({ magnitude: 31 }), /magnitude must be an integer in \[0, 31\)/);
});
