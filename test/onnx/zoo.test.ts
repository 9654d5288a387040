// Real PyTorch 1.13 exports (bench/peers/torch_onnx_zoo.py: ResNet, MobileNetV2, a transformer encoder, LSTM, GRU,
// a U-Net) import, match PyTorch's own outputs on the committed input, and fine-tune: a few Trainer steps towards
// a target make the loss fall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as L from '../../src/graph/index.js';
import { OnnxModule, mseLoss } from '../../src/nn/index.js';
import { withFrozenParameters } from '../../src/nn/export.js';
import { compile } from '../../src/runtime/compile.js';
import { Trainer } from '../../src/train/trainer.js';
import { ArrayLoader } from '../../src/train/loader.js';
import { adam } from '../../src/optim/index.js';
import { assertClose } from '../util/gradcheck.js';

const dir = 'test/fixtures/onnx-zoo';
interface Fixture {
  readonly input: { readonly shape: number[]; readonly data: number[] };
  readonly output: { readonly shape: number[]; readonly data: number[] };
}

for (const name of ['resnet', 'mobilenetv2', 'transformer', 'lstm', 'gru', 'unet']) {
  test(`PyTorch-exported ${name}: imports, matches PyTorch's outputs and fine-tunes`, async () => {
    const fx = JSON.parse(readFileSync(`${dir}/${name}.json`, 'utf8')) as Fixture;
    const model = new OnnxModule(`${dir}/${name}.onnx`);
    assert.equal(model.graph.inputs[0].shape[0], 'batch', 'the batch axis stays symbolic');
    const x = L.float32(fx.input.shape, fx.input.data);
    const ours = await compile((v: L.Tensor) => withFrozenParameters(model, () => model.forward(v)))(x);
    assert.deepEqual(ours.shape, fx.output.shape);
    assertClose(ours.data as Float32Array, fx.output.data, 1e-4, 1e-4, name);

    // fine-tune towards PyTorch's outputs shifted by a constant: the squared error must fall
    const y = L.float32(
      fx.output.shape,
      fx.output.data.map((v) => v + 0.5),
    );
    const trainer = new Trainer({
      model,
      optimizer: adam(),
      lr: 0.01,
      epochs: 4,
      loss: (out, b) => mseLoss(out, b.y),
    });
    const loader = new ArrayLoader({ x, y }, { batchSize: fx.input.shape[0] });
    const before = await trainer.evaluate(loader);
    await trainer.fit(loader);
    const after = await trainer.evaluate(loader);
    assert.ok(after.loss < before.loss * 0.9, `${name}: loss ${before.loss} → ${after.loss}`);
  });
}
