import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { importEdges, layeringViolations, tableCycle, type ImportEdge } from './import-graph.js';
import { LAYERS } from './layers.js';

// compiled to dist/test/architecture/: the sources are three levels up
const SRC = join(import.meta.dirname, '..', '..', '..', 'src');

test('every import in src/ follows the layer table', () => {
  assert.ok(existsSync(SRC), `source tree not found at ${SRC}`);
  const edges = importEdges(SRC);
  assert.ok(edges.length > 50, `only ${edges.length} cross-folder imports found: the scanner is broken`);
  assert.deepEqual(layeringViolations(edges, LAYERS), []);
});

test('the layer table is acyclic: dependencies point down only', () => {
  assert.equal(tableCycle(LAYERS), undefined);
  assert.deepEqual(tableCycle({ a: { b: '' }, b: { c: '' }, c: { a: '' } }), ['a', 'b', 'c', 'a']);
});

test('the check fails on each edge an outside review found (and that were removed)', () => {
  const found: ImportEdge[] = [
    { file: 'graph/ops/norm.ts', from: 'graph', to: 'autodiff' }, // customVjp lived in autodiff/
    { file: 'onnx/export.ts', from: 'onnx', to: 'runtime' }, // tracing lived in runtime/compile.ts
    { file: 'runtime/train-step.ts', from: 'runtime', to: 'autodiff' }, // the step graph was built in runtime/
    { file: 'runtime/train-step.ts', from: 'runtime', to: 'optim' },
    { file: 'track/tune-studies.ts', from: 'track', to: 'tune' }, // tracking read tune's storage
    { file: 'tune/train-objective.ts', from: 'tune', to: 'train' }, // the tuner knew the Trainer
    { file: 'tune/train-objective.ts', from: 'tune', to: 'models' },
  ];
  const v = layeringViolations(found, LAYERS);
  assert.equal(v.length, found.length, v.join('\n'));
  assert.match(v[0], /^graph\/ops\/norm\.ts: graph\/ may not import autodiff\//);
  assert.match(layeringViolations([{ file: 'x/y.ts', from: 'x', to: 'graph' }], LAYERS)[0], /folder "x" has no row/);
});

test('the scanner sees static, re-export, side-effect and dynamic imports', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const root = mkdtempSync(join(tmpdir(), 'lathe-layers-'));
  try {
    mkdirSync(join(root, 'graph'));
    mkdirSync(join(root, 'nn', 'layers'), { recursive: true });
    writeFileSync(
      join(root, 'graph', 'a.ts'),
      "import { b } from '../nn/b.js';\nexport * from '../util/x.js';\nimport '../data/y.js';\nconst z = await import('../train/z.js');\nimport x from 'node:fs';\n",
    );
    writeFileSync(
      join(root, 'nn', 'layers', 'c.ts'),
      "import type { T } from '../../graph/t.js';\nimport { d } from '../d.js';\n",
    );
    const edges = importEdges(root)
      .map((e) => `${e.from}->${e.to}`)
      .sort();
    assert.deepEqual(edges, ['graph->data', 'graph->nn', 'graph->train', 'graph->util', 'nn->graph']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
