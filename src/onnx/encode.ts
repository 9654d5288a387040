/** ONNX protobuf encoder (see proto.ts for the presence conventions). */
import {
  AttributeType,
  F,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type StringStringEntryProto,
  type TensorProto,
  type TensorTypedArray,
  type TypeProto,
  type ValueInfoProto,
} from './proto.js';
import { Writer } from './wire.js';

/** Bytes per element of fixed-size data types (undefined for STRING/UNDEFINED). */
function dataTypeSize(dataType: number): number | undefined {
  switch (dataType) {
    case 1:
    case 6:
    case 12:
      return 4; // FLOAT INT32 UINT32
    case 2:
    case 3:
    case 9:
      return 1; // UINT8 INT8 BOOL
    case 4:
    case 5:
    case 10:
    case 16:
      return 2; // UINT16 INT16 FLOAT16 BFLOAT16
    case 7:
    case 11:
    case 13:
    case 14:
      return 8; // INT64 DOUBLE UINT64 COMPLEX64
    case 15:
      return 16; // COMPLEX128
    default:
      return undefined;
  }
}

export function numElements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function entries(w: Writer, field: number, es: readonly StringStringEntryProto[] | undefined): void {
  if (!es) return;
  for (const e of es) {
    w.messageField(field, (x) => {
      if (e.key !== '') x.stringField(F.entry.key, e.key);
      if (e.value !== '') x.stringField(F.entry.value, e.value);
    });
  }
}

function writeTensor(w: Writer, t: TensorProto): void {
  const what = `tensor '${t.name ?? ''}'`;
  const T = F.tensor;
  if (t.rawData !== undefined) {
    const size = dataTypeSize(t.dataType);
    if (size !== undefined && t.rawData.length !== numElements(t.dims) * size) {
      throw new Error(
        `encode: ${what}: rawData has ${t.rawData.length} bytes, dims [${t.dims.join(',')}] of type ${t.dataType} need ${numElements(t.dims) * size}`,
      );
    }
  }
  w.packedInt64(T.dims, t.dims, `${what} dims`);
  if (t.dataType !== 0) w.int64Field(T.dataType, t.dataType, `${what} dataType`);
  if (t.floatData) w.packedFloat32(T.floatData, t.floatData);
  if (t.int32Data) w.packedInt64(T.int32Data, t.int32Data, `${what} int32Data`);
  if (t.stringData) for (const s of t.stringData) w.bytesField(T.stringData, s);
  if (t.int64Data) w.packedInt64(T.int64Data, t.int64Data, `${what} int64Data`);
  if (t.name !== undefined) w.stringField(T.name, t.name);
  if (t.rawData !== undefined) w.bytesField(T.rawData, t.rawData);
  if (t.doubleData) w.packedFloat64(T.doubleData, t.doubleData);
  if (t.uint64Data) w.packedInt64(T.uint64Data, t.uint64Data, `${what} uint64Data`);
  if (t.docString !== undefined) w.stringField(T.docString, t.docString);
  entries(w, T.externalData, t.externalData);
  if (t.dataLocation !== undefined) w.int64Field(T.dataLocation, t.dataLocation, `${what} dataLocation`);
  if (t.unknownFields) for (const u of t.unknownFields) w.raw(u);
}

const VALUE_FIELD: Record<number, keyof AttributeProto> = {
  [AttributeType.FLOAT]: 'f',
  [AttributeType.INT]: 'i',
  [AttributeType.STRING]: 's',
  [AttributeType.TENSOR]: 't',
  [AttributeType.GRAPH]: 'g',
};

function writeAttribute(w: Writer, a: AttributeProto): void {
  const what = `attribute '${a.name}'`;
  const A = F.attr;
  const need = VALUE_FIELD[a.type];
  if (need !== undefined && a[need] === undefined && a.refAttrName === undefined)
    throw new Error(`encode: ${what} of type ${a.type} has no '${need}' value`);
  if (a.name !== '') w.stringField(A.name, a.name);
  if (a.f !== undefined) w.floatField(A.f, a.f);
  if (a.i !== undefined) w.int64Field(A.i, a.i, what);
  if (a.s !== undefined) w.bytesField(A.s, a.s);
  if (a.t !== undefined) {
    const t = a.t;
    w.messageField(A.t, (x) => writeTensor(x, t));
  }
  if (a.g !== undefined) {
    const g = a.g;
    w.messageField(A.g, (x) => writeGraph(x, g));
  }
  if (a.floats) w.packedFloat32(A.floats, a.floats);
  if (a.ints) w.packedInt64(A.ints, a.ints, what);
  if (a.strings) for (const s of a.strings) w.bytesField(A.strings, s);
  if (a.tensors) for (const t of a.tensors) w.messageField(A.tensors, (x) => writeTensor(x, t));
  if (a.graphs) for (const g of a.graphs) w.messageField(A.graphs, (x) => writeGraph(x, g));
  if (a.docString !== undefined) w.stringField(A.docString, a.docString);
  if (a.type !== 0) w.int64Field(A.type, a.type, `${what} type`);
  if (a.refAttrName !== undefined) w.stringField(A.refAttrName, a.refAttrName);
  if (a.unknownFields) for (const u of a.unknownFields) w.raw(u);
}

function writeNode(w: Writer, n: NodeProto): void {
  const N = F.node;
  for (const s of n.input) w.stringField(N.input, s);
  for (const s of n.output) w.stringField(N.output, s);
  if (n.name !== undefined) w.stringField(N.name, n.name);
  if (n.opType !== '') w.stringField(N.opType, n.opType);
  for (const a of n.attribute) w.messageField(N.attribute, (x) => writeAttribute(x, a));
  if (n.docString !== undefined) w.stringField(N.docString, n.docString);
  if (n.domain !== undefined) w.stringField(N.domain, n.domain);
  if (n.unknownFields) for (const u of n.unknownFields) w.raw(u);
}

