// TEMPORARY (lead): placeholder until the codec lands.
import type { ModelProto, TensorProto } from './proto.js';
export function decodeModel(_b: Uint8Array): ModelProto { throw new Error('decodeModel: codec not available yet'); }
export function tensorToTypedArray(_t: TensorProto): Float32Array { throw new Error('codec not available yet'); }
