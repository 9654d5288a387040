// reduce range `auto`: on exactly when the CPU's flags show no VNNI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { int8MayOverflow } from '../../src/compress/cpu-features.js';

test('int8MayOverflow: x86 flags without VNNI saturate, with AVX-512 VNNI / AVX-VNNI / AMX they do not', () => {
  const info = (flags: string) => `processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: ${flags}\n`;
  assert.equal(int8MayOverflow(info('fpu sse2 avx avx2 fma')), true);
  assert.equal(int8MayOverflow(info('fpu avx2 avx512f avx512_vnni')), false);
  assert.equal(int8MayOverflow(info('fpu avx2 avx_vnni')), false);
  assert.equal(int8MayOverflow(info('fpu avx2 amx_int8 amx_tile')), false);
  assert.equal(int8MayOverflow('no flags line here'), false, 'unknown: no risk known');
  assert.equal(typeof int8MayOverflow(), 'boolean');
});
