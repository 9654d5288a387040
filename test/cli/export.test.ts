// The ONNX a training run writes and `lathe export` are lean inference graphs: BatchNorm folded into its conv by
// default (kept with --no-fold-batchnorm), MaxPool without Indices; both give the same predictions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel } from '../../src/onnx/decode.js';
import { assertClose } from '../util/gradcheck.js';
import { runCli } from '../util/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-cli-export-'));

test('a trained BatchNorm CNN exports folded by default and unfolded on request, with the same outputs', async () => {
  const cfgPath = join(tmp, 'bn.json');
  writeFileSync(
    cfgPath,
    JSON.stringify({
      name: 'bn',
      seed: 1,
      model: { name: 'cnn', options: { widths: [4, 8], hidden: 16, padding: 'same', batchNorm: true, dropout: 0.2 } },
      data: { name: 'fashion-mnist-subset', batchSize: 32, limit: 256 },
      optimizer: { name: 'adam', lr: 0.003 },
      trainer: { epochs: 1 },
      output: join(tmp, 'bn'),
    }),
  );
  const r = runCli(['train', cfgPath]);
  assert.equal(r.status, 0, r.stderr);
  const ops = (path: string) => decodeModel(readFileSync(path)).graph.node.map((n) => n.opType);
  const lean = ['Conv', 'Relu', 'MaxPool', 'Conv', 'Relu', 'MaxPool', 'Reshape', 'Gemm', 'Relu', 'Gemm'];
  assert.deepEqual(ops(join(tmp, 'bn', 'model.onnx')), lean, 'the ONNX written after training');
  const folded = join(tmp, 'folded.onnx');
  const plain = join(tmp, 'plain.onnx');
  assert.equal(runCli(['export', join(tmp, 'bn'), '--onnx', folded]).status, 0);
  assert.equal(runCli(['export', join(tmp, 'bn'), '--onnx', plain, '--no-fold-batchnorm']).status, 0);
  assert.deepEqual(ops(folded), lean);
  assert.deepEqual(ops(plain).filter((o) => o === 'BatchNormalization').length, 2);
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * 784 }, (_, i) => Math.sin(i) * 0.5 + 0.5),
    [3, 1, 28, 28],
  );
  const run = async (p: string) => {
    const s = await ort.InferenceSession.create(p);
    return Array.from((await s.run({ [s.inputNames[0]]: x }))[s.outputNames[0]].data as Float32Array);
  };
  const [a, b] = [await run(folded), await run(plain)];
  assertClose(a, b, 1e-4, 1e-4, 'folded vs unfolded');
});

test('a training config can keep BatchNorm in the ONNX it writes (export.foldBatchNorm: false); a bad value names the field', () => {
  const cfgPath = join(tmp, 'keep.json');
  const cfg = {
    name: 'keep',
    seed: 1,
    model: { name: 'cnn', options: { widths: [4, 8], hidden: 16, padding: 'same', batchNorm: true } },
    data: { name: 'fashion-mnist-subset', batchSize: 32, limit: 64 },
    optimizer: { name: 'adam', lr: 0.003 },
    trainer: { epochs: 1 },
    output: join(tmp, 'keep'),
    export: { foldBatchNorm: false },
  };
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const r = runCli(['train', cfgPath]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    decodeModel(readFileSync(join(tmp, 'keep', 'model.onnx'))).graph.node.filter(
      (n) => n.opType === 'BatchNormalization',
    ).length,
    2,
  );
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, export: { foldBatchNorm: 'yes' } }));
  const bad = runCli(['train', cfgPath]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /export\.foldBatchNorm/);
});
