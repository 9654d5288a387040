// Text files as LM data: train / validation / test by position, validation and test windows non-overlapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTextWindows } from '../../src/train/text-data.js';

const dir = mkdtempSync(join(tmpdir(), 'lathe-text-'));
const path = join(dir, 'digits.txt');
// 1,000 bytes whose value tells their position: the first 800 are 'a', the next 100 'b', the last 100 'c'
writeFileSync(path, 'a'.repeat(800) + 'b'.repeat(100) + 'c'.repeat(100));

const ids = (a: { data: unknown }): number[] => Array.from(a.data as BigInt64Array, Number);

test('loadTextWindows: the last testFraction tests, the valFraction before it validates, the rest trains', () => {
  const t = loadTextWindows({ path, context: 10, tokenizer: 'byte', valFraction: 0.1, testFraction: 0.1 });
  const [a, b, c] = [97, 98, 99];
  assert.ok(ids(t.train.x).every((v) => v === a));
  assert.ok(ids(t.val.x).every((v) => v === b));
  assert.ok(ids(t.test.x).every((v) => v === c));
  // held-out windows never overlap: 100 tokens give 9 windows of 10 + 1
  assert.equal(t.val.x.shape[0], 9);
  assert.equal(t.test.x.shape[0], 9);
  assert.equal(t.tokens, 1000);
});

test('loadTextWindows: fractions that leave nothing to train on are refused', () => {
  assert.throws(
    () => loadTextWindows({ path, valFraction: 0.5, testFraction: 0.5 }),
    /testFraction \+ valFraction must be below 1/,
  );
});
