import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../util/cli.js';

test('lathe --help lists the program', () => {
  const r = runCli(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: lathe/);
});

test('an unknown command exits non-zero with a message', () => {
  const r = runCli(['no-such-command']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: (unknown command|too many arguments)/);
});
