import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { decodeModel, decodeTensor, tensorToTypedArray } from '../../src/onnx/decode.js';
import { encodeModel, encodeTensor, typedArrayToTensor } from '../../src/onnx/encode.js';
import {
  AttributeType,
  DataType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from '../../src/onnx/proto.js';
import { ProtoDecodeError, Writer } from '../../src/onnx/wire.js';
import {
  encodeModelWithExternalData,
  loadExternalData,
  loadModelFile,
  saveModelWithExternalData,
} from '../../src/onnx/external-data.js';

const utf8 = new TextEncoder();
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

const vi = (name: string, elemType: number, dims: (number | string)[]): ValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});
const node = (
  opType: string,
  input: string[],
  output: string[],
  attribute: NodeProto['attribute'] = [],
  name?: string,
): NodeProto => ({ opType, input, output, attribute, ...(name ? { name } : {}) });
const ints = (name: string, v: (number | bigint)[]): NodeProto['attribute'][number] => ({
  name,
  type: AttributeType.INTS,
  ints: v,
});

function smallGraph(name: string): GraphProto {
  return {
    name,
    node: [node('Identity', ['a'], ['b'])],
    initializer: [],
    input: [],
    output: [vi('b', DataType.FLOAT, [])],
    valueInfo: [],
  };
}

function everyAttributeModel(): ModelProto {
  const tensor: TensorProto = {
    name: 'tf',
    dataType: DataType.FLOAT,
    dims: [2, 2],
    rawData: new Uint8Array(new Float32Array([1, -2, 3.5, 0]).buffer),
  };
  const typed: TensorProto[] = [
    { name: 'f', dataType: DataType.FLOAT, dims: [3], floatData: [0.5, -1.25, 0.25] },
    { name: 'i32', dataType: DataType.INT32, dims: [3], int32Data: [-1, 0, 2147483647] },
    { name: 'i64', dataType: DataType.INT64, dims: [4], int64Data: [INT64_MIN, -1n, 0n, INT64_MAX] },
    { name: 'd', dataType: DataType.DOUBLE, dims: [2], doubleData: [Math.PI, -0.1] },
    { name: 'u64', dataType: DataType.UINT64, dims: [2], uint64Data: [0n, 18446744073709551615n] },
    { name: 's', dataType: DataType.STRING, dims: [2], stringData: [utf8.encode('héllo'), new Uint8Array(0)] },
    {
      name: 'ext',
      dataType: DataType.FLOAT,
      dims: [1],
      externalData: [
        { key: 'location', value: 'w.bin' },
        { key: 'offset', value: '0' },
        { key: 'length', value: '4' },
      ],
      dataLocation: 1,
    },
    { name: 'scalar', dataType: DataType.INT64, dims: [], int64Data: [7n], docString: 'a scalar' },
  ];
  const attrs: NodeProto['attribute'] = [
    { name: 'f', type: AttributeType.FLOAT, f: -0.5 },
    { name: 'f0', type: AttributeType.FLOAT, f: 0 },
    { name: 'i', type: AttributeType.INT, i: -1 },
    { name: 'i0', type: AttributeType.INT, i: 0 },
    { name: 'imax', type: AttributeType.INT, i: INT64_MAX },
    { name: 'imin', type: AttributeType.INT, i: INT64_MIN },
    { name: 'big', type: AttributeType.INT, i: 4294967296 * 3 + 5 },
    { name: 's', type: AttributeType.STRING, s: utf8.encode('NOTSET ✓') },
    { name: 't', type: AttributeType.TENSOR, t: tensor },
    { name: 'g', type: AttributeType.GRAPH, g: smallGraph('sub') },
    { name: 'floats', type: AttributeType.FLOATS, floats: [1, -2.5, 0] },
    ints('ints', [-1, 0, 1, INT64_MAX, INT64_MIN, -4294967297]),
    { name: 'strings', type: AttributeType.STRINGS, strings: [utf8.encode('a'), utf8.encode('')] },
    { name: 'tensors', type: AttributeType.TENSORS, tensors: typed },
    { name: 'graphs', type: AttributeType.GRAPHS, graphs: [smallGraph('g1'), smallGraph('g2')] },
    { name: 'ref', type: AttributeType.INT, refAttrName: 'outer', docString: 'doc' },
  ];
  return {
    irVersion: 10,
    opsetImport: [
      { domain: '', version: 21 },
      { domain: 'com.microsoft', version: 1 },
    ],
    producerName: 'lathe',
    producerVersion: '0.1.0',
    domain: 'ai.lathe',
    modelVersion: 3,
    docString: 'every attribute type',
    metadataProps: [
      { key: 'k', value: 'v' },
      { key: 'empty', value: '' },
    ],
    graph: {
      name: 'main',
      docString: 'graph doc',
      node: [
        node('Custom', ['x', ''], ['y'], attrs, 'custom0'),
        { ...node('Identity', ['y'], ['z']), domain: 'com.microsoft', docString: 'n' },
      ],
      initializer: typed,
      input: [vi('x', DataType.FLOAT, ['batch', 3]), { name: 'untyped' }],
      output: [vi('z', DataType.FLOAT, ['batch', 3])],
      valueInfo: [
        vi('y', DataType.FLOAT, ['batch', '']),
        { name: 'q', type: { tensorType: { elemType: DataType.INT64 }, denotation: 'TENSOR' }, docString: 'q' },
      ],
    },
  };
}

