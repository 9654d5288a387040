// package.json's `sideEffects` tells bundlers which modules must run even when nothing they export is used (model
// and dataset registrations, Tensor's methods). A module that calls something at its top level and is not listed
// would be dropped by a tree-shaking bundler, and its registrations silently lost: this test finds every such
// module in src/ and fails unless the list covers it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../src/util/package-root.js';

const root = packageRoot();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Top-level statements that do something when the module is imported: calls and assignments at column 0. */
function topLevelEffects(source: string): string[] {
  const keyword =
    /^(import|export|const|let|var|function|async|class|abstract|interface|type|enum|declare|\/\/|\/\*|\*|\}|\)|\]|$)/;
  return source
    .split('\n')
    .filter((line) => /^\S/.test(line) && !keyword.test(line) && /^[\w$.[\]'"]+\s*(\(|=[^=>])|^await\b/.test(line));
}

const globToRegExp = (glob: string): RegExp =>
  new RegExp(
    '^' +
      glob
        .replace(/^\.\//, '')
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*\*/g, '\0')
        .replace(/\*/g, '[^/]*')
        .replace(/\0/g, '.*') +
      '$',
  );

test('the detector sees registrations and prototype patches, and not declarations', () => {
  assert.deepEqual(topLevelEffects("registerModel({\n  name: 'x',\n});\nexport const a = 1;\nfunction f() {}\n"), [
    'registerModel({',
  ]);
  assert.deepEqual(topLevelEffects('Object.assign(Tensor.prototype, methods);\n'), [
    'Object.assign(Tensor.prototype, methods);',
  ]);
  assert.deepEqual(topLevelEffects('const x = f();\n  g();\n// h();\n'), []);
});

test("every module with top-level effects is in package.json's sideEffects", () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { sideEffects: string[] };
  const globs = pkg.sideEffects.map(globToRegExp);
  const missing: string[] = [];
  let found = 0;
  for (const file of sourceFiles(join(root, 'src'))) {
    const effects = topLevelEffects(readFileSync(file, 'utf8'));
    if (effects.length === 0) continue;
    found++;
    const built = 'dist/' + relative(root, file).replace(/\.ts$/, '.js');
    if (!globs.some((g) => g.test(built))) missing.push(`${built}: ${effects[0]}`);
  }
  assert.ok(found >= 5, `expected the known registrations (models, datasets, Tensor methods), found ${found}`);
  assert.deepEqual(missing, [], 'modules with top-level effects missing from package.json sideEffects');
});
