// `npm run quality -- <name> [options]`: full-quality runs of the model zoo on real data, printing one JSON line
// per result (docs/models.md records them).
//   gpt | lstm | gru   char-level LM on the KJV Bible (--corpus kjv, default) or the Debian licence texts (--corpus
//                      licenses, the small CI case) for a step budget (--steps, default 2000), validated every
//                      --eval-every steps, test bits/char of the best-validation weights, beside a PyTorch peer
//                      trained on the same batches from the same initial weights (scripts/quality-lm.ts).
//   mamba              the same char-LM with the Mamba model at about the GPT's parameter count (no PyTorch peer:
//                      compare with `gpt` at equal wall time through --steps; quality-lm.ts).
//   selective-copy | induction  the Mamba paper's synthetic tasks (quality-ssm.ts): --steps N, --minutes M (default
//                      20), --batch B (16), --eval-every N (200).
//   moe-gpt            the same method for the GPT with nn.MoE in every block (8 experts, top-2, half-width experts:
//                      the dense GPT's active parameters per token), no peer; --moe JSON overrides MoE options
//                      (e.g. '{"balanceWeight":0}', '{"capacityFactor":1}'), --mlp-ratio R the experts' width.
//   generation         tokens/s of GPT generation with and without the KV cache at growing lengths.
//   resnet | mobilenet full Fashion-MNIST (60,000 train / 10,000 test): random crop (padding 2) + horizontal flip
//                      from src/data transforms, SGD (Nesterov, weight decay) with a one-cycle schedule; test
//                      accuracy after --epochs N (default 8), parameter count, wall time. ResNet: 3×3 stem, stages
//                      of basic blocks (--layers, default 1,1,1), widths 32/64/128, stride 2 each. `--probe B`
//                      times B batches and stops (to size the run). LATHE_THREADS=n caps ORT's threads.
//   seq2seq            date-format conversion with the encoder-decoder; held-out exact match (quality-tasks.ts).
//   gcn | gat | graphsage  Cora node classification, test accuracy mean ± std over --seeds N (default 10) with the
//                      papers' hyper-parameters (quality-gnn.ts).
//   classifier         Debian fortunes categories (5 classes, 600 each; 2,400 train / 600 test): EncoderClassifier
//                      over byte-level BPE tokens (2,048-token vocabulary learned from the training texts only, first
//                      64 tokens, '<pad>' masked; d 64, 1 layer, 4 heads, dropout 0.1, AdamW wd 0.01, label smoothing
//                      0.1, cosine 1e-3, batch 32, --epochs N default 20) against a bag-of-words logistic regression
//                      trained in the same run. `--validate` holds out every 5th training fortune per class and
//                      scores that instead (the test split is not read): every setup choice was made there.
//                      `--setup '{"dim":128,...}'` overrides fields of CLASSIFIER_SETUP (quality-tasks.ts), e.g.
//                      `{"mlmEpochs":2}`: masked-LM pre-training first, on every other fortune on the machine (all
//                      files, minus the scored texts and the test split).
import { manualSeed, type Module } from '../src/nn/index.js';
import { Trainer } from '../src/train/trainer.js';
import { ArrayLoader } from '../src/train/loader.js';
import { GPT } from '../src/models/transformer.js';
import { TextGenerator } from '../src/models/generate.js';
import { ResNet } from '../src/models/resnet.js';
import { MobileNetV2 } from '../src/models/mobilenet.js';
import { sgd, oneCycle } from '../src/optim/index.js';
import { DataLoader } from '../src/data/loader.js';
import { fashionMnist, FASHION_MEAN, FASHION_STD } from '../src/data/fashion.js';
import { mapDataset, onKey } from '../src/data/transforms/transform.js';
import { randomCrop, randomHorizontalFlip } from '../src/data/transforms/image.js';
import { accuracy } from '../src/nn/losses.js';
import { fortuneClassifier, seq2seqDates } from './quality-tasks.js';
import { charLm, type LmMoeOptions } from './quality-lm.js';
import { encode as encodeChars, type CorpusName } from './lm-corpus.js';
import { coraQuality } from './quality-gnn.js';
import { ssmTask } from './quality-ssm.js';