test('encode -> decode -> encode is byte-identical for every attribute type', () => {
  const m = everyAttributeModel();
  const a = encodeModel(m);
  const d = decodeModel(a);
  const b = encodeModel(d);
  assert.deepEqual(Buffer.from(b), Buffer.from(a));
  // and the decoded values are the originals (int64 attributes come back as numbers when safe)
  assert.deepEqual(d, m);
});

test('decoded attribute values', () => {
  const d = decodeModel(encodeModel(everyAttributeModel()));
  const at = new Map(d.graph.node[0].attribute.map((a) => [a.name, a]));
  assert.equal(at.get('i')!.i, -1);
  assert.equal(at.get('imax')!.i, INT64_MAX);
  assert.equal(at.get('imin')!.i, INT64_MIN);
  assert.deepEqual(at.get('ints')!.ints, [-1, 0, 1, INT64_MAX, INT64_MIN, -4294967297]);
  assert.equal(new TextDecoder().decode(at.get('s')!.s), 'NOTSET ✓');
  assert.deepEqual(Array.from(tensorToTypedArray(at.get('t')!.t!) as Float32Array), [1, -2, 3.5, 0]);
  assert.equal(at.get('g')!.g!.name, 'sub');
  assert.deepEqual(
    at.get('graphs')!.graphs!.map((g) => g.name),
    ['g1', 'g2'],
  );
  assert.deepEqual(d.graph.input[0].type!.tensorType!.shape!.dim, [{ dimParam: 'batch' }, { dimValue: 3 }]);
});

test('a negative int64 is a 10-byte varint; numbers past int64 clamp', () => {
  const w = new Writer();
  w.varint64(-1, 'x');
  assert.deepEqual(Array.from(w.finish()), [255, 255, 255, 255, 255, 255, 255, 255, 255, 1]);
  const w2 = new Writer();
  // biome-ignore lint/correctness/noPrecisionLoss: INT64_MAX written as a JS number rounds to 2^63 on purpose, to test the clamp
  w2.varint64(9223372036854775807, 'x'); // == 2^63 as a double: clamps to INT64_MAX
  const w3 = new Writer();
  w3.varint64(INT64_MAX, 'x');
  assert.deepEqual(w2.finish(), w3.finish());
  assert.throws(() => new Writer().varint64(1.5, 'attribute x'), /attribute x: 1.5 is not an integer/);
});

