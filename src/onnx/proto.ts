// TEMPORARY (lead): minimal ONNX message types until the codec lands; to be replaced by the full codec.
export interface TensorProto { name?: string; dataType: number; dims: readonly number[]; rawData?: Uint8Array; floatData?: readonly number[]; int32Data?: readonly number[]; int64Data?: readonly bigint[]; doubleData?: readonly number[] }
export interface AttributeProto { name: string; type: number; f?: number; i?: number | bigint; s?: Uint8Array; t?: TensorProto; floats?: readonly number[]; ints?: readonly (number | bigint)[] }
export interface NodeProto { input: string[]; output: string[]; name?: string; opType: string; domain?: string; attribute: AttributeProto[] }
export type Dimension = { dimValue: number } | { dimParam: string };
export interface TypeProto { tensorType?: { elemType: number; shape?: { dim: Dimension[] } } }
export interface ValueInfoProto { name: string; type?: TypeProto }
export interface GraphProto { node: NodeProto[]; name?: string; initializer: TensorProto[]; input: ValueInfoProto[]; output: ValueInfoProto[]; valueInfo: ValueInfoProto[]; docString?: string }
export interface ModelProto { irVersion: number; opsetImport: { domain: string; version: number }[]; producerName?: string; producerVersion?: string; graph: GraphProto; metadataProps?: { key: string; value: string }[]; docString?: string }
