// `npm run quality -- gcn | gat | graphsage [--seeds N] [--from S]` (seeds S .. S+N-1, default 0 .. 9): node classification on Cora (Planetoid split: 140 train /
// 500 val / 1,000 test, features row-normalised), full-batch, test accuracy mean ± std over N seeds (default 10).
// Every model is trained with its paper's hyper-parameters; each epoch scores validation and test in one eval pass,
// and a seed's figure is the test accuracy at the epoch of best validation accuracy (ties: lower validation loss).
// bench/peers/torch_gnn.py trains the same models with the same protocol in PyTorch for the side-by-side table.
//   gcn        Kipf & Welling: 16 hidden, dropout 0.5, Adam lr 0.01, weight decay 5e-4, 200 epochs.
//   gat        Veličković et al.: 8 heads × 8 (ELU), 1 output head, dropout 0.6 on inputs and attention, Adam lr
//              0.005, weight decay 5e-4, up to 1,000 epochs, stopped when neither validation loss nor accuracy has
//              improved for 100 epochs (the paper's patience).
//   graphsage  GraphSAGE-mean with GCN's budget (16 hidden, dropout 0.5, lr 0.01, weight decay 5e-4, 200 epochs).
import { GraphLoader, graphBatch, splitMask, type GraphDataset } from '../src/data/graph.js';
import type { Batch } from '../src/data/tensor.js';
import { getModel } from '../src/models/index.js';
import { graphAccuracy } from '../src/models/gnn.js';
import { manualSeed } from '../src/nn/index.js';
import { adam } from '../src/optim/index.js';
import { graphTrainerConfig, loadGraphData } from '../src/train/graph-data.js';
import { Trainer } from '../src/train/trainer.js';
import type { BatchLoader } from '../src/train/loader.js';

interface Protocol {
  readonly options: Record<string, unknown>;
  readonly lr: number;
  readonly weightDecay: number;
  readonly epochs: number;
  readonly patience?: number;
}
export const GNN_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  gcn: { options: { hidden: 16, dropout: 0.5 }, lr: 0.01, weightDecay: 5e-4, epochs: 200 },
  gat: {
    options: { hidden: 8, heads: 8, outHeads: 1, dropout: 0.6, attnDropout: 0.6 },
    lr: 0.005,
    weightDecay: 5e-4,
    epochs: 1000,
    patience: 100,
  },
  graphsage: { options: { hidden: 16, dropout: 0.5, aggr: 'mean' }, lr: 0.01, weightDecay: 5e-4, epochs: 200 },
};

/** One pass scores validation (loss, accuracy under `mask`) and test (accuracy under `testMask`). */
class ScoreLoader implements BatchLoader {
  readonly length = 1;
  readonly size: number;
  private readonly batch: Batch;
  constructor(g: GraphDataset) {
    this.batch = { ...graphBatch(g, 'val'), testMask: splitMask(g, 'test') };
    this.size = g.splits.val.length;
  }
  async *iterate(_e: number, from = 0): AsyncIterable<Batch> {
    if (from < 1) yield this.batch;
  }
}

/** Trains one seed; returns the test accuracy at the best validation epoch and the mean train-step time. */
export async function trainCoraSeed(
  g: GraphDataset,
  model: string,
  seed: number,
  threads?: number,
): Promise<{ test: number; val: number; epoch: number; epochs: number; stepMs: number }> {
  const p = GNN_PROTOCOLS[model];
  const entry = getModel(model);
  manualSeed(seed);
  const net = entry.create(entry.options.parse({ features: g.x.shape[1], classes: g.numClasses, ...p.options }));
  const base = graphTrainerConfig();
  let best = { val: -1, valLoss: Infinity, test: 0, epoch: 0 };
  let bestLoss = Infinity;
  let bestAcc = -1;
  let since = 0;
  let stepMs = 0;
  let timed = 0;
  let t0 = 0;
  const scores = new ScoreLoader(g);
  const trainer: Trainer = new Trainer({
    model: net,
    optimizer: adam({ weightDecay: p.weightDecay }),
    lr: p.lr,
    epochs: p.epochs,
    seed,
    ...base,
    batchDims: { ...base.batchDims, testMask: 'nodes' },
    metrics: { ...base.metrics, test_accuracy: (o, b) => graphAccuracy(o, b.y, b.testMask ?? b.mask) },
    session: threads ? { threads } : undefined,
    callbacks: [
      {
        name: 'cora-scores',
        onBatchEnd: () => {
          if (timed++ > 0) stepMs += performance.now() - t0; // the first step includes building the session
        },
        onEpochEnd: async (tr, logs) => {
          const r = await tr.evaluate(scores);
          const [val, test, loss] = [r.metrics!.accuracy, r.metrics!.test_accuracy, r.loss];
          if (val > best.val || (val === best.val && loss < best.valLoss))
            best = { val, valLoss: loss, test, epoch: logs.epoch };
          if (loss < bestLoss || val > bestAcc) since = 0;
          else since++;
          bestLoss = Math.min(bestLoss, loss);
          bestAcc = Math.max(bestAcc, val);
          if (p.patience !== undefined && since >= p.patience) tr.shouldStop = true;
          t0 = performance.now();
        },
        onFitStart: () => {
          t0 = performance.now();
        },
      },
    ],
  });
  await trainer.fit(new GraphLoader(g, 'train'));
  const epochs = trainer.currentEpoch;
  await trainer.release();
  return { test: best.test, val: best.val, epoch: best.epoch, epochs, stepMs: stepMs / Math.max(1, timed - 1) };
}

export async function coraQuality(model: string, seeds: number, from = 0): Promise<void> {
  if (!GNN_PROTOCOLS[model]) throw new Error(`quality: no Cora protocol for ${model} (gcn, gat, graphsage)`);
  const g = loadGraphData({ name: 'cora' });
  const threads = process.env.LATHE_THREADS ? Number(process.env.LATHE_THREADS) : undefined;
  const accs: number[] = [];
  const t0 = Date.now();
  for (let s = from; s < from + seeds; s++) {
    const r = await trainCoraSeed(g, model, s, threads);
    accs.push(r.test);
    console.log(
      JSON.stringify({
        quality: `${model}-cora`,
        seed: s,
        test_accuracy: round(r.test),
        val_accuracy: round(r.val),
        best_epoch: r.epoch,
        epochs: r.epochs,
        ms_per_epoch: Math.round(r.stepMs * 10) / 10,
      }),
    );
  }
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length - 1));
  console.log(
    JSON.stringify({
      quality: `${model}-cora`,
      seeds,
      test_accuracy_mean: round(mean),
      test_accuracy_std: round(std),
      seconds: Math.round((Date.now() - t0) / 1000),
      ...GNN_PROTOCOLS[model],
    }),
  );
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;
