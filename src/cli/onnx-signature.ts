// The signature of an ONNX file as the model registry records it: graph inputs (less initializers) and outputs.
import { readFileSync } from 'node:fs';
import { dtypeFromOnnx } from '../graph/dtype.js';
import { decodeModel } from '../onnx/decode.js';
import type { ValueInfoProto } from '../onnx/proto.js';
import type { ModelSignature, TensorSpec } from '../track/types.js';

function spec(v: ValueInfoProto): TensorSpec {
  const t = v.type?.tensorType;
  let dtype = 'unknown';
  try {
    if (t) dtype = dtypeFromOnnx(t.elemType);
  } catch {
    dtype = `onnx-type-${t?.elemType}`;
  }
  const shape = (t?.shape?.dim ?? []).map((d) => ('dimValue' in d ? d.dimValue : d.dimParam || '?'));
  return { name: v.name, dtype, shape };
}

/** Inputs and outputs of the ONNX file at `path`, or undefined when it is not a readable ONNX model. */
export function onnxSignature(path: string): ModelSignature | undefined {
  try {
    const graph = decodeModel(readFileSync(path)).graph;
    if (!graph) return undefined;
    const weights = new Set(graph.initializer.map((i) => i.name));
    return { inputs: graph.input.filter((i) => !weights.has(i.name)).map(spec), outputs: graph.output.map(spec) };
  } catch {
    return undefined;
  }
}
