// Compress configs: the example file parses, defaults fill what a file leaves out, a bad field is named by its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadCompressConfig, parseCompressConfig } from '../../src/compress/config.js';
import { packageRoot } from '../../src/util/package-root.js';

test('examples/compress-int8.yaml parses; an empty config is all defaults', () => {
  const c = loadCompressConfig(join(packageRoot(), 'examples', 'compress-int8.yaml'));
  assert.equal(c.quantize.sensitivity, true);
  assert.deepEqual(c.report.latencyBatches, [1, 64]);
  const d = parseCompressConfig({});
  assert.equal(d.quantize.mode, 'static');
  assert.equal(d.quantize.calibration.method, 'minmax');
  assert.equal(d.quantize.calibration.samples, 512);
  assert.equal(d.quantize.activationType, 'uint8');
});

test('a bad field is named by its path and the file', () => {
  assert.throws(
    () => parseCompressConfig({ quantize: { calibration: { percentile: 20 } } }, 'c.yaml'),
    /c\.yaml: quantize\.calibration\.percentile/,
  );
  assert.throws(() => parseCompressConfig({ quantize: { bogus: 1 } }, 'c.yaml'), /c\.yaml: quantize/);
  assert.throws(() => loadCompressConfig('/nonexistent/c.yaml'), /no such config file/);
});
