/**
 * ONNX protobuf decoder; packed and unpacked repeated fields both read. Fields it does not model are kept verbatim in
 * `unknownFields` of their message (model, graph, node, attribute, tensor, value info, type), and the encoder writes
 * them back, so nothing an imported model carries is dropped on re-export.
 */
import { numElements } from './encode.js';
import {
  F,
  type AttributeProto,
  type AttributeType,
  type DataLocation,
  type Dimension,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type OperatorSetIdProto,
  type StringStringEntryProto,
  type TensorProto,
  type TensorTypedArray,
  type TypeProto,
  type TypeProtoTensor,
  type ValueInfoProto,
} from './proto.js';
import { ProtoDecodeError, Reader, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './wire.js';

type Int64 = number | bigint;
const rInt64 =
  (what: string) =>
  (r: Reader): Int64 =>
    r.int64(what);
const rFloat =
  (what: string) =>
  (r: Reader): number =>
    r.float32(what);

function readEntry(r: Reader): StringStringEntryProto {
  const e: StringStringEntryProto = { key: '', value: '' };
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    if (f === F.entry.key && w === WIRE_LEN) e.key = r.string('key');
    else if (f === F.entry.value && w === WIRE_LEN) e.value = r.string('value');
    else r.skip(f, w);
  }
  return e;
}

function readTensor(r: Reader): TensorProto {
  const T = F.tensor;
  const dims: number[] = [];
  const t: TensorProto = { dataType: 0, dims };
  let floatData: number[] | undefined, int32Data: number[] | undefined, doubleData: number[] | undefined;
  let int64Data: bigint[] | undefined, uint64Data: bigint[] | undefined;
  let stringData: Uint8Array[] | undefined, externalData: StringStringEntryProto[] | undefined;
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    switch (f) {
      case T.dims:
        r.repeated(w, WIRE_VARINT, 'dims', dims, (x) => x.int64Number('dims'));
        break;
      case T.dataType:
        r.expect(f, WIRE_VARINT, w, 'data_type');
        t.dataType = r.int32('data_type');
        break;
      case T.floatData:
        r.repeated(w, WIRE_I32, 'float_data', (floatData ??= []), rFloat('float_data'));
        break;
      case T.int32Data:
        r.repeated(w, WIRE_VARINT, 'int32_data', (int32Data ??= []), (x) => x.int32('int32_data'));
        break;
      case T.stringData:
        r.expect(f, WIRE_LEN, w, 'string_data');
        (stringData ??= []).push(r.bytes('string_data'));
        break;
      case T.int64Data:
        r.repeated(w, WIRE_VARINT, 'int64_data', (int64Data ??= []), (x) => x.bigint64('int64_data', true));
        break;
      case T.name:
        r.expect(f, WIRE_LEN, w, 'name');
        t.name = r.string('name');
        r.context = `tensor '${t.name}'`;
        break;
      case T.rawData:
        r.expect(f, WIRE_LEN, w, 'raw_data');
        t.rawData = r.bytes('raw_data');
        break;
      case T.doubleData:
        r.repeated(w, WIRE_I64, 'double_data', (doubleData ??= []), (x) => x.float64('double_data'));
        break;
      case T.uint64Data:
        r.repeated(w, WIRE_VARINT, 'uint64_data', (uint64Data ??= []), (x) => x.bigint64('uint64_data', false));
        break;
      case T.docString:
        r.expect(f, WIRE_LEN, w, 'doc_string');
        t.docString = r.string('doc_string');
        break;
      case T.externalData:
        r.expect(f, WIRE_LEN, w, 'external_data');
        (externalData ??= []).push(readEntry(r.sub('external_data')));
        break;
      case T.dataLocation:
        r.expect(f, WIRE_VARINT, w, 'data_location');
        t.dataLocation = r.int32('data_location') as DataLocation;
        break;
      default:
        r.keep(f, w);
    }
  }
  if (floatData) t.floatData = floatData;
  if (int32Data) t.int32Data = int32Data;
  if (int64Data) t.int64Data = int64Data;
  if (doubleData) t.doubleData = doubleData;
  if (uint64Data) t.uint64Data = uint64Data;
  if (stringData) t.stringData = stringData;
  if (externalData) t.externalData = externalData;
  if (r.unknown) t.unknownFields = r.unknown;
  return t;
}

