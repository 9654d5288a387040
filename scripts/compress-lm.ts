// `node dist/scripts/compress-lm.js <run-dir> [--threads N] [--rounds R]`: dynamic int8 quantization of a trained
// character/byte language model (a `lathe train` run with `data.name: text` and `loss: lm`, e.g.
// examples/char-gpt.yaml or its char-rnn variant), scored and timed against the float model.
//
// Method (docs/compress.md records the figures):
//   model       the run's model.onnx (the exported best-validation weights), quantized by quantizeDynamic with its
//               defaults (per-column int8 weights, 7-bit on a CPU without VNNI).
//   bits/char   the run's own test split (data.text of its config.json: the last testFraction of the file, cut into
//               non-overlapping windows of `context` tokens, as `lathe train` scores it): mean next-token
//               cross-entropy over every position of every window, in bits, computed here from the logits ORT returns
//               for the float and the int8 model on the same windows.
//   latency     ORT, `--threads` intra-op threads (default 1), one window of `context` tokens per sample, at batch 1
//               and 64; the float and int8 sessions alternate for `--rounds` rounds (default 3) and each keeps its
//               best round's median (timeSession: median ms per run over 5 repetitions after warm-up).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { optimizedKernels, quantizeDynamic } from '../src/compress/index.js';
import { timeSession } from '../src/compress/evaluate.js';
import type { NDArray } from '../src/graph/ndarray.js';
import { decodeModel } from '../src/onnx/decode.js';
import { encodeModel } from '../src/onnx/encode.js';
import { toOrt } from '../src/runtime/convert.js';
import { createSession } from '../src/runtime/session.js';
import { loadTextWindows } from '../src/train/text-data.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

/** Rows [s, e) of an [N, ...] array. */
function rows(a: NDArray, s: number, e: number): NDArray {
  const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
  return { dtype: a.dtype, shape: [e - s, ...a.shape.slice(1)], data: a.data.subarray(s * row, e * row) } as NDArray;
}

/** Mean next-token cross-entropy in bits over every position of the windows x → y. */
async function bitsPerToken(session: ort.InferenceSession, x: NDArray, y: NDArray): Promise<number> {
  const n = x.shape[0];
  let nats = 0;
  let count = 0;
  for (let s = 0; s < n; s += 64) {
    const e = Math.min(n, s + 64);
    const out = (await session.run({ [session.inputNames[0]]: toOrt(rows(x, s, e)) }))[session.outputNames[0]];
    const logits = out.data as Float32Array;
    const targets = rows(y, s, e).data as BigInt64Array;
    const v = logits.length / targets.length;
    for (let p = 0; p < targets.length; p++) {
      const z = logits.subarray(p * v, (p + 1) * v);
      let m = -Infinity;
      for (const a of z) m = Math.max(m, a);
      let sum = 0;
      for (const a of z) sum += Math.exp(a - m);
      nats += m + Math.log(sum) - z[Number(targets[p])];
      count++;
    }
  }
  return nats / count / Math.LN2;
}

/** A batch of `batch` windows (the test windows repeated as needed). */
function batchOf(x: NDArray, batch: number): ort.Tensor {
  const t = x.shape[1];
  const src = x.data as BigInt64Array;
  const data = new BigInt64Array(batch * t);
  for (let i = 0; i < batch; i++) data.set(src.subarray((i % x.shape[0]) * t, ((i % x.shape[0]) + 1) * t), i * t);
  return toOrt({ dtype: 'int64', shape: [batch, t], data } as NDArray);
}

async function main(): Promise<void> {
  const run = process.argv[2];
  if (!run || run.startsWith('--')) throw new Error('usage: compress-lm <run-dir> [--threads N] [--rounds R]');
  const threads = arg('--threads', 1);
  const rounds = arg('--rounds', 3);
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as {
    data: { text: Parameters<typeof loadTextWindows>[0] };
  };
  const { test } = loadTextWindows(config.data.text);
  const floatModel = decodeModel(readFileSync(join(run, 'model.onnx')));
  const q = await quantizeDynamic(floatModel);
  const models = { fp32: encodeModel(q.float), int8: encodeModel(q.model) };
  const session = { threads };
  const fp32 = await createSession(models.fp32, session);
  const int8 = await createSession(models.int8, session);
  const bpc = {
    fp32: await bitsPerToken(fp32, test.x, test.y as NDArray),
    int8: await bitsPerToken(int8, test.x, test.y as NDArray),
  };
  const latency: Record<string, { fp32_ms: number; int8_ms: number; speedup: number }> = {};
  for (const batch of [1, 64]) {
    const feeds = (s: ort.InferenceSession) => ({ [s.inputNames[0]]: batchOf(test.x, batch) });
    let best = { fp32: Infinity, int8: Infinity };
    for (let r = 0; r < rounds; r++) {
      best = {
        fp32: Math.min(best.fp32, await timeSession(fp32, feeds(fp32))),
        int8: Math.min(best.int8, await timeSession(int8, feeds(int8))),
      };
    }
    latency[`b${batch}`] = { fp32_ms: best.fp32, int8_ms: best.int8, speedup: best.fp32 / best.int8 };
  }
  await fp32.release();
  await int8.release();
  const kernels = await optimizedKernels(models.int8);
  console.log(
    JSON.stringify(
      {
        run,
        test_windows: test.x.shape[0],
        test_tokens: test.x.shape[0] * test.x.shape[1],
        quantized_nodes: q.nodes.length,
        skipped: Object.fromEntries(q.skipped),
        int8_kernels: kernels,
        size_bytes: { fp32: models.fp32.length, int8: models.int8.length },
        bpc_fp32: bpc.fp32,
        bpc_int8: bpc.int8,
        bpc_change: bpc.int8 - bpc.fp32,
        threads,
        latency,
      },
      null,
      1,
    ),
  );
}

await main();
