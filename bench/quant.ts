// `npm run bench -- quant [--json] [resnet|cnn ...] [--calibration minmax|percentile|entropy]`: int8 static
// quantization of models trained on full Fashion-MNIST, against PyTorch's own eager-mode static quantization of the
// same trained weights (bench/peers/torch_quant.py), in the same run. Ours: `quantizeStatic` (per-channel int8
// weights, uint8 activations, calibrated on 512 training images), scored on the 10,000 test images, timed in ORT at
// the fastest of 1 thread and 2 threads spinning or not, fp32 alongside. The peer: the float model rebuilt in
// torch.nn from the same ONNX weights (BatchNorm folded), prepare → calibrate on the same 512 images → convert,
// engine onednn (x86, per-channel weights; LATHE_QUANT_PEER_ENGINES=onednn,qnnpack adds ARM's qnnpack, per-tensor),
// 1 and 2 threads, NCHW and channels_last, the fastest kept. Debian's torch 1.13 has no fbgemm engine
// (supported_engines: qnnpack, onednn): onednn is its x86 int8 backend, and the peer is named by the engine it ran.
// Models: runs/fashion-resnet/model.onnx and runs/fashion-cnn/model.onnx (train them with `lathe train
// examples/fashion-resnet.yaml` / `examples/fashion-cnn.yaml`), or LATHE_QUANT_RESNET / LATHE_QUANT_CNN.
// Prints per workload and batch:
// {"workload":"resnet-int8-b1","samples_per_s":..,"peer":"pytorch-onednn","peer_samples_per_s":..,"ratio":..,"accuracy_drop":..}
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  accuracyOf,
  batchFeeds,
  loadCompressData,
  parseCompressConfig,
  quantizeStatic,
  timeSession,
  type CalibrationMethod,
} from '../src/compress/index.js';
import type { NDArray } from '../src/graph/ndarray.js';
import { tensorToTypedArray } from '../src/onnx/decode.js';
import { encodeModel } from '../src/onnx/encode.js';
import { loadModelFile } from '../src/onnx/external-data.js';
import type { ModelProto, NodeProto } from '../src/onnx/proto.js';
import { toOrt } from '../src/runtime/convert.js';
import { createSession } from '../src/runtime/session.js';
import { packageRoot } from '../src/util/package-root.js';
import { report, torchAvailable } from './_peer.js';

const WORKLOADS = [
  {
    name: 'resnet',
    env: 'LATHE_QUANT_RESNET',
    path: 'runs/fashion-resnet/model.onnx',
    config: 'examples/fashion-resnet.yaml',
  },
  { name: 'cnn', env: 'LATHE_QUANT_CNN', path: 'runs/fashion-cnn/model.onnx', config: 'examples/fashion-cnn.yaml' },
] as const;
const BATCHES = [1, 64];

// LATHE_QUANT_THREADS=1 (or 2) measures both sides at that thread count only: on a machine whose cores are shared
// with other jobs, the fastest-of-settings of one side and the other can land on different thread counts
const THREADS = process.env.LATHE_QUANT_THREADS ? [Number(process.env.LATHE_QUANT_THREADS)] : [1, 2];
const SETTINGS = [
  { threads: 1, spinning: true, label: '1 thread' },
  { threads: 2, spinning: true, label: '2 threads, spinning' },
  { threads: 2, spinning: false, label: '2 threads, not spinning' },
].filter((s) => THREADS.includes(s.threads));

/** ms per batch at the fastest thread setting. */
async function fastest(bytes: Uint8Array, x: NDArray, batch: number): Promise<{ ms: number; label: string }> {
  const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const feed = toOrt({
    dtype: 'float32',
    shape: [batch, ...x.shape.slice(1)],
    data: (x.data as Float32Array).slice(0, batch * row),
  } as NDArray);
  let best = { ms: Infinity, label: '' };
  for (const s of SETTINGS) {
    const session = await createSession(bytes, { threads: s.threads, spinning: s.spinning });
    const ms = await timeSession(session, { [session.inputNames[0]]: feed }, 5);
    await session.release();
    if (ms < best.ms) best = { ms, label: s.label };
  }
  return best;
}