function readAttribute(r: Reader): AttributeProto {
  const A = F.attr;
  const a: AttributeProto = { name: '', type: 0 };
  let floats: number[] | undefined, ints: Int64[] | undefined, strings: Uint8Array[] | undefined;
  let tensors: TensorProto[] | undefined, graphs: GraphProto[] | undefined;
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    switch (f) {
      case A.name:
        r.expect(f, WIRE_LEN, w, 'name');
        a.name = r.string('name');
        r.context = `attribute '${a.name}'`;
        break;
      case A.f:
        r.expect(f, WIRE_I32, w, 'f');
        a.f = r.float32('f');
        break;
      case A.i:
        r.expect(f, WIRE_VARINT, w, 'i');
        a.i = r.int64('i');
        break;
      case A.s:
        r.expect(f, WIRE_LEN, w, 's');
        a.s = r.bytes('s');
        break;
      case A.t:
        r.expect(f, WIRE_LEN, w, 't');
        a.t = readTensor(r.sub(`attribute '${a.name}' t`));
        break;
      case A.g:
        r.expect(f, WIRE_LEN, w, 'g');
        a.g = readGraph(r.sub(`attribute '${a.name}' g`));
        break;
      case A.floats:
        r.repeated(w, WIRE_I32, 'floats', (floats ??= []), rFloat('floats'));
        break;
      case A.ints:
        r.repeated(w, WIRE_VARINT, 'ints', (ints ??= []), rInt64('ints'));
        break;
      case A.strings:
        r.expect(f, WIRE_LEN, w, 'strings');
        (strings ??= []).push(r.bytes('strings'));
        break;
      case A.tensors:
        r.expect(f, WIRE_LEN, w, 'tensors');
        (tensors ??= []).push(readTensor(r.sub(`attribute '${a.name}' tensors`)));
        break;
      case A.graphs:
        r.expect(f, WIRE_LEN, w, 'graphs');
        (graphs ??= []).push(readGraph(r.sub(`attribute '${a.name}' graphs`)));
        break;
      case A.docString:
        r.expect(f, WIRE_LEN, w, 'doc_string');
        a.docString = r.string('doc_string');
        break;
      case A.type:
        r.expect(f, WIRE_VARINT, w, 'type');
        a.type = r.int32('type') as AttributeType;
        break;
      case A.refAttrName:
        r.expect(f, WIRE_LEN, w, 'ref_attr_name');
        a.refAttrName = r.string('ref_attr_name');
        break;
      default:
        r.keep(f, w);
    }
  }
  if (floats) a.floats = floats;
  if (ints) a.ints = ints;
  if (strings) a.strings = strings;
  if (tensors) a.tensors = tensors;
  if (graphs) a.graphs = graphs;
  if (r.unknown) a.unknownFields = r.unknown;
  return a;
}

function readNode(r: Reader): NodeProto {
  const N = F.node;
  const n: NodeProto = { input: [], output: [], opType: '', attribute: [] };
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    switch (f) {
      case N.input:
        r.expect(f, WIRE_LEN, w, 'input');
        n.input.push(r.string('input'));
        break;
      case N.output:
        r.expect(f, WIRE_LEN, w, 'output');
        n.output.push(r.string('output'));
        break;
      case N.name:
        r.expect(f, WIRE_LEN, w, 'name');
        n.name = r.string('name');
        break;
      case N.opType:
        r.expect(f, WIRE_LEN, w, 'op_type');
        n.opType = r.string('op_type');
        r.context = `node '${n.name ?? ''}' (${n.opType})`;
        break;
      case N.attribute:
        r.expect(f, WIRE_LEN, w, 'attribute');
        n.attribute.push(readAttribute(r.sub(`${r.context} attribute`)));
        break;
      case N.docString:
        r.expect(f, WIRE_LEN, w, 'doc_string');
        n.docString = r.string('doc_string');
        break;
      case N.domain:
        r.expect(f, WIRE_LEN, w, 'domain');
        n.domain = r.string('domain');
        break;
      default:
        r.keep(f, w);
    }
  }
  if (r.unknown) n.unknownFields = r.unknown;
  return n;
}

function readDim(r: Reader): Dimension {
  let d: Dimension = { dimParam: '' };
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    if (f === F.dim.dimValue && w === WIRE_VARINT) d = { dimValue: r.int64Number('dim_value') };
    else if (f === F.dim.dimParam && w === WIRE_LEN) d = { dimParam: r.string('dim_param') };
    else r.skip(f, w);
  }
  return d;
}