/** Printable ASCII 32..126 and newline (the generation benchmark's vocabulary, as the char-LM corpora's). */
const encode = (s: string): number[] => Array.from(encodeChars(s));

async function generationSpeed(): Promise<void> {
  manualSeed(0);
  const model = new GPT({ vocab: 96, context: 512, dim: 128, layers: 2, heads: 4 });
  const gen = new TextGenerator(model);
  const prompt = encode('The ');
  await gen.generate(prompt, { maxNewTokens: 8 });
  await gen.generate(prompt, { maxNewTokens: 8, cache: false });
  for (const n of [32, 128, 384]) {
    const r: Record<string, number> = {};
    for (const cache of [true, false]) {
      const t0 = performance.now();
      await gen.generate(prompt, { maxNewTokens: n, cache, seed: 1 });
      r[cache ? 'cached_tokens_per_s' : 'uncached_tokens_per_s'] =
        Math.round((n / ((performance.now() - t0) / 1000)) * 10) / 10;
    }
    console.log(
      JSON.stringify({
        quality: 'gpt-generation',
        new_tokens: n,
        ...r,
        speedup: Math.round((r.cached_tokens_per_s / r.uncached_tokens_per_s) * 100) / 100,
      }),
    );
  }
}

/** The two vision models of the comparison (docs/models.md). */
function visionModel(name: 'resnet' | 'mobilenet', layers: readonly number[] = [1, 1, 1]): Module {
  manualSeed(0);
  // ResNet: 3×3 stem, then 3 stages of basic blocks, widths 32/64/128 at 14/7/4 px (every stage halves the size).
  if (name === 'resnet') return new ResNet({ layers: [...layers], widths: [32, 64, 128], strides: [2, 2, 2] });
  return new MobileNetV2({});
}

async function fashionVision(
  name: 'resnet' | 'mobilenet',
  epochs: number,
  probe?: number,
  layers?: readonly number[],
): Promise<void> {
  const train = await fashionMnist({ split: 'train', download: false });
  const test = await fashionMnist({ split: 'test', download: false });
  const bg = (0 - FASHION_MEAN) / FASHION_STD; // a black pixel after normalisation
  const augmented = mapDataset(
    train,
    onKey('x', randomCrop({ size: 28, padding: 2, fill: bg }), randomHorizontalFlip()),
  );
  const batch = 128;
  const loader = new DataLoader(augmented, { batchSize: batch, shuffle: true, seed: 1, dropLast: true });
  const model = visionModel(name, layers);
  const total = epochs * loader.length;
  const t0 = Date.now();
  let tLast = t0;
  const every = probe ? 10 : 50;
  const trainer = new Trainer({
    model,
    optimizer: sgd({ momentum: 0.9, nesterov: true, weightDecay: 5e-4 }),
    lr: oneCycle(0.1, total, { pctStart: 0.25 }),
    epochs,
    seed: 1,
    session: process.env.LATHE_THREADS ? { threads: Number(process.env.LATHE_THREADS) } : undefined,
    metrics: { acc: (o, b) => accuracy(o, b.y) },
    callbacks: [
      {
        name: 'progress',
        onBatchEnd: (t, l) => {
          if ((l.batch + 1) % every === 0) {
            const now = Date.now();
            console.log(
              JSON.stringify({
                epoch: l.epoch + 1,
                batch: l.batch + 1,
                of: l.batches,
                loss: Math.round(l.loss * 1e4) / 1e4,
                acc: l.metrics?.acc,
                lr: Math.round(l.lr * 1e5) / 1e5,
                ms_per_batch: Math.round((now - tLast) / every),
                elapsed_s: Math.round((now - t0) / 1000),
              }),
            );
            tLast = now;
          }
          if (probe && l.batch + 1 >= probe) t.shouldStop = true;
        },
        onEpochEnd: (_t, l) =>
          console.log(
            JSON.stringify({
              epoch: l.epoch + 1,
              ...l.metrics,
              epoch_seconds: Math.round(l.seconds),
              elapsed_s: Math.round((Date.now() - t0) / 1000),
            }),
          ),
      },
    ],
  });
  const testLoader = new ArrayLoader(test.toArrays(), { batchSize: 500 });
  await trainer.fit(loader, testLoader);
  const r = await trainer.evaluate(testLoader);
  await trainer.release();
  console.log(
    JSON.stringify({
      quality: `${name}-fashion-mnist`,
      ...(name === 'resnet' ? { layers: layers ?? [1, 1, 1] } : {}),
      params: model.parameterCount(),
      epochs,
      batch,
      train_seconds: Math.round((Date.now() - t0) / 1000),
      test_accuracy: Math.round((r.accuracy ?? NaN) * 1e4) / 1e4,
      test_loss: Math.round(r.loss * 1e4) / 1e4,
      train: train.length,
      test: test.length,
    }),
  );
}

