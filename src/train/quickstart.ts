import type { TrainConfig } from './config.js';

/** The quickstart: the two-conv CNN on the bundled Fashion-MNIST subset (8,000 train / 2,000 test images). */
export const quickstartConfig = (output = 'runs/quickstart'): TrainConfig => ({
  name: 'quickstart',
  seed: 0,
  model: { name: 'cnn', options: { widths: [32, 64], hidden: 128 } },
  // a validation split held out of train selects the best checkpoint; the test split is touched once, at the end
  data: { name: 'fashion-mnist-subset', batchSize: 64, valFraction: 0.1, augment: false },
  optimizer: { name: 'adam', lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  schedule: { name: 'cosine', warmup: 50, minLr: 0 },
  trainer: { epochs: 4, accumulate: 1 },
  callbacks: { checkpoint: { monitor: 'val_accuracy', saveTopK: 1 } },
  output,
});
