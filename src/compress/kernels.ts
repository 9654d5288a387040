// What ONNX Runtime actually runs: the op types of the graph after its optimizations (QDQ groups fused into
// QLinearConv, QGemm, ...). A quantized model's report lists them, so a layer left in float shows up as a float Conv
// instead of hiding behind a speed figure.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import type { ModelProto } from '../onnx/proto.js';
import type { SessionConfig } from '../runtime/device.js';
import { createSession } from '../runtime/session.js';

/** Kernels ORT would treat as plumbing rather than compute: not counted. */
const PLUMBING = new Set([
  'QuantizeLinear',
  'DequantizeLinear',
  'Transpose',
  'Reshape',
  'ReorderInput',
  'ReorderOutput',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Identity',
]);

/** Op types (domain-qualified when not ONNX's) of the optimized graph, with counts; plumbing ops left out unless `all`. */
export async function optimizedKernels(
  model: ModelProto | Uint8Array,
  opts: { session?: SessionConfig; all?: boolean } = {},
): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-kernels-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const s = await createSession(model instanceof Uint8Array ? model : encodeModel(model), {
      ...opts.session,
      logSeverity: 3,
      optimizedModelPath: path,
    });
    await s.release();
    const counts: Record<string, number> = {};
    for (const n of decodeModel(readFileSync(path)).graph.node) {
      if (!opts.all && PLUMBING.has(n.opType)) continue;
      counts[n.opType] = (counts[n.opType] ?? 0) + 1;
    }
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
