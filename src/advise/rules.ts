// The table of review rules: what each checks, on which targets, and the guard that keeps it from firing on
// healthy setups. docs/expert.md prints this table; the corpus test (test/advise/corpus.test.ts) holds one broken
// case or more per rule and healthy cases on which none fires.
import type { Severity, TargetKind } from './finding.js';

/**
 * Description of one review rule: id, severity, the kinds of target it applies to, what it checks and the guard
 * that keeps it from firing falsely.
 */
export interface RuleInfo {
  readonly id: string;
  readonly severity: Severity;
  readonly targets: readonly TargetKind[];
  readonly checks: string;
  readonly guard: string;
}

/**
 * Every review rule with what it checks and its guard: the catalogue of the ids that findings carry and that
 * `ignore` (or a config's `review.ignore`) accepts.
 */
export const RULES: readonly RuleInfo[] = [
  {
    id: 'lr-out-of-range',
    severity: 'warning',
    targets: ['config', 'run'],
    checks:
      'optimizer.lr against the usual range of its optimizer (sgd 1e-4–0.5, adam/adamw/rmsprop 1e-5–1e-2, lion 1e-6–1e-3)',
    guard: 'fires only 3× beyond the range on either side',
  },
  {
    id: 'batchnorm-tiny-batch',
    severity: 'warning',
    targets: ['config', 'run'],
    checks: 'BatchNorm layers in the built model with data.batchSize < 8',
    guard: 'only when the model really has BatchNorm (modules are inspected, not names)',
  },
  {
    id: 'weight-decay-on-norms',
    severity: 'warning',
    targets: ['config', 'run'],
    checks: 'weight decay that also decays normalisation gains and biases (lathe decays every parameter)',
    guard: 'only with norm layers and decay above 0.05 (AdamW/Lion, decoupled) or 1e-3 (L2 in the gradient)',
  },
  {
    id: 'augment-mismatch',
    severity: 'warning',
    targets: ['config', 'run'],
    checks: 'data.augment (crop + flip) on data that is not images with a worker source (text, tables, graphs)',
    guard: 'datasets that declare an augmentable image source never fire',
  },
  {
    id: 'seed-implicit',
    severity: 'info',
    targets: ['config'],
    checks: 'a config without `seed`',
    guard: 'info only: lathe defaults the seed to 0, so the run is still reproducible',
  },
  {
    id: 'test-split-selection',
    severity: 'warning',
    targets: ['config', 'run'],
    checks: 'valFraction 0 (validation = test split) while early stopping or the best-of-N checkpoint selects on it',
    guard:
      'only with more than one epoch and a selecting callback; text and graph data (whose splits are fixed) are exempt',
  },
  {
    id: 'shape-mismatch',
    severity: 'error',
    targets: ['config'],
    checks:
      'model input shape vs data sample shape, output classes vs dataset classes, model vocabulary vs token vocabulary',
    guard: 'compares the shapes traced from the built model with the loaded arrays, not option names',
  },
  {
    id: 'softmax-before-loss',
    severity: 'error',
    targets: ['config', 'dynamic'],
    checks:
      'the traced model output is produced by a softmax/sigmoid, then fed to cross-entropy (which applies log-softmax)',
    guard:
      'reads the op that produced the output in the traced graph; a softmax inside the model (attention) does not count',
  },
  {
    id: 'init-loss',
    severity: 'warning',
    targets: ['config', 'dynamic'],
    checks: 'loss at initialisation vs ln(classes)',
    guard: 'only with known classes; a band of ±max(0.5·ln C, 1) nats',
  },
  {
    id: 'cannot-overfit-batch',
    severity: 'error',
    targets: ['config', 'dynamic'],
    checks: 'the loss on one batch of ≤ 32 rows after 60 steps of the configured optimizer and lr',
    guard:
      'fires only when the loss fell by less than 30 %, started above 0.05 and stayed finite (divergence is nan-origin)',
  },
  {
    id: 'vanishing-gradients',
    severity: 'warning',
    targets: ['config', 'dynamic'],
    checks: 'gradient RMS relative to weight RMS, first weight layer vs last',
    guard: '3+ weight layers and a ratio below 1e-4 (healthy networks stay within ~100×)',
  },
  {
    id: 'exploding-gradients',
    severity: 'warning',
    targets: ['config', 'dynamic'],
    checks: 'global gradient norm and the largest gradient-to-weight RMS ratio at initialisation',
    guard: 'fires above a global norm of 1,000 or a ratio of 100; info only when gradient clipping is configured',
  },
  {
    id: 'dead-relu',
    severity: 'warning',
    targets: ['config', 'dynamic'],
    checks: 'ReLU units (channels of conv maps, features of dense layers) that output 0 for every sample of a batch',
    guard:
      '16+ samples, 4+ units and at least half of the layer dead; ReLUs inside softplus/SiLU composites are skipped',
  },
  {
    id: 'saturated-activations',
    severity: 'warning',
    targets: ['config', 'dynamic'],
    checks: 'sigmoid/tanh outputs in the flat tails (|tanh| > 0.99, sigmoid < 0.01 or > 0.99)',
    guard: 'at least half of 64+ values saturated',
  },
  {
    id: 'update-ratio',
    severity: 'warning',
    targets: ['config', 'dynamic'],
    checks: '‖Δw‖/‖w‖ per weight layer over steps 2–6 of the configured optimizer',
    guard: "median over layers beyond 0.5 or below 1e-5 (step 1 skipped: Adam's first step is ±lr)",
  },
  {
    id: 'nan-origin',
    severity: 'error',
    targets: ['config', 'dynamic'],
    checks:
      'non-finite loss/gradients at initialisation or during the overfit steps, traced to the first op whose output is non-finite from finite inputs',
    guard: 'fires only on an actual non-finite value',
  },
  {
    id: 'nonfinite-features',
    severity: 'error',
    targets: ['dataset', 'config'],
    checks: 'NaN/Inf among the training inputs',
    guard: 'any non-finite value is a real defect',
  },
  {
    id: 'train-test-leakage',
    severity: 'error',
    targets: ['dataset', 'config'],
    checks: 'test samples whose exact bytes also occur in train (content hash)',
    guard: '≥ 3 samples and ≥ 1 % of the test split',
  },
  {
    id: 'duplicate-samples',
    severity: 'warning',
    targets: ['dataset', 'config'],
    checks: 'exact copies inside the training split',
    guard: 'more than 5 % of training rows',
  },
  {
    id: 'conflicting-labels',
    severity: 'warning',
    targets: ['dataset', 'config'],
    checks: 'identical inputs with different labels',
    guard: '≥ 3 rows and ≥ 0.1 % of the split',
  },
  {
    id: 'class-imbalance',
    severity: 'warning',
    targets: ['dataset', 'config'],
    checks: 'largest to smallest class ratio, and declared classes without samples',
    guard: 'ratio ≥ 10:1',
  },
  {
    id: 'constant-feature',
    severity: 'warning',
    targets: ['dataset'],
    checks: 'tabular columns that never change',
    guard: 'tabular data only (constant image borders are normal)',
  },
  {
    id: 'unscaled-features',
    severity: 'warning',
    targets: ['dataset'],
    checks: 'column scales that differ ≥ 100×, a std ≥ 100, or a mean 10 stds from zero',
    guard: 'tabular data the loader does not normalise itself',
  },
  {
    id: 'out-of-range-features',
    severity: 'warning',
    targets: ['dataset'],
    checks: 'test values more than 5 training stds outside the training range',
    guard: 'more than 1 % of test rows',
  },
  {
    id: 'label-noise',
    severity: 'warning',
    targets: ['dataset', 'config'],
    checks: 'samples of which 4 or 5 of the 5 nearest neighbours (standardised L2) carry one other label',
    guard:
      'a near-unanimous vote only, and ≥ 10 % of ~400 probed samples (plain kNN error is high on hard clean data; the Fashion-MNIST subset scores 5.75 %)',
  },
  {
    id: 'nonfinite-weights',
    severity: 'error',
    targets: ['model', 'run'],
    checks: 'NaN/Inf in the initializers of an ONNX model',
    guard: 'any non-finite weight is a real defect',
  },
  {
    id: 'huge-weights',
    severity: 'warning',
    targets: ['model', 'run'],
    checks: 'the largest absolute weight',
    guard: 'above 1,000 (trained weights rarely exceed 10)',
  },
  {
    id: 'dead-units',
    severity: 'warning',
    targets: ['model', 'run'],
    checks: 'Gemm/Conv output units whose weights are all exactly 0',
    guard: '≥ 25 % of a layer with 4+ units; the output layer is skipped',
  },
  {
    id: 'softmax-output-as-logits',
    severity: 'warning',
    targets: ['model', 'run'],
    checks: "a Softmax output while lathe's inference metadata declares logits",
    guard: 'only models that carry the metadata',
  },
  {
    id: 'fixed-batch-dim',
    severity: 'info',
    targets: ['model', 'run'],
    checks: 'an input whose first dimension is fixed at 1',
    guard: 'rank ≥ 2 inputs only; info',
  },
  {
    id: 'diverged',
    severity: 'error',
    targets: ['run'],
    checks: 'non-finite losses, or a train loss above 3× its best and above its first',
    guard: 'both conditions for a rise; noise does neither',
  },
  {
    id: 'loss-not-decreasing',
    severity: 'warning',
    targets: ['run'],
    checks: "best train loss vs the first epoch's",
    guard: '3+ epochs and less than a 5 % fall',
  },
  {
    id: 'overfitting',
    severity: 'warning',
    targets: ['run'],
    checks: 'validation loss rising after its best epoch while the train loss falls',
    guard: '4+ epochs, best ≥ 2 epochs back, last ≥ 10 % above best, train still falling',
  },
  {
    id: 'chance-accuracy',
    severity: 'error',
    targets: ['run'],
    checks: 'best validation accuracy vs 1/classes',
    guard: '2+ epochs and ≤ 1.5× chance',
  },
];

/** The ids of all {@link RULES}, in catalogue order. */
export const ruleIds = (): string[] => RULES.map((r) => r.id);
