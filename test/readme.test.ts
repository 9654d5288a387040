// The README's engine example compiles under `strict` and prints what it says it prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-root.js';

test('README: the engine example type-checks under strict and prints its gradient', () => {
  const root = packageRoot();
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /## How the engine works\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'the engine example is missing from README.md');
  const dir = mkdtempSync(join(tmpdir(), 'lathe-readme-'));
  try {
    const entry = join(root, 'dist', 'src', 'index.js');
    writeFileSync(join(dir, 'example.mts'), block.replace("from 'lathe'", `from ${JSON.stringify(entry)}`));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const c = spawnSync(
      process.execPath,
      [
        tsc,
        '--strict',
        '--target',
        'ES2022',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--skipLibCheck',
        '--outDir',
        dir,
        join(dir, 'example.mts'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(c.status, 0, `tsc --strict: ${c.stdout}${c.stderr}`);
    const r = spawnSync(process.execPath, [join(dir, 'example.mjs')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const printed = /\/\/ (\[.*\])\s*$/m.exec(block)?.[1];
    assert.equal(r.stdout.trim().replace(/\s+/g, ' '), printed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
