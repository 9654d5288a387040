// The package's entry points resolve (by package self-reference, as a user's `import ... from 'lathe/tune'` would),
// and every name that a code example in README.md or docs/*.md imports from lathe is really exported there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-root.js';

const root = packageRoot();
const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

/** `import { a, b as c, type T } from 'lathe…'` statements in the fenced code of a Markdown file. */
function docImports(file: string): { specifier: string; names: string[] }[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: { specifier: string; names: string[] }[] = [];
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(lathe(?:\/[a-z]+)?)'/g)) {
    const names = m[1]
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !s.startsWith('type '))
      .map((s) => s.split(/\s+as\s+/)[0]);
    out.push({ specifier: m[2], names });
  }
  return out;
}

test('lathe and its subpaths resolve', async () => {
  for (const sub of [
    '',
    '/nn',
    '/optim',
    '/data',
    '/train',
    '/models',
    '/serve',
    '/track',
    '/tune',
    '/compress',
    '/deploy',
    '/advise',
    '/distributed',
  ]) {
    const mod = (await import(`lathe${sub}`)) as Record<string, unknown>;
    assert.ok(Object.keys(mod).length > 0, `lathe${sub} exports something`);
  }
});

test('every name the docs import from lathe is exported there', async () => {
  let checked = 0;
  for (const file of docs) {
    for (const { specifier, names } of docImports(file)) {
      const mod = (await import(specifier)) as Record<string, unknown>;
      for (const name of names) {
        assert.ok(name in mod, `${file}: '${name}' is not exported by '${specifier}'`);
        checked++;
      }
    }
  }
  assert.ok(checked > 10, `found the docs' imports (${checked})`);
});