test('decode reads unpacked repeated fields and keeps unknown fields of every wire type verbatim', () => {
  const w = new Writer();
  w.int64Field(1, 2, 'dims'); // unpacked dims
  w.int64Field(1, 3, 'dims');
  w.int64Field(2, DataType.INT64, 'dt');
  w.int64Field(7, -5, 'int64'); // unpacked int64_data
  w.packedInt64(7, [1, 2, 3, 4, 5], 'int64'); // packed, appended
  w.int64Field(99, 1, 'unknown varint');
  w.tag(98, 1);
  w.float64(1); // unknown fixed64
  w.bytesField(97, new Uint8Array([1, 2, 3])); // unknown bytes
  w.floatField(96, 1); // unknown fixed32
  w.stringField(8, 'name');
  const t = decodeTensor(w.finish());
  const { unknownFields, ...known } = t;
  assert.deepEqual(known, {
    dataType: DataType.INT64,
    dims: [2, 3],
    int64Data: [-5n, 1n, 2n, 3n, 4n, 5n],
    name: 'name',
  });
  assert.deepEqual(Array.from(tensorToTypedArray(t) as BigInt64Array), [-5n, 1n, 2n, 3n, 4n, 5n]);
  // the four unknown fields, tags included, in wire order; written back by the encoder
  assert.deepEqual(
    unknownFields?.map((u) => ((u[0] & 0x7f) | (u[1] << 7)) >>> 3),
    [99, 98, 97, 96],
  );
  const again = decodeTensor(encodeTensor(t));
  assert.deepEqual(again.unknownFields, unknownFields);
});

test('truncated or corrupt input fails with the field and byte offset', () => {
  const bytes = encodeModel(everyAttributeModel());
  let threw = 0;
  for (let cut = 1; cut < bytes.length; cut++) {
    try {
      decodeModel(bytes.subarray(0, cut)); // a cut exactly at a top-level field boundary is valid protobuf
    } catch (e) {
      assert.ok(e instanceof ProtoDecodeError && /at byte offset \d+$/.test(e.message), `cut at ${cut}: ${String(e)}`);
      threw++;
    }
  }
  assert.ok(threw > bytes.length * 0.9, `${threw} of ${bytes.length} cuts detected`);
  assert.throws(() => decodeModel(new Uint8Array([0x7f, 1, 2])), /unknown wire type 7 for field 15 at byte offset 1/);
  assert.throws(() => decodeModel(new Uint8Array([0x0f, 1, 2])), /field ir_version \(1\) has wire type 7/);
  assert.throws(() => decodeModel(new Uint8Array([0x3a, 0x05, 0x0a, 0x01])), /truncated graph.*byte offset 2/);
  assert.throws(() => decodeModel(new Uint8Array([0x08, 0x0a])), /no graph field/);
});

test('tensorToTypedArray copies unaligned rawData; typedArrayToTensor round-trips', () => {
  const vals = new Float32Array([1.5, -2, 3]);
  const padded = new Uint8Array(13);
  padded.set(new Uint8Array(vals.buffer), 1);
  const t: TensorProto = { dataType: DataType.FLOAT, dims: [3], rawData: padded.subarray(1) };
  assert.deepEqual(tensorToTypedArray(t), vals);
  for (const data of [
    vals,
    new Float64Array([1, 2]),
    new Int32Array([-1, 5]),
    new BigInt64Array([-1n, INT64_MAX]),
    new Uint8Array([1, 2]),
    new Int8Array([-3]),
    new Uint16Array([15360]),
    new BigUint64Array([3n]),
  ]) {
    const tt = typedArrayToTensor('w', data, [data.length]);
    const back = decodeTensor(encodeTensor(tt));
    assert.equal(back.name, 'w');
    assert.deepEqual(tensorToTypedArray(back), data);
  }
  assert.throws(
    () => encodeTensor({ name: 'bad', dataType: DataType.FLOAT, dims: [2, 2], rawData: new Uint8Array(12) }),
    /tensor 'bad': rawData has 12 bytes.*need 16/,
  );
});