function writeType(w: Writer, t: TypeProto): void {
  const tt = t.tensorType;
  if (tt) {
    w.messageField(F.type.tensorType, (x) => {
      if (tt.elemType !== 0) x.int64Field(F.tensorType.elemType, tt.elemType, 'elemType');
      const shape = tt.shape;
      if (shape) {
        x.messageField(F.tensorType.shape, (s) => {
          for (const d of shape.dim) {
            s.messageField(F.shape.dim, (dd) => {
              if ('dimValue' in d) dd.int64Field(F.dim.dimValue, d.dimValue, 'dimValue');
              else if (d.dimParam !== '') dd.stringField(F.dim.dimParam, d.dimParam);
            });
          }
        });
      }
    });
  }
  if (t.denotation !== undefined) w.stringField(F.type.denotation, t.denotation);
  if (t.unknownFields) for (const u of t.unknownFields) w.raw(u);
}

function writeValueInfo(w: Writer, v: ValueInfoProto): void {
  if (v.name !== '') w.stringField(F.valueInfo.name, v.name);
  const type = v.type;
  if (type) w.messageField(F.valueInfo.type, (x) => writeType(x, type));
  if (v.docString !== undefined) w.stringField(F.valueInfo.docString, v.docString);
  if (v.unknownFields) for (const u of v.unknownFields) w.raw(u);
}

function writeGraph(w: Writer, g: GraphProto): void {
  const G = F.graph;
  for (const n of g.node) w.messageField(G.node, (x) => writeNode(x, n));
  if (g.name !== undefined) w.stringField(G.name, g.name);
  for (const t of g.initializer) w.messageField(G.initializer, (x) => writeTensor(x, t));
  if (g.docString !== undefined) w.stringField(G.docString, g.docString);
  for (const v of g.input) w.messageField(G.input, (x) => writeValueInfo(x, v));
  for (const v of g.output) w.messageField(G.output, (x) => writeValueInfo(x, v));
  for (const v of g.valueInfo) w.messageField(G.valueInfo, (x) => writeValueInfo(x, v));
  if (g.unknownFields) for (const u of g.unknownFields) w.raw(u);
}

/** Writes a ModelProto into `w` (use `w.chunks()` to stream the result without one big copy). */
function writeModel(w: Writer, m: ModelProto): void {
  const M = F.model;
  if (m.irVersion !== 0) w.int64Field(M.irVersion, m.irVersion, 'irVersion');
  if (m.producerName !== undefined) w.stringField(M.producerName, m.producerName);
  if (m.producerVersion !== undefined) w.stringField(M.producerVersion, m.producerVersion);
  if (m.domain !== undefined) w.stringField(M.domain, m.domain);
  if (m.modelVersion !== undefined) w.int64Field(M.modelVersion, m.modelVersion, 'modelVersion');
  if (m.docString !== undefined) w.stringField(M.docString, m.docString);
  w.messageField(M.graph, (x) => writeGraph(x, m.graph));
  for (const o of m.opsetImport) {
    w.messageField(M.opsetImport, (x) => {
      if (o.domain !== '') x.stringField(F.opset.domain, o.domain);
      if (o.version !== 0) x.int64Field(F.opset.version, o.version, 'opset version');
    });
  }
  entries(w, M.metadataProps, m.metadataProps);
  if (m.unknownFields) for (const u of m.unknownFields) w.raw(u);
}

/** Serializes a model to ONNX protobuf bytes. Tensor rawData is copied once, into the result. */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new Writer(4096);
  writeModel(w, m);
  if (w.length > 2147483647)
    throw new Error(
      `encode: model is ${w.length} bytes, over the 2 GiB protobuf limit; use encodeModelWithExternalData`,
    );
  return w.finish();
}

/** Serializes a single tensor (e.g. for tests or a .pb tensor file). */
export function encodeTensor(t: TensorProto): Uint8Array {
  const w = new Writer();
  writeTensor(w, t);
  return w.finish();
}

function dataTypeOf(data: TensorTypedArray): number {
  if (data instanceof Float32Array) return 1;
  if (data instanceof Uint8Array) return 2;
  if (data instanceof Int8Array) return 3;
  if (data instanceof Uint16Array) return 4;
  if (data instanceof Int16Array) return 5;
  if (data instanceof Int32Array) return 6;
  if (data instanceof BigInt64Array) return 7;
  if (data instanceof Float64Array) return 11;
  if (data instanceof Uint32Array) return 12;
  return 13;
}

/**
 * A TensorProto whose rawData views `data`'s bytes (no copy; little-endian hosts). `dataType` overrides the
 * type implied by the array (e.g. FLOAT16/BFLOAT16 for a Uint16Array, BOOL for a Uint8Array).
 */
export function typedArrayToTensor(
  name: string,
  data: TensorTypedArray,
  dims: readonly number[],
  dataType?: number,
): TensorProto {
  const dt = dataType ?? dataTypeOf(data);
  if (numElements(dims) !== data.length)
    throw new Error(`typedArrayToTensor: '${name}': ${data.length} values do not fill dims [${dims.join(',')}]`);
  if (dataTypeSize(dt) !== data.BYTES_PER_ELEMENT)
    throw new Error(`typedArrayToTensor: '${name}': data type ${dt} does not match ${data.constructor.name}`);
  return {
    name,
    dataType: dt,
    dims: [...dims],
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}
