// Fields lathe's codec does not model (sparse initializers, model-local functions) survive a decode/encode round
// trip, sparse initializers are densified on import, and a model-local function call is refused by name.
// Fixtures written by ONNX's own codec: test/onnx/fixtures/gen_unknown_fields.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, denseSparseInitializers, localFunctions } from '../../src/onnx/decode.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { importOnnx } from '../../src/onnx/import.js';
import { compile } from '../../src/runtime/compile.js';
import { ndarray } from '../../src/graph/ndarray.js';
import { packageRoot } from '../../src/util/package-root.js';

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(join(packageRoot(), 'test', 'onnx', 'fixtures', name)));
const X = Float32Array.from([1, 2, 3, 4, 5, 6]);
// W = [[0, 2], [0, 0], [-3, 0]]
const XW = [-9, 2, -18, 8];

async function runOrt(bytes: Uint8Array, output: string): Promise<number[]> {
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ X: new ort.Tensor('float32', X, [2, 3]) });
  await s.release();
  return Array.from(out[output].data as Float32Array);
}

test('a model with a local function and a sparse initializer round-trips through decode/encode with nothing dropped', async () => {
  const original = fixture('local-function.onnx');
  const m = decodeModel(original);
  assert.deepEqual(
    localFunctions(m).map((f) => `${f.domain}:${f.name}`),
    ['custom:Double'],
  );
  assert.equal(m.graph.unknownFields?.length, 1, 'the sparse initializer is kept');
  const again = encodeModel(m);
  // the only difference from ONNX's own encoding: an empty opset domain written explicitly there, omitted here
  assert.equal(again.length, original.length - 2);
  const m2 = decodeModel(again);
  assert.deepEqual(encodeModel(m2), again);
  assert.deepEqual(m2.unknownFields, m.unknownFields);
  assert.deepEqual(m2.graph.unknownFields, m.graph.unknownFields);
  // ORT runs both, with the same result (2·X·W)
  assert.deepEqual(
    await runOrt(again, 'Z'),
    XW.map((v) => 2 * v),
  );
  assert.deepEqual(
    await runOrt(original, 'Z'),
    XW.map((v) => 2 * v),
  );
});

test('sparse initializers are densified: importOnnx computes X·W', async () => {
  const m = decodeModel(fixture('sparse-initializer.onnx'));
  const [w] = denseSparseInitializers(m.graph);
  assert.equal(w.name, 'W');
  assert.deepEqual(Array.from(new Float32Array(w.rawData!.slice().buffer)), [0, 2, 0, 0, -3, 0]);
  assert.deepEqual(m.metadataProps, [{ key: 'origin', value: 'test' }]);
  const g = importOnnx(m);
  assert.deepEqual(Object.keys(g.params), ['W']);
  const run = compile((x, wt) => g.apply({ X: x }, { W: wt }).Y);
  const y = await run(ndarray('float32', [2, 3], X), g.params.W);
  assert.deepEqual(Array.from(y.data as Float32Array), XW);
});

test('a call of a model-local function is expanded at import: importOnnx computes 2·X·W, metadata kept', async () => {
  const m = decodeModel(fixture('local-function.onnx'));
  const g = importOnnx(m);
  assert.deepEqual(Object.keys(g.params), ['W']);
  const run = compile((x, wt) => g.apply({ X: x }, { W: wt }).Z);
  const z = await run(ndarray('float32', [2, 3], X), g.params.W);
  assert.deepEqual(
    Array.from(z.data as Float32Array),
    XW.map((v) => 2 * v),
  );
  assert.deepEqual(importOnnx(fixture('sparse-initializer.onnx')).metadata, { origin: 'test' });
});

test("nested local functions expand with attribute references: the call's value, else the function's default", async () => {
  // Z = Scale(ScaleTwice(X; alpha=0.5)) with Scale's default alpha=3: 0.75·X (ORT agrees)
  const g = importOnnx(fixture('function-attributes.onnx'));
  const z = await compile((x) => g.apply({ X: x }, {}).Z)(ndarray('float32', [2, 3], X));
  assert.deepEqual(
    Array.from(z.data as Float32Array),
    Array.from(X, (v) => v * 0.75),
  );
});