function readTensorType(r: Reader): TypeProtoTensor {
  const tt: TypeProtoTensor = { elemType: 0 };
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    if (f === F.tensorType.elemType && w === WIRE_VARINT) tt.elemType = r.int32('elem_type');
    else if (f === F.tensorType.shape && w === WIRE_LEN) {
      const s = r.sub('shape');
      const dim: Dimension[] = [];
      while (!s.done) {
        const tg = s.tag(),
          g = tg >>> 3,
          v = tg & 7;
        if (g === F.shape.dim && v === WIRE_LEN) dim.push(readDim(s.sub('dim')));
        else s.skip(g, v);
      }
      tt.shape = { dim };
    } else r.keep(f, w);
  }
  return tt;
}

function readType(r: Reader): TypeProto {
  const t: TypeProto = {};
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    if (f === F.type.tensorType && w === WIRE_LEN) t.tensorType = readTensorType(r.sub('tensor_type'));
    else if (f === F.type.denotation && w === WIRE_LEN) t.denotation = r.string('denotation');
    else r.keep(f, w);
  }
  if (r.unknown) t.unknownFields = r.unknown;
  return t;
}

function readValueInfo(r: Reader): ValueInfoProto {
  const v: ValueInfoProto = { name: '' };
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    if (f === F.valueInfo.name && w === WIRE_LEN) {
      v.name = r.string('name');
      r.context = `value_info '${v.name}'`;
    } else if (f === F.valueInfo.type && w === WIRE_LEN) v.type = readType(r.sub(`value_info '${v.name}' type`));
    else if (f === F.valueInfo.docString && w === WIRE_LEN) v.docString = r.string('doc_string');
    else r.keep(f, w);
  }
  if (r.unknown) v.unknownFields = r.unknown;
  return v;
}

function readGraph(r: Reader): GraphProto {
  const G = F.graph;
  const g: GraphProto = { node: [], initializer: [], input: [], output: [], valueInfo: [] };
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    switch (f) {
      case G.node:
        r.expect(f, WIRE_LEN, w, 'node');
        g.node.push(readNode(r.sub(`graph node #${g.node.length}`)));
        break;
      case G.name:
        r.expect(f, WIRE_LEN, w, 'name');
        g.name = r.string('name');
        break;
      case G.initializer:
        r.expect(f, WIRE_LEN, w, 'initializer');
        g.initializer.push(readTensor(r.sub(`graph initializer #${g.initializer.length}`)));
        break;
      case G.docString:
        r.expect(f, WIRE_LEN, w, 'doc_string');
        g.docString = r.string('doc_string');
        break;
      case G.input:
        r.expect(f, WIRE_LEN, w, 'input');
        g.input.push(readValueInfo(r.sub('graph input')));
        break;
      case G.output:
        r.expect(f, WIRE_LEN, w, 'output');
        g.output.push(readValueInfo(r.sub('graph output')));
        break;
      case G.valueInfo:
        r.expect(f, WIRE_LEN, w, 'value_info');
        g.valueInfo.push(readValueInfo(r.sub('graph value_info')));
        break;
      default:
        r.keep(f, w);
    }
  }
  if (r.unknown) g.unknownFields = r.unknown;
  return g;
}

function readOpset(r: Reader): OperatorSetIdProto {
  const o: OperatorSetIdProto = { domain: '', version: 0 };
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    if (f === F.opset.domain && w === WIRE_LEN) o.domain = r.string('domain');
    else if (f === F.opset.version && w === WIRE_VARINT) o.version = r.int64Number('version');
    else r.skip(f, w);
  }
  return o;
}

