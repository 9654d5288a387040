// Small classic classifiers: the MLP and the two-conv CNN of the benchmarks and the quickstart.
import { z } from 'zod';
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, BatchNorm2d } from '../nn/index.js';
import { registerModel } from './registry.js';

/**
 * Options of the registered 'mlp' model (zod schema; unknown keys are rejected): input features, hidden layer widths
 * (default [256, 256]), classes (default 10), dropout (default 0) and an optional image shape to flatten.
 */
export const mlpOptions = z
  .object({
    /** Flattened input features (784 for 28×28 images). */
    inputs: z.number().int().positive().default(784),
    hidden: z.array(z.number().int().positive()).default([256, 256]),
    classes: z.number().int().positive().default(10),
    dropout: z.number().min(0).max(0.95).default(0),
    /** Input image shape to flatten, when the data is images ([1, 28, 28]); omit for flat features. */
    imageShape: z.array(z.number().int().positive()).optional(),
  })
  .strict();

registerModel({
  name: 'mlp',
  description: 'multilayer perceptron: Linear → ReLU (→ Dropout) … → Linear',
  options: mlpOptions,
  inputShape: (o) => o.imageShape ?? [o.inputs],
  create: (o) => {
    const layers = [];
    if (o.imageShape) layers.push(Flatten());
    let prev = o.inputs;
    for (const h of o.hidden) {
      layers.push(new Linear(prev, h), ReLU());
      if (o.dropout > 0) layers.push(new Dropout(o.dropout));
      prev = h;
    }
    layers.push(new Linear(prev, o.classes));
    return new Sequential(...layers);
  },
});

/**
 * Options of the registered 'cnn' model (zod schema; unknown keys are rejected): input channels and square size,
 * classes, the two conv widths (default [32, 64]), the dense width (default 128), dropout, padding and BatchNorm.
 */
export const cnnOptions = z
  .object({
    channels: z.number().int().positive().default(1),
    /** Square input size (28 for Fashion-MNIST). */
    size: z.number().int().positive().default(28),
    classes: z.number().int().positive().default(10),
    widths: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([32, 64]),
    hidden: z.number().int().positive().default(128),
    dropout: z.number().min(0).max(0.95).default(0),
    /** 'valid' (the benchmark CNN) or 'same' convolutions (+ BatchNorm). */
    padding: z.enum(['valid', 'same']).default('valid'),
    batchNorm: z.boolean().default(false),
  })
  .strict();

registerModel({
  name: 'cnn',
  description: 'two-conv CNN: conv3×3 → ReLU → maxpool2, twice, then dense → dense',
  options: cnnOptions,
  inputShape: (o) => [o.channels, o.size, o.size],
  create: (o) => {
    const [w1, w2] = o.widths;
    const pad = o.padding === 'same' ? 1 : 0;
    const after1 = Math.floor((o.size - 2 + 2 * pad) / 2);
    const after2 = Math.floor((after1 - 2 + 2 * pad) / 2);
    const block = (cin: number, cout: number) => [
      new Conv2d(cin, cout, 3, { padding: pad, bias: !o.batchNorm }),
      ...(o.batchNorm ? [new BatchNorm2d(cout)] : []),
      ReLU(),
      MaxPool2d(2),
    ];
    return new Sequential(
      ...block(o.channels, w1),
      ...block(w1, w2),
      Flatten(),
      new Linear(w2 * after2 * after2, o.hidden),
      ReLU(),
      ...(o.dropout > 0 ? [new Dropout(o.dropout)] : []),
      new Linear(o.hidden, o.classes),
    );
  },
});