/** The float graph as the peer's node list (ReLUs fused into the conv/linear/add before them) + weights + data. */
function writePeerInputs(dir: string, m: ModelProto, calib: NDArray, test: { x: NDArray; y: NDArray }): void {
  const g = m.graph;
  const inits = new Map(g.initializer.map((t) => [t.name!, t]));
  const consumers = new Map<string, NodeProto[]>();
  for (const n of g.node) for (const i of n.input) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const chunks: Float32Array[] = [];
  let offset = 0;
  const weight = (name: string): [number, readonly number[]] => {
    const t = inits.get(name)!;
    const a = tensorToTypedArray(t) as Float32Array;
    chunks.push(a);
    offset += a.length;
    return [offset - a.length, t.dims];
  };
  const ints = (n: NodeProto, k: string, d: number[]): number[] =>
    (n.attribute.find((a) => a.name === k)?.ints ?? d).map(Number);
  const fusedRelu = new Set<NodeProto>();
  const nodes: Record<string, unknown>[] = [];
  for (const n of g.node) {
    if (fusedRelu.has(n)) continue;
    const next = consumers.get(n.output[0]);
    const relu =
      ['Conv', 'Gemm', 'Add'].includes(n.opType) && next?.length === 1 && next[0].opType === 'Relu'
        ? next[0]
        : undefined;
    if (relu) fusedRelu.add(relu);
    const base = {
      op: n.opType === 'Reshape' ? 'Flatten' : n.opType,
      inputs: n.input.filter((i) => !inits.has(i) || n.opType === 'Add'),
      output: relu ? relu.output[0] : n.output[0],
      relu: !!relu,
    };
    if (n.opType === 'Conv')
      nodes.push({
        ...base,
        weight: weight(n.input[1]),
        ...(n.input[2] ? { bias: weight(n.input[2]) } : {}),
        strides: ints(n, 'strides', [1, 1]),
        pads: ints(n, 'pads', [0, 0, 0, 0]),
        group: Number(n.attribute.find((a) => a.name === 'group')?.i ?? 1),
      });
    else if (n.opType === 'Gemm')
      nodes.push({ ...base, weight: weight(n.input[1]), ...(n.input[2] ? { bias: weight(n.input[2]) } : {}) });
    else if (n.opType === 'MaxPool')
      nodes.push({
        ...base,
        kernel: ints(n, 'kernel_shape', []),
        strides: ints(n, 'strides', [1, 1]),
        pads: ints(n, 'pads', [0, 0, 0, 0]),
      });
    else nodes.push(base);
  }
  const data = [
    calib.data as Float32Array,
    test.x.data as Float32Array,
    Float32Array.from(test.y.data as BigInt64Array, Number),
  ];
  writeFileSync(
    join(dir, 'weights.bin'),
    Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))),
  );
  writeFileSync(
    join(dir, 'data.bin'),
    Buffer.concat(data.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))),
  );
  const n1 = calib.shape[0],
    n2 = test.x.shape[0],
    row = calib.shape.slice(1).reduce((a, b) => a * b, 1);
  writeFileSync(
    join(dir, 'spec.json'),
    JSON.stringify({
      nodes,
      input: g.input[0].name,
      output: g.output[0].name,
      shape: calib.shape.slice(1),
      calibration: [0, n1],
      test: [n1 * row, n2],
      labels: [(n1 + n2) * row],
    }),
  );
}

interface PeerRun {
  readonly engine: string;
  readonly threads: number;
  readonly fp32_accuracy: number | null;
  readonly int8_accuracy: number | null;
  readonly latency: Record<string, { samples_per_s: number; ms_per_batch: number; layout: string }>;
}

