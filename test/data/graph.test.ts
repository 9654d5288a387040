import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphLoader, graphBatch, readGraphCsv, readGraphJson } from '../../src/data/graph.js';
import { toNumbers } from '../../src/graph/ndarray.js';
import { CORA_DIR } from '../../src/train/graph-data.js';

const dir = mkdtempSync(join(tmpdir(), 'lathe-graph-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('readGraphJson: sparse features, symmetrised edges without duplicates or self loops, splits and masks', async () => {
  const p = write(
    'g.json',
    JSON.stringify({
      num_nodes: 4,
      num_features: 3,
      features: [[0], [1, 2], [], [2]],
      labels: [0, 1, 1, 2],
      edges: [
        [0, 1],
        [1, 0],
        [2, 2],
        [1, 3],
      ],
      train: [0, 1],
      val: [2],
      test: [3],
    }),
  );
  const g = readGraphJson(p, { normalizeFeatures: true });
  assert.deepEqual(Array.from(g.x.data), [1, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(toNumbers(g.src), [0, 1, 1, 3]);
  assert.deepEqual(toNumbers(g.dst), [1, 0, 3, 1]);
  assert.equal(g.numClasses, 3);
  const b = graphBatch(g, 'val');
  assert.deepEqual(Array.from(b.mask.data as Float32Array), [0, 0, 1, 0]);
  const l = new GraphLoader(g, 'train');
  assert.equal(l.length, 1);
  assert.equal(l.size, 2);
  const batches = [];
  for await (const x of l.iterate(0)) batches.push(x);
  assert.equal(batches.length, 1);
  const directed = readGraphJson(p, { undirected: false });
  assert.deepEqual(toNumbers(directed.src), [0, 1, 2, 1]);
});

test('readGraphJson: dense features and errors that name the file and field', () => {
  const g = readGraphJson(
    write(
      'd.json',
      JSON.stringify({
        num_nodes: 2,
        num_features: 2,
        feature_format: 'dense',
        features: [
          [0.5, 2],
          [1, 0],
        ],
        labels: [0, 1],
        edges: [[0, 1]],
        train: [0],
        val: [],
        test: [1],
      }),
    ),
  );
  assert.deepEqual(Array.from(g.x.data), [0.5, 2, 1, 0]);
  const bad = (obj: object, re: RegExp) =>
    assert.throws(() => readGraphJson(write('bad.json', JSON.stringify(obj))), re);
  const base = {
    num_nodes: 2,
    num_features: 2,
    features: [[0], [1]],
    labels: [0, 1],
    edges: [[0, 1]],
    train: [0],
    val: [],
    test: [1],
  };
  bad({ ...base, edges: [[0, 5]] }, /bad\.json: edges\[0\]\[1\] must be a node id in \[0, 2\), got 5/);
  bad({ ...base, features: [[0], [3]] }, /features\[1\]\[0\] must be a node id in \[0, 2\)|features\[1\]\[0\]/);
  bad({ ...base, labels: [0] }, /labels must be an array of 2 class ids/);
  bad({ ...base, test: undefined }, /test must be an array of node ids/);
  assert.throws(() => readGraphJson(join(dir, 'missing.json')), /missing\.json: not a readable JSON graph/);
});

test('readGraphCsv: string node ids, splits, features; unknown ids in the edge list are named', () => {
  const nodes = write('nodes.csv', 'id,label,split,f0,f1\npaperA,0,train,1,0\npaperB,1,val,0,1\npaperC,1,test,1,1\n');
  const g = readGraphCsv({ nodes, edges: write('edges.csv', 'source,target\npaperA,paperB\npaperC,paperB\n') });
  assert.deepEqual(Array.from(g.x.data), [1, 0, 0, 1, 1, 1]);
  assert.deepEqual(toNumbers(g.y), [0, 1, 1]);
  assert.deepEqual(g.splits, { train: [0], val: [1], test: [2] });
  assert.deepEqual(toNumbers(g.src), [0, 1, 2, 1]);
  assert.throws(
    () => readGraphCsv({ nodes, edges: write('e2.csv', 'a,b\npaperA,paperZ\n') }),
    /e2\.csv: line 2: unknown node id "paperZ"/,
  );
  assert.throws(
    () =>
      readGraphCsv({ nodes: write('n2.csv', 'id,label,split,f0\nx,0,training,1\n'), edges: write('e3.csv', 'a,b\n') }),
    /n2\.csv: line 2: split must be train, val, test or empty/,
  );
});

test('the shipped Cora: 2,708 nodes, 1,433 features, 10,556 directed edges, the Planetoid split', () => {
  const g = readGraphJson(join(CORA_DIR(), 'cora.json'));
  assert.deepEqual(g.x.shape, [2708, 1433]);
  assert.equal(g.src.shape[0], 10556);
  assert.equal(g.numClasses, 7);
  assert.deepEqual([g.splits.train.length, g.splits.val.length, g.splits.test.length], [140, 500, 1000]);
});
