/**
 * ONNX protobuf messages as plain TypeScript objects (onnx.proto3, camelCase names).
 * Only the fields lathe uses are modelled; the others are kept as raw wire bytes in `unknownFields` (see decode.ts)
 * and written back by encode.ts, so a decode/encode round trip loses nothing.
 *
 * Conventions shared by encode.ts and decode.ts:
 * - An optional (`?`) field is written when it is not `undefined` (even if it is 0 or ''),
 *   and decoded only when present on the wire, so encode(decode(encode(m))) is byte-identical.
 * - A non-optional scalar or string is written only when it differs from the protobuf default (0, '').
 * - Repeated fields are omitted when empty; numeric repeated fields are written packed.
 * - int64 values are accepted as `number` or `bigint`; decode returns a `number` when the value is a
 *   safe integer and a `bigint` otherwise (e.g. INT64_MAX in Slice ends). `int64Data`/`uint64Data`
 *   are always `bigint`. Numbers beyond the int64 range are clamped to INT64_MIN/INT64_MAX on encode.
 */

/** TensorProto.DataType. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

/** TensorProto.DataLocation. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
export type DataLocation = (typeof DataLocation)[keyof typeof DataLocation];

import type { AnyTypedArray } from '../graph/dtype.js';

type Int64 = number | bigint;

/** The typed arrays that hold tensor elements on the wire: those of lathe's dtypes (graph/dtype.ts). */
export type TensorTypedArray = AnyTypedArray;

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface TensorProto {
  name?: string;
  /** A DataType number. */
  dataType: number;
  dims: readonly number[];
  /** Little-endian element bytes (the usual form). On decode, a view into the decoded buffer. */
  rawData?: Uint8Array;
  floatData?: readonly number[];
  /** INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16/BFLOAT16 (as bit patterns). */
  int32Data?: readonly number[];
  int64Data?: readonly bigint[];
  doubleData?: readonly number[];
  /** UINT32 and UINT64. */
  uint64Data?: readonly bigint[];
  stringData?: readonly Uint8Array[];
  /** With dataLocation = 1: keys 'location', 'offset', 'length' (and optionally 'checksum'). */
  externalData?: readonly StringStringEntryProto[];
  dataLocation?: DataLocation;
  docString?: string;
  /** Fields not modelled here, as raw wire bytes (tag included), written back verbatim. */
  unknownFields?: readonly Uint8Array[];
}

export interface AttributeProto {
  name: string;
  type: AttributeType;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: readonly number[];
  ints?: readonly Int64[];
  strings?: readonly Uint8Array[];
  tensors?: readonly TensorProto[];
  graphs?: readonly GraphProto[];
  refAttrName?: string;
  docString?: string;
  /** Fields not modelled here, as raw wire bytes (tag included), written back verbatim. */
  unknownFields?: readonly Uint8Array[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeProto[];
  docString?: string;
  /** Fields not modelled here, as raw wire bytes (tag included), written back verbatim. */
  unknownFields?: readonly Uint8Array[];
}

/** A dimension: a fixed size or a symbolic name. A dimension with neither decodes as { dimParam: '' }. */
export type Dimension = { dimValue: number } | { dimParam: string };

interface TensorShapeProto {
  dim: Dimension[];
}

export interface TypeProtoTensor {
  elemType: number;
  shape?: TensorShapeProto;
}

export interface TypeProto {
  tensorType?: TypeProtoTensor;
  denotation?: string;
  /** Fields not modelled here, as raw wire bytes (tag included), written back verbatim. */
  unknownFields?: readonly Uint8Array[];
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  docString?: string;
  /** Fields not modelled here, as raw wire bytes (tag included), written back verbatim. */
  unknownFields?: readonly Uint8Array[];
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  docString?: string;
  /** Fields not modelled here, as raw wire bytes (tag included), written back verbatim. */
  unknownFields?: readonly Uint8Array[];
}

export interface OperatorSetIdProto {
  domain: string;
  version: number;
}

/**
 * An ONNX model (onnx.proto3's ModelProto) as lathe reads and writes it: IR version, opset imports, producer, the
 * graph and metadata; field names are the protobuf fields in camelCase.
 */
export interface ModelProto {
  irVersion: number;
  opsetImport: OperatorSetIdProto[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: GraphProto;
  metadataProps?: StringStringEntryProto[];
  /** Fields not modelled here, as raw wire bytes (tag included), written back verbatim. */
  unknownFields?: readonly Uint8Array[];
}

/** Field numbers (onnx.proto3). */
export const F = {
  model: {
    irVersion: 1,
    producerName: 2,
    producerVersion: 3,
    domain: 4,
    modelVersion: 5,
    docString: 6,
    graph: 7,
    opsetImport: 8,
    metadataProps: 14,
  },
  opset: { domain: 1, version: 2 },
  entry: { key: 1, value: 2 },
  graph: { node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12, valueInfo: 13 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, docString: 6, domain: 7 },
  attr: {
    name: 1,
    f: 2,
    i: 3,
    s: 4,
    t: 5,
    g: 6,
    floats: 7,
    ints: 8,
    strings: 9,
    tensors: 10,
    graphs: 11,
    docString: 13,
    type: 20,
    refAttrName: 21,
  },
  tensor: {
    dims: 1,
    dataType: 2,
    floatData: 4,
    int32Data: 5,
    stringData: 6,
    int64Data: 7,
    name: 8,
    rawData: 9,
    doubleData: 10,
    uint64Data: 11,
    docString: 12,
    externalData: 13,
    dataLocation: 14,
  },
  valueInfo: { name: 1, type: 2, docString: 3 },
  type: { tensorType: 1, denotation: 6 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { dimValue: 1, dimParam: 2 },
} as const;
