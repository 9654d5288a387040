// Errors are classified by type at their source, not by their text: a corrupt model is one line whatever its name,
// a taken port is one line naming the address, a missing file names the path; each exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../util/cli.js';
import { systemError } from '../../src/cli/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-cli-errors-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a corrupt ONNX file is one line with exit 2, whatever its name', () => {
  writeFileSync(join(tmp, 'rows.json'), '[[1, 2]]');
  for (const name of ['corrupt.onnx', 'garbage.onnx', 'model.bin']) {
    writeFileSync(join(tmp, name), 'this is not protobuf at all');
    const r = runCli(['predict', join(tmp, name), join(tmp, 'rows.json')]);
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /^lathe: decode [^\n]+ at byte offset \d+\n$/, name);
  }
});

test('a taken port is one line naming the address (lathe ui), exit 2', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = runCli(['ui', '--port', String(port), '--tracking-url', join(tmp, 'store')], { timeoutMs: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^lathe: 127\\.0\\.0\\.1:${port} is already in use`, 'm'));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    blocker.close();
  }
});

test('systemError: the OS errors a user can act on get one line; others are left to the stack trace', () => {
  const err = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('x'), { code, ...extra });
  assert.match(systemError(err('ENOENT', { path: '/a/b' }))!, /^\/a\/b: no such file or directory$/);
  assert.match(
    systemError(err('EADDRINUSE', { address: '127.0.0.1', port: 80 }))!,
    /127\.0\.0\.1:80 is already in use/,
  );
  assert.equal(systemError(err('EPIPE')), undefined);
  assert.equal(systemError(new Error('a bug')), undefined);
});