/** x[batch,3] @ W[3,4] + B -> Relu -> y; r = y reversed on axis 1 (Slice, step -1); out = Concat(y, r, axis=-1). */
export function mlpSliceModel(W: Float32Array, B: Float32Array): ModelProto {
  const c = (name: string, v: (number | bigint)[]): NodeProto => node('Constant', [], [name], [ints('value_ints', v)]);
  return {
    irVersion: 10,
    opsetImport: [{ domain: '', version: 21 }],
    producerName: 'lathe-test',
    graph: {
      name: 'mlp',
      node: [
        node('MatMul', ['x', 'W'], ['xw']),
        node('Add', ['xw', 'B'], ['h']),
        node('Relu', ['h'], ['y']),
        c('starts', [-1]),
        c('ends', [INT64_MIN]),
        c('axes', [1]),
        c('steps', [-1]),
        node('Slice', ['y', 'starts', 'ends', 'axes', 'steps'], ['r']),
        node('Concat', ['y', 'r'], ['out'], [{ name: 'axis', type: AttributeType.INT, i: -1 }]),
      ],
      initializer: [
        typedArrayToTensor('W', W, [3, 4]),
        { name: 'B', dataType: DataType.FLOAT, dims: [4], floatData: Array.from(B) },
      ],
      input: [vi('x', DataType.FLOAT, ['batch', 3])],
      output: [vi('out', DataType.FLOAT, ['batch', 8])],
      valueInfo: [],
    },
  };
}

export function mlpSliceReference(x: Float32Array, W: Float32Array, B: Float32Array, batch: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const y: number[] = [];
    for (let j = 0; j < 4; j++) {
      let s = B[j];
      for (let k = 0; k < 3; k++) s += x[b * 3 + k] * W[k * 4 + j];
      y.push(Math.max(0, s));
    }
    out.push(...y, ...[...y].reverse());
  }
  return out;
}

