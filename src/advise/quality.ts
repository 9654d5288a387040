// The quality runs this project has recorded (README, docs/models.md), as data: what `lathe design` predicts from.
// Add a row when a new full-quality run is published; each row names its source.

/**
 * One measured training result (model and options, dataset, epochs, test accuracy and recipe, with its source)
 * that {@link design} uses to predict a candidate's accuracy.
 */
export interface QualityRecord {
  readonly model: string;
  /** The model options of the run (compared with a candidate's: an exact match predicts, a mismatch is "nearest"). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly dataset: string;
  readonly epochs: number;
  /** Test accuracy (0–1), or token accuracy for language models. */
  readonly accuracy: number;
  /** The training recipe of the run (merged into the config design writes). */
  readonly recipe: Readonly<Record<string, unknown>>;
  readonly source: string;
}

const cnnRecipe = {
  data: { batchSize: 64 },
  optimizer: { name: 'adamw', lr: 0.003, weightDecay: 0.0005 },
  schedule: { name: 'one-cycle', pctStart: 0.25 },
};
/** examples/char-gpt.yaml's recipe (also what design writes for a language model without a record). */
export const CHAR_LM_RECIPE = {
  data: { batchSize: 32 },
  optimizer: { name: 'adamw', lr: 0.002, weightDecay: 0.01 },
  schedule: { name: 'cosine' },
  trainer: { clipGradNorm: 1 },
};
const visionRecipe = {
  data: { batchSize: 128, augment: true },
  optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.0005 },
  schedule: { name: 'one-cycle', pctStart: 0.25 },
};

/**
 * The accuracies recorded in this repository (README and docs), the table {@link design} matches candidates
 * against: an exact model/options/dataset match predicts, otherwise the nearest record is shown.
 */
export const QUALITY: readonly QualityRecord[] = [
  {
    model: 'cnn',
    options: { widths: [32, 64], hidden: 256, dropout: 0.4 },
    dataset: 'fashion-mnist',
    epochs: 15,
    accuracy: 0.921,
    recipe: cnnRecipe,
    source: 'README "Training": examples/fashion-cnn.yaml, 92.1 % after 15 epochs',
  },
  {
    model: 'cnn',
    options: { widths: [32, 64], hidden: 256, dropout: 0.4 },
    dataset: 'fashion-mnist',
    epochs: 9,
    accuracy: 0.914,
    recipe: cnnRecipe,
    source: 'README "Training": the same config, 91.4 % after 9 epochs',
  },
  {
    model: 'cnn',
    options: { widths: [8, 16], hidden: 32 },
    dataset: 'fashion-mnist',
    epochs: 7,
    accuracy: 0.8938,
    recipe: cnnRecipe,
    source: 'docs/expert.md "Validation": cnn-8-16, the design for 100k parameters and 10 min, 89.38 % after 7 epochs',
  },
  {
    model: 'cnn',
    options: { widths: [32, 64], hidden: 128 },
    dataset: 'fashion-mnist-subset',
    epochs: 4,
    accuracy: 0.876,
    recipe: {
      data: { batchSize: 64, valFraction: 0.1 },
      optimizer: { name: 'adam', lr: 0.002 },
      schedule: { name: 'cosine', warmup: 50 },
    },
    source: 'README "Training": lathe quickstart, 87.6 %',
  },
  {
    model: 'resnet',
    options: { layers: [1, 1, 1], widths: [32, 64, 128], strides: [2, 2, 2] },
    dataset: 'fashion-mnist',
    epochs: 30,
    accuracy: 0.9389,
    recipe: visionRecipe,
    source: 'docs/models.md "Full-quality runs": ResNet 1-1-1, 93.89 % after 30 epochs',
  },
  {
    model: 'resnet',
    options: { layers: [1, 1, 1], widths: [32, 64, 128], strides: [2, 2, 2] },
    dataset: 'fashion-mnist',
    epochs: 12,
    accuracy: 0.9266,
    recipe: visionRecipe,
    source: 'docs/models.md "Full-quality runs": ResNet 1-1-1, 92.66 % after 12 epochs',
  },
  {
    model: 'resnet',
    options: { layers: [2, 2, 2], widths: [32, 64, 128], strides: [2, 2, 2] },
    dataset: 'fashion-mnist',
    epochs: 18,
    accuracy: 0.9321,
    recipe: visionRecipe,
    source: 'docs/models.md "Full-quality runs": ResNet 2-2-2, 93.21 % after 18 epochs',
  },
  {
    model: 'mobilenetv2',
    options: {},
    dataset: 'fashion-mnist',
    epochs: 4,
    accuracy: 0.9209,
    recipe: visionRecipe,
    source: 'docs/models.md "Full-quality runs": MobileNetV2-style, 92.09 % after 4 epochs',
  },
  {
    model: 'transformer-classifier',
    options: { dim: 64, layers: 1, heads: 4, context: 64 },
    dataset: 'fortunes',
    epochs: 20,
    accuracy: 0.71,
    recipe: {
      data: { batchSize: 32 },
      optimizer: { name: 'adamw', lr: 0.001, weightDecay: 0.01 },
      schedule: { name: 'cosine', warmup: 50 },
      trainer: { clipGradNorm: 1 },
    },
    source: 'docs/models.md: encoder classifier on fortunes categories, 71.0 %',
  },
  {
    model: 'gpt',
    options: { vocab: 256, context: 64, dim: 128, layers: 2, heads: 4 },
    dataset: 'text:GPL-3',
    epochs: 2,
    accuracy: 0.327,
    recipe: CHAR_LM_RECIPE,
    source:
      'docs/expert.md: examples/char-gpt.yaml on /usr/share/common-licenses/GPL-3, test next-byte accuracy 32.7 % (4.04 bits/byte) after 2 epochs',
  },
  {
    model: 'gpt',
    options: { vocab: 256, context: 64, dim: 64, layers: 2, heads: 4 },
    dataset: 'text:GPL-3',
    epochs: 2,
    accuracy: 0.2378,
    recipe: CHAR_LM_RECIPE,
    source:
      'docs/expert.md "Validation": gpt-64x2, the design for 150k parameters, next-byte accuracy 23.8 % (4.51 bits/byte) after 2 epochs',
  },
  {
    model: 'gcn',
    options: {},
    dataset: 'cora',
    epochs: 200,
    accuracy: 0.817,
    recipe: {},
    source: 'README: GCN on Cora, 81.7 ± 1.0 % over 10 seeds',
  },
  {
    model: 'gat',
    options: {},
    dataset: 'cora',
    epochs: 200,
    accuracy: 0.829,
    recipe: {},
    source: 'README: GAT on Cora, 82.9 ± 0.7 %',
  },
  {
    model: 'graphsage',
    options: {},
    dataset: 'cora',
    epochs: 200,
    accuracy: 0.811,
    recipe: {},
    source: 'README: GraphSAGE on Cora, 81.1 ± 0.5 %',
  },
];