function peerRuns(dir: string, score: boolean): PeerRun[] {
  const script = join(packageRoot(), 'bench', 'peers', 'torch_quant.py');
  const out: PeerRun[] = [];
  for (const engine of (process.env.LATHE_QUANT_PEER_ENGINES ?? 'onednn').split(',')) {
    for (const [k, threads] of [...THREADS].reverse().entries()) {
      const r = spawnSync(
        '/usr/bin/python3',
        [script, dir, engine, String(threads), BATCHES.join(','), ...(k > 0 || !score ? ['noacc'] : [])],
        {
          encoding: 'utf8',
          env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
          timeout: 1_200_000,
        },
      );
      if (r.status !== 0)
        throw new Error(`PyTorch quantization peer failed (${engine}, ${threads} threads): ${r.stderr}`);
      out.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerRun);
    }
  }
  return out;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const method = (
    args.includes('--calibration') ? args[args.indexOf('--calibration') + 1] : 'minmax'
  ) as CalibrationMethod;
  const only = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--calibration');
  const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  const data = loadCompressData(
    parseCompressConfig({ data: { name: 'fashion-mnist' }, quantize: { calibration: { method } } }),
  );
  const test = { x: data.eval!.x, y: data.eval!.y!, source: 'fashion-mnist test split' };
  const withPeer = torchAvailable();
  for (const w of WORKLOADS.filter((x) => only.length === 0 || only.includes(x.name))) {
    const path = process.env[w.env] ?? join(packageRoot(), w.path);
    if (!existsSync(path)) {
      console.error(
        `quant: ${w.name}: no trained model at ${path}; train one with \`lathe train ${w.config}\` or set ${w.env}`,
      );
      continue;
    }
    const float = loadModelFile(path);
    const input = float.graph.input[0].name;
    const q = await quantizeStatic(float, batchFeeds({ [input]: data.calibration }, 64), { method });
    const fBytes = encodeModel(q.float),
      qBytes = encodeModel(q.model);
    const acc32 = await accuracyOf(fBytes, test),
      acc8 = await accuracyOf(qBytes, test);
    // LATHE_BENCH_ROUNDS=n alternates the two sides n times and keeps each side's best, so a burst of load on this
    // shared machine does not land on one side only (the peer scores accuracy in the first round only)
    const rounds = Number(process.env.LATHE_BENCH_ROUNDS ?? 1);
    const dir = mkdtempSync(join(tmpdir(), 'lathe-quant-peer-'));
    const peers: PeerRun[] = [];
    const oursBest = new Map<number, { int8: { ms: number; label: string }; fp32: { ms: number; label: string } }>();
    try {
      if (withPeer) writePeerInputs(dir, q.float, data.calibration, test);
      for (let k = 0; k < rounds; k++) {
        for (const batch of BATCHES) {
          const int8 = await fastest(qBytes, test.x, batch),
            fp32 = await fastest(fBytes, test.x, batch);
          const b = oursBest.get(batch);
          oursBest.set(batch, {
            int8: !b || int8.ms < b.int8.ms ? int8 : b.int8,
            fp32: !b || fp32.ms < b.fp32.ms ? fp32 : b.fp32,
          });
        }
        if (withPeer) peers.push(...peerRuns(dir, k === 0));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const batch of BATCHES) {
      const { int8: ours, fp32 } = oursBest.get(batch)!;
      const sps = batch / (ours.ms / 1000);
      const best = peers.reduce<PeerRun | undefined>(
        (b, p) => (!b || p.latency[batch].samples_per_s > b.latency[batch].samples_per_s ? p : b),
        undefined,
      );
      const scored = best ? peers.find((p) => p.engine === best.engine && p.fp32_accuracy !== null) : undefined;
      const line = {
        workload: `${w.name}-int8-b${batch}`,
        samples_per_s: r(sps),
        ms_per_batch: r(ours.ms, 4),
        threads: ours.label,
        fp32_samples_per_s: r(batch / (fp32.ms / 1000)),
        fp32_threads: fp32.label,
        speedup_vs_fp32: r(fp32.ms / ours.ms, 2),
        accuracy_fp32: acc32,
        accuracy_int8: acc8,
        accuracy_drop: r(100 * (acc32 - acc8), 2),
        calibration: method,
        peer: best ? `pytorch-${best.engine}` : 'pytorch (not installed)',
        peer_samples_per_s: best ? r(best.latency[batch].samples_per_s) : null,
        peer_threads: best?.threads ?? null,
        peer_layout: best?.latency[batch].layout ?? null,
        peer_accuracy_fp32: scored?.fp32_accuracy ?? null,
        peer_accuracy_int8: scored?.int8_accuracy ?? null,
        peer_accuracy_drop: scored ? r(100 * (scored.fp32_accuracy! - scored.int8_accuracy!), 2) : null,
        ratio: best ? r(sps / best.latency[batch].samples_per_s, 3) : null,
        rounds,
        cpu: cpus()[0]?.model,
        loadavg: loadavg().map((x) => r(x, 2)),
        date: new Date().toISOString(),
      };
      report(
        json,
        line,
        `${line.workload}: lathe int8 ${line.samples_per_s} samples/s (${line.speedup_vs_fp32}× its fp32), accuracy ${(100 * acc32).toFixed(2)} → ${(100 * acc8).toFixed(2)} %` +
          (best
            ? `; ${line.peer} ${line.peer_samples_per_s} samples/s, accuracy drop ${line.peer_accuracy_drop} points → ratio ${line.ratio}`
            : ''),
      );
    }
  }
  void ort;
}