test('a model built with the codec runs in onnxruntime-node (opset 21, IR 10, dim_param, negative ints)', async () => {
  const W = new Float32Array([0.5, -1, 2, 0.25, 1, 1, -1, 0.5, -0.5, 2, 1, -2]);
  const B = new Float32Array([0.1, 0.2, -0.3, 0.4]);
  const bytes = encodeModel(mlpSliceModel(W, B));
  const session = await ort.InferenceSession.create(bytes);
  try {
    for (const batch of [1, 3]) {
      const x = new Float32Array(batch * 3).map((_, i) => (i % 5) - 2 + i * 0.1);
      const res = await session.run({ x: new ort.Tensor('float32', x, [batch, 3]) });
      assert.deepEqual(res.out.dims, [batch, 8]);
      const got = Array.from(res.out.data as Float32Array);
      const want = mlpSliceReference(x, W, B, batch);
      for (let i = 0; i < want.length; i++)
        assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `out[${i}] = ${got[i]}, want ${want[i]}`);
    }
  } finally {
    await session.release();
  }
  // ORT's own optimized model file decodes too
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'lathe-onnx-'));
  try {
    const opt = join(dir, 'opt.onnx');
    const s2 = await ort.InferenceSession.create(bytes, {
      optimizedModelFilePath: opt,
      graphOptimizationLevel: 'extended',
    });
    await s2.release();
    const m = decodeModel(readFileSync(opt));
    assert.ok(m.graph.node.length > 0);
    assert.deepEqual(
      m.graph.input.map((i) => i.name),
      ['x'],
    );
    assert.deepEqual(m.graph.input[0].type!.tensorType!.shape!.dim[0], { dimParam: 'batch' });
    const w = m.graph.initializer.find((t) => t.name === 'W');
    if (w) assert.deepEqual(tensorToTypedArray(w), W);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface ExpectedTensor {
  name: string;
  dataType: number;
  dims: number[];
  values: (number | string)[];
}
interface ExpectedModel {
  file: string;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsetImport: { domain: string; version: number }[];
  nodes: {
    opType: string;
    name: string;
    input: string[];
    output: string[];
    attributes: Record<string, number | string | number[] | ExpectedTensor>;
  }[];
  initializers: ExpectedTensor[];
  inputs: string[];
  outputs: string[];
  x: { dims: number[]; values: number[] };
  y: { dims: number[]; values: number[] };
}

const FIXTURES = 'test/fixtures/onnx';

function tensorValues(t: TensorProto): (number | string)[] {
  const a = tensorToTypedArray(t);
  return Array.from(a as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
}

function attributeJson(a: NodeProto['attribute'][number]): number | string | number[] | ExpectedTensor {
  switch (a.type) {
    case AttributeType.FLOAT:
      return a.f!;
    case AttributeType.INT:
      return Number(a.i);
    case AttributeType.STRING:
      return new TextDecoder().decode(a.s);
    case AttributeType.FLOATS:
      return [...a.floats!];
    case AttributeType.INTS:
      return a.ints!.map(Number);
    case AttributeType.TENSOR:
      return { name: a.t!.name ?? '', dataType: a.t!.dataType, dims: [...a.t!.dims], values: tensorValues(a.t!) };
    default:
      throw new Error(`unexpected attribute type ${a.type}`);
  }
}

test('PyTorch 1.13 exports decode to the expected nodes and initializer values, and survive re-encoding', async () => {
  const { readFileSync } = await import('node:fs');
  const expected = JSON.parse(readFileSync(`${FIXTURES}/expected.json`, 'utf8')) as {
    models: Record<string, ExpectedModel>;
  };
  for (const [key, exp] of Object.entries(expected.models)) {
    const bytes = readFileSync(`${FIXTURES}/${exp.file}`);
    const m = decodeModel(bytes);
    assert.equal(m.irVersion, exp.irVersion, key);
    assert.equal(m.producerName, exp.producerName);
    assert.equal(m.producerVersion, exp.producerVersion);
    assert.deepEqual(m.opsetImport, exp.opsetImport);
    assert.deepEqual(
      m.graph.node.map((n) => ({
        opType: n.opType,
        name: n.name ?? '',
        input: n.input,
        output: n.output,
        attributes: Object.fromEntries(n.attribute.map((a) => [a.name, attributeJson(a)])),
      })),
      exp.nodes,
      `${key} nodes`,
    );
    assert.deepEqual(
      m.graph.initializer.map((t) => ({
        name: t.name ?? '',
        dataType: t.dataType,
        dims: [...t.dims],
        values: tensorValues(t),
      })),
      exp.initializers,
      `${key} initializers`,
    );
    assert.deepEqual(
      m.graph.input.map((v) => v.name),
      exp.inputs,
    );
    assert.deepEqual(
      m.graph.output.map((v) => v.name),
      exp.outputs,
    );
    assert.deepEqual(m.graph.input[0].type!.tensorType!.shape!.dim[0], { dimParam: 'batch' });
    // decode -> encode -> decode preserves everything lathe models; the re-encoded model runs in ORT like PyTorch
    const again = encodeModel(m);
    assert.deepEqual(decodeModel(again), m);
    for (const model of [bytes, again]) {
      const s = await ort.InferenceSession.create(model);
      const res = await s.run({ x: new ort.Tensor('float32', Float32Array.from(exp.x.values), exp.x.dims) });
      await s.release();
      assert.deepEqual(res.y.dims, exp.y.dims);
      const got = res.y.data as Float32Array;
      exp.y.values.forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-5, `${key} y[${i}] = ${got[i]}, want ${v}`));
    }
  }
});

