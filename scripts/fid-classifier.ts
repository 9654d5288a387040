// Builds data/fid-fmnist/classifier.onnx, the feature network of FID-FMNIST (src/train/fid.ts), from a run of
// examples/fid-fmnist-classifier.yaml: images [N, 1, 28, 28] in [0, 1] → Fashion-MNIST normalisation → the run's
// CNN (conv3×3 16 → ReLU → maxpool2 → conv3×3 32 → ReLU → maxpool2 → dense 800→64 → ReLU → dense 64→10), with two
// outputs: `features` (the 64 post-ReLU activations of the hidden dense layer, layers.8) and `logits` (layers.9).
// usage: node dist/scripts/fid-classifier.js <runDir|checkpoint.json> <out.onnx>
import { sub, div } from '../src/graph/ops/elementwise.js';
import type { Tensor } from '../src/graph/tensor.js';
import { FASHION_MEAN, FASHION_STD } from '../src/data/fashion.js';
import { withFrozenParameters } from '../src/nn/export.js';
import type { Sequential } from '../src/nn/index.js';
import { exportOnnx } from '../src/onnx/export.js';
import { modelFromCheckpoint } from '../src/train/run.js';
import { versions } from '../src/util/version.js';

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: node dist/scripts/fid-classifier.js <runDir|checkpoint.json> <out.onnx>');
  process.exit(2);
}
const { model, cfg } = modelFromCheckpoint(src);
const seq = model as Sequential;
if (cfg.model.name !== 'cnn' || seq.layers.length !== 10)
  throw new Error(`${src}: expected the cnn of examples/fid-fmnist-classifier.yaml`);
exportOnnx(
  (x: Tensor) =>
    withFrozenParameters(model, () => {
      let h = div(sub(x, FASHION_MEAN), FASHION_STD); // [N, 1, 28, 28], normalised as in training
      for (const l of seq.layers.slice(0, 9)) h = l.forward(h); // … dense 800→64 → ReLU: [N, 64]
      return { features: h, logits: seq.layers[9].forward(h) }; // [N, 64], [N, 10]
    }),
  [{ dtype: 'float32', shape: ['batch', 1, 28, 28] }],
  {
    path: out,
    inputNames: ['images'],
    inference: true,
    metadata: {
      ...versions(),
      lathe_config: JSON.stringify(cfg),
      'lathe.fid':
        'FID-FMNIST feature network: features = ReLU(dense 800→64) (layers.8), logits = layers.9; input images in [0, 1]',
    },
  },
);
console.log(`wrote ${out}`);
