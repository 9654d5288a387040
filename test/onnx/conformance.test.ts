// ONNX's backend test suite (Debian's libonnx-testdata) through importOnnx → compile → ORT, against the committed
// classes in conformance-expectations.json: a pass that becomes anything else fails, and so does any silently
// wrong result or crash. Improvements (a refusal that now passes) are reported so the expectations get updated.
// Regenerate: node dist/scripts/onnx-conformance.js --write-expectations test/onnx/conformance-expectations.json
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { listTests, runCase, SUITE_ROOT, SUITES, type Outcome } from '../../scripts/onnx-conformance.js';

const expectations = JSON.parse(readFileSync('test/onnx/conformance-expectations.json', 'utf8')) as Record<
  string,
  Outcome
>;
const present = existsSync(SUITE_ROOT);

for (const suite of SUITES) {
  test(`ONNX backend suite '${suite}': no regression against conformance-expectations.json, no wrong result, no crash`, {
    skip: present
      ? false
      : `${SUITE_ROOT} is absent: install Debian's libonnx-testdata (apt-get install libonnx-testdata) to run the ONNX conformance suite`,
  }, async (t) => {
    const problems: string[] = [];
    const improved: string[] = [];
    const names = listTests(suite);
    assert.ok(names.length > 0, `no tests under ${SUITE_ROOT}/${suite}`);
    for (const name of names) {
      const r = await runCase(suite, name, false);
      const want = expectations[r.id];
      if (r.outcome === 'wrong' || r.outcome === 'crash') problems.push(`${r.id}: ${r.outcome}: ${r.reason}`);
      else if (want === 'pass' && r.outcome !== 'pass')
        problems.push(`${r.id}: was pass, now ${r.outcome}: ${r.reason}`);
      else if (want !== undefined && want !== r.outcome && r.outcome === 'pass') improved.push(r.id);
    }
    if (improved.length > 0)
      t.diagnostic(
        `${improved.length} tests now pass that the expectations do not record (update the file): ${improved.join(', ')}`,
      );
    assert.deepEqual(problems, [], `${problems.length} conformance regressions:\n${problems.join('\n')}`);
  });
}