test('external data: weights in a side file load in ORT from a path and from memory, and load back', async () => {
  const { mkdtempSync, readFileSync, rmSync, statSync, readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  // MatMul with a [3,1024] weight (12 KiB, external) and a small bias (inline floatData)
  const N = 1024;
  const W = new Float32Array(3 * N).map((_, i) => Math.sin(i) * 0.5);
  const B = new Float32Array(N).map((_, i) => (i % 7) * 0.01);
  const model: ModelProto = {
    irVersion: 10,
    opsetImport: [{ domain: '', version: 21 }],
    graph: {
      name: 'ext',
      node: [node('MatMul', ['x', 'W'], ['xw']), node('Add', ['xw', 'B'], ['y'])],
      initializer: [
        typedArrayToTensor('W', W, [3, N]),
        typedArrayToTensor('W2', new Float32Array(2048), [2048]),
        { name: 'B', dataType: DataType.FLOAT, dims: [N], floatData: Array.from(B) },
      ],
      input: [vi('x', DataType.FLOAT, ['batch', 3])],
      output: [vi('y', DataType.FLOAT, ['batch', N])],
      valueInfo: [],
    },
  };
  const x = new Float32Array([1, -2, 0.5, 0.25, 3, -1]);
  const want = new Float32Array(2 * N);
  for (let b = 0; b < 2; b++)
    for (let j = 0; j < N; j++)
      want[b * N + j] = Math.fround(x[b * 3] * W[j] + x[b * 3 + 1] * W[N + j] + x[b * 3 + 2] * W[2 * N + j] + B[j]);
  const check = async (session: ort.InferenceSession) => {
    try {
      const res = await session.run({ x: new ort.Tensor('float32', x, [2, 3]) });
      const got = res.y.data as Float32Array;
      for (let i = 0; i < want.length; i++)
        assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `y[${i}] = ${got[i]}, want ${want[i]}`);
    } finally {
      await session.release();
    }
  };
  // in memory: W (12 KiB) and W2 (8 KiB) go out, B (4 KiB of floatData) stays inline below the threshold
  const mem = encodeModelWithExternalData(model, { location: 'weights.bin', thresholdBytes: 4097 });
  const outs = decodeModel(mem.model).graph.initializer;
  assert.deepEqual(
    outs.map((t) => t.dataLocation),
    [1, 1, undefined],
  );
  assert.deepEqual(outs[0].externalData, [
    { key: 'location', value: 'weights.bin' },
    { key: 'offset', value: '0' },
    { key: 'length', value: String(W.byteLength) },
  ]);
  assert.deepEqual(outs[1].externalData![1], { key: 'offset', value: '12288' }); // 4096-aligned
  assert.equal(mem.data.length, 12288 + 8192);
  assert.ok(mem.model.length < 5000 + 200, `model is ${mem.model.length} bytes`);
  await check(
    await ort.InferenceSession.create(mem.model, { externalData: [{ path: 'weights.bin', data: mem.data }] }),
  );
  // resolving from memory gives back the inline model, byte for byte
  const resolved = loadExternalData(decodeModel(mem.model), (loc) => {
    assert.equal(loc, 'weights.bin');
    return mem.data;
  });
  assert.deepEqual(Buffer.from(encodeModel(resolved)), Buffer.from(encodeModel(model)));

  const dir = mkdtempSync(join(tmpdir(), 'lathe-ext-'));
  try {
    const path = join(dir, 'model.onnx');
    const saved = saveModelWithExternalData(path, model, { thresholdBytes: 4096 }); // B goes out too
    assert.deepEqual(saved.externalized, ['W', 'W2', 'B']);
    assert.equal(saved.dataPath, join(dir, 'model.onnx.data'));
    assert.deepEqual(readdirSync(dir).sort(), ['model.onnx', 'model.onnx.data']); // no temp files left
    assert.equal(statSync(saved.dataPath).size, 12288 + 8192 + 4096);
    await check(await ort.InferenceSession.create(path));
    const back = loadModelFile(path);
    assert.deepEqual(tensorToTypedArray(back.graph.initializer[0]), W);
    assert.deepEqual(tensorToTypedArray(back.graph.initializer[2]), B);
    // a bad reference names the tensor
    const bad = decodeModel(readFileSync(path));
    const t = bad.graph.initializer[0];
    bad.graph.initializer[0] = {
      ...t,
      externalData: [
        { key: 'location', value: 'model.onnx.data' },
        { key: 'offset', value: '999999' },
        { key: 'length', value: '4' },
      ],
    };
    assert.throws(() => loadExternalData(bad, dir), /tensor 'W' wants bytes \[999999, 1000003\)/);
    bad.graph.initializer[0] = { ...t, externalData: [{ key: 'location', value: '../etc/passwd' }] };
    assert.throws(() => loadExternalData(bad, dir), /must be a relative path inside/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
