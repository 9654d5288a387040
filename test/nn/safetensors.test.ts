// Weights as safetensors: written atomically, read back, and loaded into float32 modules from float16, bfloat16
// and float64 files (cast as torch's load_state_dict does); `lathe export --safetensors` writes a state dict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ndarray } from '../../src/graph/ndarray.js';
import { Linear } from '../../src/nn/index.js';
import { readSafetensors, writeSafetensors } from '../../src/nn/safetensors.js';
import { bfloat16ToFloat, halfToFloat } from '../../src/graph/dtype.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-st-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const W = [0.5, -1.25, 2, 0.125, 1, -2];
const HALF = [0x3800, 0xbd00, 0x4000, 0x3000, 0x3c00, 0xc000];
const BF16 = [0x3f00, 0xbfa0, 0x4000, 0x3e00, 0x3f80, 0xc000];

test('half and bfloat16 bit patterns decode exactly (incl. subnormal, infinity, NaN)', () => {
  assert.deepEqual(HALF.map(halfToFloat), W);
  assert.deepEqual(BF16.map(bfloat16ToFloat), W);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('a float32 module loads float16, bfloat16 and float64 state dicts; other dtype or shape mismatches are errors', () => {
  for (const [dtype, data] of [
    ['float16', Uint16Array.from(HALF)],
    ['bfloat16', Uint16Array.from(BF16)],
    ['float64', Float64Array.from(W)],
  ] as const) {
    const path = join(tmp, `${dtype}.safetensors`);
    writeSafetensors(
      path,
      { weight: { dtype, shape: [2, 3], data }, bias: ndarray('float32', [2], [1, -1]) },
      { origin: 'test' },
    );
    const file = readSafetensors(path);
    assert.equal(file.metadata.origin, 'test');
    const m = new Linear(3, 2);
    m.loadStateDict(file.tensors);
    assert.equal(m.weight.data.dtype, 'float32');
    assert.deepEqual(Array.from(m.weight.data.data as Float32Array), W);
  }
  assert.ok(!readdirSync(tmp).some((f) => f.endsWith('.tmp')), 'no temp files left');
  const m = new Linear(3, 2);
  assert.throws(
    () =>
      m.loadStateDict({ weight: ndarray('int32', [2, 3], [1, 2, 3, 4, 5, 6]), bias: ndarray('float32', [2], [0, 0]) }),
    /"weight" is int32\[2,3\], the model expects float32\[2,3\]/,
  );
  assert.throws(
    () => m.loadStateDict({ weight: ndarray('float32', [3, 2], W), bias: ndarray('float32', [2], [0, 0]) }),
    /"weight" is float32\[3,2\]/,
  );
});
