// The inference.GRPCInferenceService definition (grpc_predict_v2.proto beside this file, shipped as
// source) and the TypeScript shapes of its messages as @grpc/proto-loader decodes them.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The .proto file (from dist/src/serve/grpc/ back to the source tree, which the package ships). */
export const PROTO_PATH = fileURLToPath(new URL('../../../../src/serve/grpc/grpc_predict_v2.proto', import.meta.url));

/** Decoding: field names as written, 64-bit integers as numbers, defaults filled, bytes as Buffers. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: grpc.ServiceClientConstructor | undefined;

/** The service's client constructor; `.service` is its definition for a server. */
export function inferenceService(): grpc.ServiceClientConstructor {
  if (!cached) {
    const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
    };
    cached = pkg.inference.GRPCInferenceService;
  }
  return cached;
}

/** InferParameter: one of these is set (`parameter_choice` names which). */
export interface InferParameter {
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  readonly bool_param?: boolean;
  readonly int64_param?: number;
  readonly string_param?: string;
  readonly double_param?: number;
  readonly uint64_param?: number;
}

/**
 * KServe v2 gRPC InferTensorContents: a tensor's values in the typed field of its datatype (when not sent as raw
 * bytes).
 */
export interface InferTensorContents {
  readonly bool_contents?: readonly boolean[];
  readonly int_contents?: readonly number[];
  readonly int64_contents?: readonly number[];
  readonly uint_contents?: readonly number[];
  readonly uint64_contents?: readonly number[];
  readonly fp32_contents?: readonly number[];
  readonly fp64_contents?: readonly number[];
  readonly bytes_contents?: readonly Buffer[];
}

export interface InferInputTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly parameters?: Readonly<Record<string, InferParameter>>;
  readonly contents?: InferTensorContents | null;
}

/**
 * KServe v2 gRPC ModelInferRequest as decoded by proto-loader (snake_case fields; tensor data in `contents` or
 * `raw_input_contents`).
 */
export interface ModelInferRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters?: Readonly<Record<string, InferParameter>>;
  readonly inputs: readonly InferInputTensor[];
  readonly outputs: readonly {
    readonly name: string;
    readonly parameters?: Readonly<Record<string, InferParameter>>;
  }[];
  readonly raw_input_contents: readonly Buffer[];
}

/**
 * KServe v2 gRPC ModelInferResponse as sent: output metadata, with the output bytes in `raw_output_contents` in the
 * same order.
 */
export interface ModelInferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  readonly parameters: Record<string, InferParameter>;
  readonly outputs: readonly { readonly name: string; readonly datatype: string; readonly shape: readonly number[] }[];
  readonly raw_output_contents: readonly Buffer[];
}

/** The value of an InferParameter. */
export function parameterValue(p: InferParameter): boolean | number | string | undefined {
  return p.parameter_choice ? p[p.parameter_choice] : undefined;
}
