// The one place lathe creates ONNX Runtime sessions: from a ModelProto, encoded bytes or a file path, with the
// session options of runtime/device.ts (threads, provider, spinning, profiling).
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/encode.js';
import type { ModelProto } from '../onnx/proto.js';
import { sessionOptions, type SessionConfig } from './device.js';

/** An ORT session for `model` (a traced ModelProto, its encoded bytes, or the path of an .onnx file). */
export async function createSession(
  model: ModelProto | Uint8Array | string,
  cfg: SessionConfig = {},
): Promise<ort.InferenceSession> {
  const source = typeof model === 'string' || model instanceof Uint8Array ? model : encodeModel(model);
  const options = sessionOptions(cfg);
  return typeof source === 'string'
    ? ort.InferenceSession.create(source, options)
    : ort.InferenceSession.create(source, options);
}
