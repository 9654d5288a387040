// A model's signature (inputs, outputs, batchable) from ONNX Runtime's session metadata. Kept apart from
// model-version.ts (worker pools) so that code without worker threads (deploy's serverless handlers) shares it.
import { oipDatatypeOf } from '../graph/dtype.js';
import type { ModelSignature, TensorSpec } from './tensor.js';

/** Inputs and outputs as a session describes them (name, ORT element type, dims with symbols). */
export interface ModelIo {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}
export interface ValueInfo {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/** Signature of an ONNX model from the worker's metadata; symbolic dimensions become -1. */
export function signatureOf(io: ModelIo, path: string): ModelSignature {
  const spec = (v: ModelIo['inputs'][number], kind: string): TensorSpec => {
    const datatype = oipDatatypeOf(v.type);
    if (!datatype) throw new Error(`${path}: ${kind} '${v.name}' has type ${v.type}, which the server does not serve`);
    return { name: v.name, datatype, shape: v.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  };
  const inputs = io.inputs.map((v) => spec(v, 'input'));
  const outputs = io.outputs.map((v) => spec(v, 'output'));
  const batchable = [...inputs, ...outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
  return { inputs, outputs, batchable };
}
