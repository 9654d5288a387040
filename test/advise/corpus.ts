// The review corpus: deliberately broken configs, datasets, runs, ONNX models and live models, each with the rule
// that must fire on it, and healthy ones on which no warning or error may fire. Files live in test/advise/corpus/
// (configs, CSV datasets and run directories; regenerate the CSVs and runs with corpus/generate.mjs); ONNX models
// and live models are built here.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32, int64, type NDArray } from '../../src/graph/index.js';
import { log } from '../../src/graph/ops/elementwise.js';
import type { Tensor } from '../../src/graph/tensor.js';
import {
  exportModule,
  Generator,
  GELU,
  Linear,
  manualSeed,
  Module,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
} from '../../src/nn/index.js';
import { inferenceMetadataProps } from '../../src/onnx/inference-metadata.js';
import type { LiveTarget } from '../../src/advise/review.js';

export const CORPUS = 'test/advise/corpus';

export interface Case {
  readonly name: string;
  /** A path for review(), or a live model. */
  readonly target: () => string | LiveTarget;
  /** The rule that must fire; undefined for a healthy case. */
  readonly expect?: string;
}

const cfg = (name: string) => `${CORPUS}/configs/${name}.yaml`;
const csv = (name: string) => `${CORPUS}/datasets/${name}.csv`;
const run = (name: string) => `${CORPUS}/runs/${name}`;

/** 4 well-separated Gaussian blobs in 4-D, n rows. */
export function blobs(n: number, seed = 1): { x: NDArray; y: NDArray } {
  const g = new Generator(seed);
  const x = new Float32Array(n * 4);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = (j === c ? 3 : 0) + 0.5 * g.normal();
    y.push(c);
  }
  return { x: float32([n, 4], x), y: int64([n], y) };
}

const scale = (m: Linear, k: number): Linear => {
  const d = m.weight.data.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] *= k;
  return m;
};
const lin = (i: number, o: number, k = 1): Linear => scale(new Linear(i, o), k);

class LogInput extends Module {
  readonly fc = new Linear(4, 4);
  forward(x: Tensor): Tensor {
    return this.fc.forward(log(x)); // blobs hold negative values: log gives NaN
  }
}

const live =
  (name: string, model: () => Module, extra: Partial<LiveTarget> = {}): (() => LiveTarget) =>
  () => {
    manualSeed(3);
    return { name, model: model(), train: blobs(256), classes: 4, ...extra };
  };

let tmp: string | undefined;
const onnx =
  (
    name: string,
    model: () => Module,
    opts: { batch?: number; metadata?: Record<string, string>; edit?: (m: Module) => void } = {},
  ) =>
  (): string => {
    tmp ??= mkdtempSync(join(tmpdir(), 'lathe-review-'));
    manualSeed(5);
    const m = model();
    opts.edit?.(m);
    const path = join(tmp, `${name}.onnx`);
    exportModule(m, [{ dtype: 'float32', shape: [opts.batch ?? 'batch', 4] as never }], {
      path,
      metadata: opts.metadata,
    });
    return path;
  };
const mlp = () => new Sequential(new Linear(4, 16), ReLU(), new Linear(16, 4));
const firstWeight = (m: Module) => (m as Sequential).layers[0] as Linear;
const logitsMeta = inferenceMetadataProps({ input: { kind: 'array' }, output: 'logits' });

export const HEALTHY: readonly Case[] = [
  { name: 'config: mlp on the Fashion subset', target: () => cfg('healthy-mlp') },
  { name: 'config: cnn, one-cycle AdamW', target: () => cfg('healthy-cnn') },
  { name: 'config: cnn with BatchNorm, SGD momentum, clipping', target: () => cfg('healthy-cnn-bn') },
  { name: 'config: byte-level GPT on text', target: () => cfg('healthy-gpt') },
  { name: 'dataset: blobs with a split', target: () => csv('healthy-blobs') },
  { name: 'dataset: 3-class blobs', target: () => csv('healthy-blobs-3class') },
  { name: 'dataset: blobs without a split', target: () => csv('healthy-no-split') },
  { name: 'run: converging', target: () => run('healthy-run') },
  { name: 'run: two epochs', target: () => run('healthy-short-run') },
  { name: 'run: noisy validation loss', target: () => run('healthy-noisy-run') },
  { name: 'model: mlp export', target: onnx('healthy-mlp', mlp, { metadata: logitsMeta }) },
  {
    name: 'model: deeper GELU export',
    target: onnx(
      'healthy-gelu',
      () => new Sequential(new Linear(4, 32), GELU(), new Linear(32, 32), GELU(), new Linear(32, 4)),
    ),
  },
  { name: 'live: mlp, Adam 1e-2', target: live('healthy-live', mlp, { lr: 1e-2 }) },
  {
    name: 'live: tanh mlp, default init',
    target: live(
      'healthy-tanh',
      () => new Sequential(new Linear(4, 32), Tanh(), new Linear(32, 32), Tanh(), new Linear(32, 4)),
    ),
  },
];