const [name, ...rest] = process.argv.slice(2);
const arg = (k: string): string | undefined => (rest.indexOf(k) >= 0 ? rest[rest.indexOf(k) + 1] : undefined);
if (name === 'gpt' || name === 'lstm' || name === 'gru' || name === 'mamba' || name === 'moe-gpt') {
  const steps = Number(arg('--steps') ?? 2000);
  const moe = arg('--moe');
  const line = await charLm(name, {
    corpus: (arg('--corpus') ?? 'kjv') as CorpusName,
    steps,
    evalEvery: Number(arg('--eval-every') ?? Math.max(1, Math.floor(steps / 10))),
    patience: arg('--patience') ? Number(arg('--patience')) : undefined,
    warmup: arg('--warmup') ? Number(arg('--warmup')) : undefined,
    threads: Number(arg('--threads') ?? 2),
    peer: !rest.includes('--no-peer'),
    moe: moe === undefined ? undefined : (JSON.parse(moe) as LmMoeOptions),
    mlpRatio: arg('--mlp-ratio') === undefined ? undefined : Number(arg('--mlp-ratio')),
  });
  console.log(JSON.stringify(line));
} else if (name === 'generation') await generationSpeed();
else if (name === 'resnet' || name === 'mobilenet')
  await fashionVision(
    name,
    Number(arg('--epochs') ?? 8),
    arg('--probe') ? Number(arg('--probe')) : undefined,
    arg('--layers')?.split(',').map(Number),
  );
else if (name === 'seq2seq') await seq2seqDates(Number(arg('--epochs') ?? 3));
else if (name === 'gcn' || name === 'gat' || name === 'graphsage')
  await coraQuality(name, Number(arg('--seeds') ?? 10), Number(arg('--from') ?? 0));
else if (name === 'selective-copy' || name === 'induction') {
  const steps = Number(arg('--steps') ?? 20000);
  const line = await ssmTask(name, {
    steps,
    minutes: Number(arg('--minutes') ?? 20),
    batch: Number(arg('--batch') ?? 16),
    evalEvery: Number(arg('--eval-every') ?? 200),
    length: arg('--length') ? Number(arg('--length')) : undefined,
  });
  console.log(JSON.stringify(line));
} else if (name === 'classifier')
  await fortuneClassifier(Number(arg('--epochs') ?? 20), {
    validate: rest.includes('--validate'),
    setup: arg('--setup') ? JSON.parse(arg('--setup')!) : undefined,
  });
else {
  console.error(
    'usage: npm run quality -- <gpt|lstm|gru|mamba|moe-gpt|generation|resnet|mobilenet|seq2seq|classifier|gcn|gat|graphsage|selective-copy|induction> [--corpus kjv|licenses] [--steps N] [--eval-every N] [--patience K] [--warmup N] [--threads N] [--no-peer] [--moe JSON] [--mlp-ratio R] [--epochs N] [--probe B] [--validate] [--setup JSON] [--length L]',
  );
  process.exit(2);
}
