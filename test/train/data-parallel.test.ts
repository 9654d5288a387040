// Data-parallel training in one process (ranks are async tasks on 127.0.0.1): the split step at world size 1 gives
// the one-graph step's numbers; 2 ranks × batch b match one process × batch 2b within float32 reduction tolerance and
// are bit-identical across reruns; different models across ranks are refused at start; the sampler's shards are
// disjoint and equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as L from '../../src/graph/index.js';
import { Linear, ReLU, Sequential, manualSeed } from '../../src/nn/index.js';
import { crossEntropy } from '../../src/nn/losses.js';
import { adam, sgd } from '../../src/optim/index.js';
import { TcpCollective } from '../../src/distributed/tcp-collective.js';
import { TrainStep } from '../../src/train/train-step.js';
import { DataParallelStep } from '../../src/train/data-parallel-step.js';
import type { TrainStepConfig } from '../../src/train/step-graph.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { ShardedLoader } from '../../src/train/sharded-loader.js';
import { randn } from '../util/gradcheck.js';
import { freePort } from '../../src/util/free-port.js';

async function group(W: number) {
  const port = await freePort();
  return Promise.all(
    [...Array(W).keys()].map((rank) =>
      TcpCollective.connect({ rank, worldSize: W, masterAddr: '127.0.0.1', masterPort: port }, { timeoutSeconds: 60 }),
    ),
  );
}

function blobs(n: number, seed: number): { x: L.NDArray; y: L.NDArray } {
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const x = new Float32Array(n * 4);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    y.push(i % 3);
    for (let j = 0; j < 4; j++) x[i * 4 + j] = r() * 0.6 + (j === i % 3 ? 1.5 : 0);
  }
  return { x: L.float32([n, 4], x), y: L.int64([n], y) };
}

test('split step (gradient graph → all-reduce → update graph) at world size 1 equals the one-graph step bit for bit', async () => {
  const params = { w: randn([3, 4], 1, 'float32', 0.5), b: randn([3], 2, 'float32', 0.1), v: randn([3], 4, 'float32') };
  const x = randn([8, 4], 3, 'float32');
  const y = L.int64([8], [0, 1, 2, 0, 1, 2, 0, 1]);
  for (const over of [
    { optimizer: adam(), clipGradNorm: 0.05, ema: { decay: 0.9 } },
    { optimizer: sgd({ momentum: 0.9 }), frozen: ['v'], fuseOptimizer: false },
  ] as Partial<TrainStepConfig>[]) {
    const cfg: TrainStepConfig = {
      params,
      optimizer: sgd(),
      batch: { x: { dtype: 'float32', shape: ['batch', 4] }, y: { dtype: 'int64', shape: ['batch'] } },
      forward: ({ params: p, batch: bt }) => ({
        loss: crossEntropy(L.add(L.linear(bt.x, p.w, p.b), p.v), bt.y),
        metrics: {
          two: L.mul(L.linear(bt.x, p.w, p.b), 0)
            .sum()
            .add(2),
        },
      }),
      ...over,
    };
    const [c] = await group(1);
    const fused = await TrainStep.create(cfg);
    const split = await DataParallelStep.create(cfg, c);
    for (let s = 0; s < 4; s++) {
      const a = await fused.run({ x, y }, 0.1);
      const b = await split.run({ x, y }, 0.1);
      assert.equal(b.loss, a.loss);
      assert.equal(b.metrics.two, 2);
    }
    for (const [k, v] of Object.entries(fused.state()))
      assert.deepEqual(split.state()[k].data, v.data, `state ${k} differs`);
  }
});

const mlp = (seed: number) => {
  manualSeed(seed);
  return new Sequential(new Linear(4, 32), ReLU(), new Linear(32, 3));
};
const data = blobs(256, 1);
const trainer = (seed: number, collective?: TcpCollective) =>
  new Trainer({ model: mlp(seed), optimizer: adam(), lr: 0.01, epochs: 2, seed: 7, clipGradNorm: 1, collective });

/** Two ranks with batch 8 each, in one process; rank 1's model starts from other weights (the broadcast fixes it). */
async function twoRanks(): Promise<Float32Array[]> {
  const cs = await group(2);
  const ts = cs.map((c) => trainer(c.rank === 0 ? 3 : 99, c));
  const logs = await Promise.all(
    ts.map((t, r) => t.fit(new ShardedLoader(data, { batchSize: 8, rank: r, worldSize: 2, seed: 5 }))),
  );
  await Promise.all(cs.map((c) => c.close()));
  // every rank's system metrics reach every rank's epoch logs (rank 0's are the ones tracked)
  for (const l of logs)
    for (const r of [0, 1]) {
      assert.ok(l!.metrics[`sys/rank${r}/rss_mb`] > 1, `sys/rank${r}/rss_mb in ${Object.keys(l!.metrics)}`);
      assert.ok(l!.metrics[`sys/rank${r}/cpu_percent`] > 0, `sys/rank${r}/cpu_percent`);
    }
  return ts.map((t) =>
    Float32Array.from(t.cfg.model.namedParameters().flatMap(([, p]) => [...(p.data.data as Float32Array)])),
  );
}