export const BROKEN: readonly Case[] = [
  { name: 'config: adam lr 0.5', target: () => cfg('lr-high'), expect: 'lr-out-of-range' },
  { name: 'config: sgd lr 1e-7', target: () => cfg('lr-low-sgd'), expect: 'lr-out-of-range' },
  { name: 'config: sgd lr 1e-7 cannot overfit', target: () => cfg('lr-low-sgd'), expect: 'cannot-overfit-batch' },
  {
    name: 'config: adam lr 1e-8 (range rule silenced in the config)',
    target: () => cfg('adam-lr-tiny'),
    expect: 'update-ratio',
  },
  { name: 'config: BatchNorm at batch 4', target: () => cfg('bn-tiny-batch'), expect: 'batchnorm-tiny-batch' },
  { name: 'config: AdamW decay 0.3 with BatchNorm', target: () => cfg('wd-norms'), expect: 'weight-decay-on-norms' },
  { name: 'config: augmentation on text', target: () => cfg('augment-text'), expect: 'augment-mismatch' },
  { name: 'config: no seed', target: () => cfg('no-seed'), expect: 'seed-implicit' },
  {
    name: 'config: early stopping on the test split',
    target: () => cfg('test-selection'),
    expect: 'test-split-selection',
  },
  { name: 'config: 5 classes for 10', target: () => cfg('classes-mismatch'), expect: 'shape-mismatch' },
  { name: 'config: 32×32 model for 28×28 data', target: () => cfg('input-mismatch'), expect: 'shape-mismatch' },
  { name: 'config: vocabulary 64 for bytes', target: () => cfg('vocab-mismatch'), expect: 'shape-mismatch' },
  { name: 'config: sgd lr 500 diverges', target: () => cfg('sgd-diverges'), expect: 'nan-origin' },
  { name: 'dataset: test rows copied from train', target: () => csv('leak'), expect: 'train-test-leakage' },
  { name: 'dataset: 17 % duplicates', target: () => csv('duplicates'), expect: 'duplicate-samples' },
  { name: 'dataset: same input, other label', target: () => csv('conflicting'), expect: 'conflicting-labels' },
  { name: 'dataset: 27:1 imbalance', target: () => csv('imbalance'), expect: 'class-imbalance' },
  { name: 'dataset: constant column', target: () => csv('constant'), expect: 'constant-feature' },
  { name: 'dataset: a column in the tens of thousands', target: () => csv('unscaled'), expect: 'unscaled-features' },
  { name: 'dataset: test column shifted ×100', target: () => csv('out-of-range'), expect: 'out-of-range-features' },
  { name: 'dataset: missing values', target: () => csv('nan'), expect: 'nonfinite-features' },
  { name: 'dataset: 20 % labels flipped', target: () => csv('label-noise'), expect: 'label-noise' },
  { name: 'run: NaN from epoch 3', target: () => run('diverged-run'), expect: 'diverged' },
  { name: 'run: flat loss', target: () => run('flat-run'), expect: 'loss-not-decreasing' },
  { name: 'run: validation loss rising', target: () => run('overfit-run'), expect: 'overfitting' },
  { name: 'run: chance accuracy', target: () => run('chance-run'), expect: 'chance-accuracy' },
  {
    name: 'model: NaN weight',
    target: onnx('nan', mlp, { edit: (m) => void ((firstWeight(m).weight.data.data as Float32Array)[3] = NaN) }),
    expect: 'nonfinite-weights',
  },
  {
    name: 'model: weights ×1e5',
    target: onnx('huge', mlp, { edit: (m) => void scale(firstWeight(m), 1e5) }),
    expect: 'huge-weights',
  },
  {
    name: 'model: half the hidden units zeroed',
    target: onnx('dead', mlp, {
      edit: (m) => void (firstWeight(m).weight.data.data as Float32Array).fill(0, 0, 8 * 4),
    }),
    expect: 'dead-units',
  },
  {
    name: 'model: softmax output declared as logits',
    target: onnx('softmax', () => new Sequential(new Linear(4, 16), ReLU(), new Linear(16, 4), Softmax()), {
      metadata: logitsMeta,
    }),
    expect: 'softmax-output-as-logits',
  },
  { name: 'model: batch fixed at 1', target: onnx('fixed', mlp, { batch: 1 }), expect: 'fixed-batch-dim' },
  {
    name: 'live: softmax before cross-entropy',
    target: live('softmax', () => new Sequential(new Linear(4, 16), ReLU(), new Linear(16, 4), Softmax())),
    expect: 'softmax-before-loss',
  },
  {
    name: 'live: last layer ×40',
    target: live('init', () => new Sequential(new Linear(4, 16), ReLU(), lin(16, 4, 40))),
    expect: 'init-loss',
  },
  {
    name: 'live: 8 sigmoid layers',
    target: live(
      'vanish',
      () =>
        new Sequential(
          lin(4, 32, 0.5),
          ...Array.from({ length: 7 }, () => [Sigmoid(), lin(32, 32, 0.5)]).flat(),
          Sigmoid(),
          new Linear(32, 4),
        ),
    ),
    expect: 'vanishing-gradients',
  },
  {
    name: 'live: 6 layers ×6',
    target: live(
      'explode',
      () =>
        new Sequential(
          lin(4, 32, 6),
          ...Array.from({ length: 5 }, () => [ReLU(), lin(32, 32, 6)]).flat(),
          ReLU(),
          lin(32, 4, 6),
        ),
    ),
    expect: 'exploding-gradients',
  },
  {
    name: 'live: bias −20 kills the first layer',
    target: live('dead', () => {
      const m = mlp();
      (firstWeight(m).bias!.data.data as Float32Array).fill(-20);
      return m;
    }),
    expect: 'dead-relu',
  },
  {
    name: 'live: tanh after weights ×20',
    target: live('saturated', () => new Sequential(lin(4, 32, 20), Tanh(), new Linear(32, 4))),
    expect: 'saturated-activations',
  },
  { name: 'live: log of negative inputs', target: live('nan', () => new LogInput()), expect: 'nan-origin' },
  { name: 'live: lr 1e-7 cannot overfit', target: live('noverfit', mlp, { lr: 1e-7 }), expect: 'cannot-overfit-batch' },
];
