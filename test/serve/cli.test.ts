// `lathe serve` argument and config errors (exit 2, message names the fault); no server is started.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../util/cli.js';

it('reports a missing model source, bad flags and bad config fields with exit code 2', () => {
  const missing = runCli(['serve', 'no/such/model.onnx'], { timeoutMs: 60_000 });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no\/such\/model\.onnx.*does not exist/);
  const flag = runCli(['serve', 'test/fixtures/serve/cnn.onnx', '--max-batch', 'zero'], { timeoutMs: 60_000 });
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /--max-batch must be an integer/);
  const dir = mkdtempSync(join(tmpdir(), 'lathe-cli-'));
  try {
    const cfg = join(dir, 'serve.yaml');
    writeFileSync(
      cfg,
      'models:\n  cnn:\n    source: test/fixtures/serve/cnn.onnx\n    batching:\n      maxBatchSize: -3\n',
    );
    const bad = runCli(['serve', '--config', cfg], { timeoutMs: 60_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /models\.cnn\.batching\.maxBatchSize/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
