// Recall of the review rules on the broken corpus (≥ 90 %, every rule covered) and silence on the healthy cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { review } from '../../src/advise/review.js';
import { RULES } from '../../src/advise/rules.js';
import { BROKEN, HEALTHY } from './corpus.js';

test('the corpus has ≥ 30 broken cases covering every rule and ≥ 10 healthy ones', () => {
  assert.ok(BROKEN.length >= 30, `${BROKEN.length} broken cases`);
  assert.ok(HEALTHY.length >= 10, `${HEALTHY.length} healthy cases`);
  const covered = new Set(BROKEN.map((c) => c.expect));
  const missing = RULES.map((r) => r.id).filter((id) => !covered.has(id));
  assert.deepEqual(missing, [], `rules without a broken case: ${missing.join(', ')}`);
});

test('recall on the broken corpus is at least 90 %', { timeout: 600_000 }, async () => {
  const misses: string[] = [];
  for (const c of BROKEN) {
    const r = await review(c.target());
    if (!r.findings.some((f) => f.rule === c.expect))
      misses.push(`${c.name}: expected ${c.expect}, got ${r.findings.map((f) => f.rule).join(', ') || 'nothing'}`);
  }
  const recall = 1 - misses.length / BROKEN.length;
  assert.ok(recall >= 0.9, `recall ${(recall * 100).toFixed(1)} %:\n${misses.join('\n')}`);
});

test('no warning or error on the healthy corpus', { timeout: 600_000 }, async () => {
  const noisy: string[] = [];
  for (const c of HEALTHY) {
    const r = await review(c.target());
    const loud = r.findings.filter((f) => f.severity !== 'info');
    if (loud.length) noisy.push(`${c.name}: ${loud.map((f) => `${f.rule}: ${f.message}`).join('; ')}`);
  }
  assert.deepEqual(noisy, []);
});