test('2 ranks × batch 8 = 1 process × batch 16 after 32 steps (MLP, Adam, clipping): max |Δw| ≤ 1e-5; reruns bit-identical', async (t) => {
  const one = trainer(3);
  await one.fit(new ArrayLoader(data, { batchSize: 16, shuffle: true, seed: 5, dropLast: true }));
  const ref = Float32Array.from(one.cfg.model.namedParameters().flatMap(([, p]) => [...(p.data.data as Float32Array)]));
  const a = await twoRanks();
  assert.deepEqual(a[1], a[0], 'ranks hold different weights');
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(a[0][i] - ref[i]));
  assert.ok(worst <= 1e-5, `max |Δw| = ${worst}`);
  t.diagnostic(`max |Δw| over ${ref.length} weights: ${worst}`);
  const b = await twoRanks();
  assert.deepEqual(b[0], a[0], 'a rerun with 2 ranks is not bit-identical');
});

test('ranks with different models are refused at start, naming the rank', async () => {
  const cs = await group(2);
  manualSeed(1);
  const other = new Trainer({
    model: new Sequential(new Linear(4, 16), ReLU(), new Linear(16, 3)),
    optimizer: adam(),
    lr: 0.01,
    epochs: 1,
    collective: cs[1],
  });
  const r = await Promise.allSettled([
    trainer(3, cs[0]).fit(new ShardedLoader(data, { batchSize: 8, rank: 0, worldSize: 2 })),
    other.fit(new ShardedLoader(data, { batchSize: 8, rank: 1, worldSize: 2 })),
  ]);
  for (const x of r) {
    assert.equal(x.status, 'rejected');
    assert.match(String((x as PromiseRejectedResult).reason), /rank 1 has a different model than rank 0/);
  }
  await Promise.all(cs.map((c) => c.close()));
});

test('sharded loader: disjoint shards, equal batch counts and sizes whatever the row count, resumable', async () => {
  for (const n of [64, 67, 100]) {
    const arr = {
      i: L.float32(
        [n],
        Float32Array.from({ length: n }, (_, i) => i),
      ),
    };
    const seen = new Set<number>();
    const loaders = [0, 1, 2].map((rank) => new ShardedLoader(arr, { batchSize: 5, rank, worldSize: 3, seed: 2 }));
    for (const l of loaders) {
      assert.equal(l.length, Math.floor(n / 15));
      let k = 0;
      for await (const b of l.iterate(1)) {
        assert.equal(b.i.shape[0], 5);
        for (const v of b.i.data as Float32Array) {
          assert.ok(!seen.has(v), `row ${v} in two shards`);
          seen.add(v);
        }
        k++;
      }
      assert.equal(k, l.length);
      const tail: number[] = [];
      for await (const b of l.iterate(1, 2)) tail.push(...(b.i.data as Float32Array));
      const all: number[] = [];
      for await (const b of l.iterate(1)) all.push(...(b.i.data as Float32Array));
      assert.deepEqual(tail, all.slice(10));
    }
  }
});

test('trainer.syncBatchNorm is refused with more than one rank, naming the field, before any training', async () => {
  const { parseTrainConfig } = await import('../../src/train/config.js');
  const { runTraining } = await import('../../src/train/run.js');
  const cfg = parseTrainConfig({
    model: { name: 'mlp', options: { hidden: [8] } },
    data: { name: 'fashion-mnist-subset', limit: 64 },
    optimizer: { name: 'sgd', lr: 0.1 },
    trainer: { epochs: 1, syncBatchNorm: true },
    output: '/nonexistent/never-written',
  });
  // a two-rank group that is never reached: the refusal comes first
  const idle = async () => {
    throw new Error('the collective must not be used');
  };
  const collective = {
    rank: 0,
    worldSize: 2,
    allReduce: idle,
    broadcast: idle,
    allGather: idle,
    barrier: idle,
    close: idle,
  };
  await assert.rejects(runTraining(cfg, { quiet: true, collective }), /trainer\.syncBatchNorm: not implemented yet/);
  assert.throws(() => parseTrainConfig({ ...cfg, trainer: { epochs: 1, syncBatchNorm: 'yes' } }), /syncBatchNorm/);
});