/** Decodes ONNX protobuf bytes. rawData fields are views into `bytes` (not copies). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf, 0, buf.length, 'model');
  const M = F.model;
  const m: ModelProto = {
    irVersion: 0,
    opsetImport: [],
    graph: { node: [], initializer: [], input: [], output: [], valueInfo: [] },
  };
  let metadataProps: StringStringEntryProto[] | undefined;
  let sawGraph = false;
  while (!r.done) {
    const tg = r.tag(),
      f = tg >>> 3,
      w = tg & 7;
    switch (f) {
      case M.irVersion:
        r.expect(f, WIRE_VARINT, w, 'ir_version');
        m.irVersion = r.int64Number('ir_version');
        break;
      case M.producerName:
        r.expect(f, WIRE_LEN, w, 'producer_name');
        m.producerName = r.string('producer_name');
        break;
      case M.producerVersion:
        r.expect(f, WIRE_LEN, w, 'producer_version');
        m.producerVersion = r.string('producer_version');
        break;
      case M.domain:
        r.expect(f, WIRE_LEN, w, 'domain');
        m.domain = r.string('domain');
        break;
      case M.modelVersion:
        r.expect(f, WIRE_VARINT, w, 'model_version');
        m.modelVersion = r.int64Number('model_version');
        break;
      case M.docString:
        r.expect(f, WIRE_LEN, w, 'doc_string');
        m.docString = r.string('doc_string');
        break;
      case M.graph:
        r.expect(f, WIRE_LEN, w, 'graph');
        m.graph = readGraph(r.sub('graph'));
        sawGraph = true;
        break;
      case M.opsetImport:
        r.expect(f, WIRE_LEN, w, 'opset_import');
        m.opsetImport.push(readOpset(r.sub('opset_import')));
        break;
      case M.metadataProps:
        r.expect(f, WIRE_LEN, w, 'metadata_props');
        (metadataProps ??= []).push(readEntry(r.sub('metadata_props')));
        break;
      default:
        r.keep(f, w);
    }
  }
  if (!sawGraph)
    throw new ProtoDecodeError(
      `decode model: no graph field in ${buf.length} bytes (not an ONNX model?) at byte offset ${buf.length}`,
      buf.length,
    );
  if (metadataProps) m.metadataProps = metadataProps;
  if (r.unknown) m.unknownFields = r.unknown;
  return m;
}

/** Decodes a serialized TensorProto. */
export function decodeTensor(bytes: Uint8Array): TensorProto {
  const buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return readTensor(new Reader(buf, 0, buf.length, 'tensor'));
}

export type { TensorTypedArray };

type TypedCtor = {
  new (n: number): TensorTypedArray;
  new (b: ArrayBuffer, off: number, n: number): TensorTypedArray;
  BYTES_PER_ELEMENT: number;
};

