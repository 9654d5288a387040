// Every graph model trains a tiny version from a config (a planted-partition graph, seconds): test accuracy well
// above chance (1/3), the ONNX export written, and the checkpoint scores the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelNames } from '../../src/models/index.js';
import { evaluateCheckpoint, runTraining } from '../../src/train/run.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { toyGraph } from './_graph.js';

const dir = mkdtempSync(join(tmpdir(), 'lathe-gnn-'));
const graphPath = join(dir, 'toy.json');
writeFileSync(graphPath, JSON.stringify(toyGraph(3)));

test('gcn, gat and graphsage are registered', () => {
  for (const m of ['gcn', 'gat', 'graphsage']) assert.ok(modelNames().includes(m), m);
});

const cases: [string, Record<string, unknown>][] = [
  ['gcn', { hidden: 8 }],
  ['gat', { hidden: 4, heads: 2, dropout: 0.2, attnDropout: 0.2 }],
  ['graphsage', { hidden: 8 }],
  ['graphsage', { hidden: 8, aggr: 'max' }],
];
for (const [name, options] of cases) {
  test(`${name} ${JSON.stringify(options)} trains on a small graph from a config`, async () => {
    const cfg = parseTrainConfig({
      name: `${name}-toy`,
      seed: 1,
      model: { name, options },
      data: { name: 'graph', graph: { path: graphPath } },
      optimizer: { name: 'adam', lr: 0.02, weightDecay: 5e-4 },
      trainer: { epochs: 40 },
      output: join(dir, `${name}-${String(options.aggr ?? '')}`),
    });
    const r = await runTraining(cfg, { quiet: true });
    assert.ok(r.testAccuracy! > 0.6, `test accuracy ${r.testAccuracy} (chance 0.33)`);
    assert.ok(existsSync(r.onnxPath));
    const again = await evaluateCheckpoint(join(r.runDir, 'last.json'));
    assert.ok(
      Math.abs(again.accuracy! - r.testAccuracy!) < 1e-6,
      `checkpoint scores ${again.accuracy} vs ${r.testAccuracy}`,
    );
  });
}

test('graph configs name what is wrong', async () => {
  const base = {
    name: 'bad',
    model: { name: 'gcn', options: {} },
    optimizer: { name: 'adam', lr: 0.01 },
    trainer: { epochs: 1 },
    output: join(dir, 'bad'),
  };
  await assert.rejects(
    runTraining(parseTrainConfig({ ...base, data: { name: 'graph' } }), { quiet: true }),
    /data\.graph: give path/,
  );
  await assert.rejects(
    runTraining(
      parseTrainConfig({
        ...base,
        model: { name: 'gcn', options: { features: 99 } },
        data: { name: 'graph', graph: { path: graphPath } },
      }),
      { quiet: true },
    ),
    /model\.options\.features: the graph's nodes have 12 features, got 99/,
  );
  await assert.rejects(
    runTraining(
      parseTrainConfig({
        ...base,
        model: { name: 'mlp', options: {} },
        data: { name: 'graph', graph: { path: graphPath } },
      }),
      { quiet: true },
    ),
    /not a graph model/,
  );
});