function ctorFor(dataType: number, what: string): TypedCtor {
  switch (dataType) {
    case 1:
      return Float32Array;
    case 2:
    case 9:
      return Uint8Array; // UINT8, BOOL
    case 3:
      return Int8Array;
    case 4:
    case 10:
    case 16:
      return Uint16Array; // UINT16, FLOAT16/BFLOAT16 as bit patterns
    case 5:
      return Int16Array;
    case 6:
      return Int32Array;
    case 7:
      return BigInt64Array;
    case 11:
      return Float64Array;
    case 12:
      return Uint32Array;
    case 13:
      return BigUint64Array;
    default:
      throw new Error(`tensorToTypedArray: ${what}: unsupported data type ${dataType}`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The elements of a tensor as a typed array (FLOAT16/BFLOAT16 as Uint16Array bit patterns, BOOL as Uint8Array).
 * rawData is viewed in place when aligned, else copied. External data must be resolved first (external-data.ts).
 */
export function tensorToTypedArray(t: TensorProto): TensorTypedArray {
  const what = `tensor '${t.name ?? ''}'`;
  if (t.dataLocation === 1)
    throw new Error(`tensorToTypedArray: ${what} has external data; load it with loadExternalData first`);
  const C = ctorFor(t.dataType, what);
  const n = numElements(t.dims);
  if (t.rawData !== undefined) {
    const raw = t.rawData;
    const size = C.BYTES_PER_ELEMENT;
    if (raw.length !== n * size)
      throw new Error(
        `tensorToTypedArray: ${what}: rawData has ${raw.length} bytes, dims [${t.dims.join(',')}] need ${n * size}`,
      );
    if (!LITTLE_ENDIAN) throw new Error('tensorToTypedArray: big-endian hosts are not supported');
    if (raw.byteOffset % size === 0) return new C(raw.buffer as ArrayBuffer, raw.byteOffset, n);
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    return new C(copy.buffer, 0, n);
  }
  const out = new C(n);
  const src: readonly (number | bigint)[] =
    (t.dataType === 1
      ? t.floatData
      : t.dataType === 11
        ? t.doubleData
        : t.dataType === 7
          ? t.int64Data
          : t.dataType === 12 || t.dataType === 13
            ? t.uint64Data
            : t.int32Data) ?? [];
  const have = src.length;
  if (have !== n)
    throw new Error(`tensorToTypedArray: ${what}: has ${have} typed values, dims [${t.dims.join(',')}] need ${n}`);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array)
    for (let i = 0; i < n; i++) out[i] = BigInt(src[i]);
  else for (let i = 0; i < n; i++) out[i] = Number(src[i]);
  return out;
}

/** The fields among `unknownFields` with field number `field`, each as a reader over its payload (length-delimited). */
function keptMessages(unknown: readonly Uint8Array[] | undefined, field: number, what: string): Reader[] {
  const out: Reader[] = [];
  for (const u of unknown ?? []) {
    const r = new Reader(u, 0, u.length, what);
    const tg = r.tag();
    if (tg >>> 3 === field && (tg & 7) === WIRE_LEN) out.push(r.sub(what));
  }
  return out;
}

/**
 * The graph's sparse initializers (GraphProto.sparse_initializer, SparseTensorProto) as dense TensorProtos: values
 * scattered at their indices (linear [NNZ] or coordinates [NNZ, rank]) into zeros of the declared dims.
 */
export function denseSparseInitializers(g: GraphProto): TensorProto[] {
  return keptMessages(g.unknownFields, 15, 'sparse_initializer').map((r) => {
    let values: TensorProto | undefined, indices: TensorProto | undefined;
    const dims: number[] = [];
    while (!r.done) {
      const tg = r.tag(),
        f = tg >>> 3,
        w = tg & 7;
      if (f === 1 && w === WIRE_LEN) values = readTensor(r.sub('values'));
      else if (f === 2 && w === WIRE_LEN) indices = readTensor(r.sub('indices'));
      else if (f === 3) r.repeated(w, WIRE_VARINT, 'dims', dims, (x) => x.int64Number('dims'));
      else r.skip(f, w);
    }
    if (!values || !indices)
      throw new ProtoDecodeError('decode sparse_initializer: values and indices are required', 0);
    const name = values.name ?? '';
    const vals = tensorToTypedArray(values);
    const idx = Array.from(tensorToTypedArray(indices) as ArrayLike<number | bigint>, Number);
    const size = numElements(dims);
    const nnz = vals.length;
    const C = ctorFor(values.dataType, `sparse initializer ${name}`);
    const dense = new C(size);
    const rank = dims.length;
    const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
    const coords = idx.length === nnz * rank && rank > 1;
    if (!coords && idx.length !== nnz)
      throw new ProtoDecodeError(`decode sparse_initializer ${name}: ${idx.length} indices for ${nnz} values`, 0);
    for (let k = 0; k < nnz; k++) {
      const at = coords ? strides.reduce((s, st, d) => s + st * idx[k * rank + d], 0) : idx[k];
      if (!(at >= 0 && at < size))
        throw new ProtoDecodeError(
          `decode sparse_initializer ${name}: index ${at} outside dims [${dims.join(', ')}]`,
          0,
        );
      (dense as unknown as { [i: number]: number | bigint })[at] = (
        vals as unknown as { [i: number]: number | bigint }
      )[k];
    }
    return {
      name,
      dataType: values.dataType,
      dims,
      rawData: new Uint8Array(dense.buffer, dense.byteOffset, dense.byteLength),
    };
  });
}

/** A model-local function (ModelProto.functions, FunctionProto): what a call of `domain:name` expands to. */
export interface LocalFunction {
  readonly name: string;
  readonly domain: string;
  readonly overload: string;
  /** Formal input and output names, bound positionally to a call's inputs and outputs. */
  readonly input: readonly string[];
  readonly output: readonly string[];
  /** Attribute names a call may set (without defaults). */
  readonly attribute: readonly string[];
  /** Attributes with default values. */
  readonly attributeProto: readonly AttributeProto[];
  readonly node: readonly NodeProto[];
}

/** The model-local functions (ModelProto.functions, kept as unknown field 25), decoded. */
export function localFunctions(m: ModelProto): LocalFunction[] {
  return keptMessages(m.unknownFields, 25, 'functions').map((r) => {
    let name = '',
      domain = '',
      overload = '';
    const input: string[] = [];
    const output: string[] = [];
    const attribute: string[] = [];
    const attributeProto: AttributeProto[] = [];
    const node: NodeProto[] = [];
    while (!r.done) {
      const tg = r.tag(),
        f = tg >>> 3,
        w = tg & 7;
      if (w !== WIRE_LEN) r.skip(f, w);
      else if (f === 1) name = r.string('name');
      else if (f === 4) input.push(r.string('input'));
      else if (f === 5) output.push(r.string('output'));
      else if (f === 6) attribute.push(r.string('attribute'));
      else if (f === 7) node.push(readNode(r.sub(`function ${name} node`)));
      else if (f === 10) domain = r.string('domain');
      else if (f === 11) attributeProto.push(readAttribute(r.sub(`function ${name} attribute_proto`)));
      else if (f === 13) overload = r.string('overload');
      else r.skip(f, w);
    }
    return { name, domain, overload, input, output, attribute, attributeProto, node };
  });
}
