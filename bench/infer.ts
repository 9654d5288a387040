// `npm run bench -- infer [--json] [cnn|resnet|mobilenetv2|gpt ...]`: inference of exported models in bare ORT vs the
// same architectures in PyTorch eager (bench/peers/torch_infer.py), in the same run, at two batch sizes each.
// Ours: the model exported by `exportModule` (what `lathe export` and training write), one InferenceSession, timed
// with the fastest of 1 intra-op thread and 2 threads spinning or not (as bench/_threading.ts does for training
// steps). The peer: plain torch.nn in eval mode, best of 1 and 2 threads (OMP_WAIT_POLICY=PASSIVE), NCHW and
// channels_last, torch.no_grad and torch.inference_mode. LATHE_BENCH_ROUNDS=n alternates the two sides n times and
// keeps each side's best. Prints one line per workload and batch:
// {"workload":"cnn-infer-b64","samples_per_s":..,"ms_per_batch":..,"peer":"pytorch","peer_samples_per_s":..,"ratio":..}
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { getModel } from '../src/models/index.js';
import { GPT } from '../src/models/transformer.js';
import { exportModule, manualSeed, type Module } from '../src/nn/index.js';
import { sessionOptions } from '../src/runtime/device.js';
import { packageRoot } from '../src/util/package-root.js';
import { median, report, torchAvailable } from './_peer.js';

interface InferWorkload {
  /** Name in the report (`<name>-infer-b<batch>`) and the peer's workload. */
  readonly name: string;
  readonly batches: readonly number[];
  readonly model: () => Module;
  /** Input shape without the batch dim, and its dtype. */
  readonly input: { readonly dtype: 'float32' | 'int64'; readonly shape: readonly number[] };
}

const zoo =
  (name: string, options: Record<string, unknown> = {}) =>
  (): Module => {
    manualSeed(0);
    const e = getModel(name);
    return e.create(e.options.parse(options));
  };

const WORKLOADS: readonly InferWorkload[] = [
  // the quickstart CNN (src/train/quickstart.ts)
  {
    name: 'cnn',
    batches: [64, 1],
    model: zoo('cnn', { widths: [32, 64], hidden: 128 }),
    input: { dtype: 'float32', shape: [1, 28, 28] },
  },
  { name: 'resnet', batches: [16, 1], model: zoo('resnet'), input: { dtype: 'float32', shape: [1, 28, 28] } },
  { name: 'mobilenetv2', batches: [16, 1], model: zoo('mobilenetv2'), input: { dtype: 'float32', shape: [1, 28, 28] } },
  // the GPT of the training benchmark (bench/gpt.ts): logits of all 64 positions
  {
    name: 'gpt',
    batches: [32, 1],
    input: { dtype: 'int64', shape: [64] },
    model: () => {
      manualSeed(0);
      return new GPT({
        vocab: 96,
        context: 64,
        dim: 128,
        heads: 4,
        layers: 2,
        mlpRatio: 4,
        positions: 'learned',
        tied: true,
      });
    },
  },
];

function feed(w: InferWorkload, batch: number): ort.Tensor {
  const shape = [batch, ...w.input.shape];
  const n = shape.reduce((a, b) => a * b, 1);
  let s = 4242;
  const r = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  return w.input.dtype === 'int64'
    ? new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 96))),
        shape,
      )
    : new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, () => r() * 2 - 1),
        shape,
      );
}

/** Median ms per run over `reps` repetitions of enough runs for ~0.3 s each, after warm-up. */
async function timeRuns(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  reps: number,
): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const per = (performance.now() - t0) / 5;
  const runs = Math.max(3, Math.round(300 / Math.max(per, 1e-3)));
  const times: number[] = [];
  for (let k = 0; k < reps; k++) {
    const s = performance.now();
    for (let i = 0; i < runs; i++) await session.run(feeds);
    times.push((performance.now() - s) / runs);
  }
  return median(times);
}

const SETTINGS = [
  { threads: 1, spinning: true, label: '1 thread' },
  { threads: 2, spinning: true, label: '2 threads, spinning' },
  { threads: 2, spinning: false, label: '2 threads, not spinning' },
] as const;

/** Our ms per batch at the fastest thread setting (LATHE_THREADS fixes the count instead). */
async function ours(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  reps: number,
): Promise<{ ms: number; label: string }> {
  const fixed = process.env.LATHE_THREADS
    ? [
        {
          threads: Number(process.env.LATHE_THREADS),
          spinning: process.env.LATHE_SPINNING !== '0',
          label: `${process.env.LATHE_THREADS} thread(s) (LATHE_THREADS)`,
        },
      ]
    : SETTINGS;
  let best: { session: ort.InferenceSession; label: string; ms: number } | undefined;
  for (const s of fixed) {
    const session = await ort.InferenceSession.create(
      bytes,
      sessionOptions({ threads: s.threads, spinning: s.spinning }),
    );
    const ms = await timeRuns(session, feeds, 2);
    if (!best || ms < best.ms) {
      await best?.session.release();
      best = { session, label: s.label, ms };
    } else await session.release();
  }
  const ms = await timeRuns(best!.session, feeds, reps);
  await best!.session.release();
  return { ms, label: best!.label };
}

interface InferPeer {
  readonly samples_per_s: number;
  readonly ms_per_step: number;
  readonly threads: number;
  readonly layout: string;
  readonly mode: string;
}

function peer(workload: string, batch: number, reps: number): InferPeer | null {
  if (!torchAvailable()) return null;
  const script = join(packageRoot(), 'bench', 'peers', 'torch_infer.py');
  let best: InferPeer | null = null;
  for (const threads of [1, 2]) {
    const r = spawnSync('/usr/bin/python3', [script, workload, String(batch), String(threads), String(reps)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`PyTorch peer failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as InferPeer;
    if (!best || res.samples_per_s > best.samples_per_s) best = res;
  }
  return best;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const only = args.filter((a) => !a.startsWith('--'));
  const unknown = only.filter((a) => !WORKLOADS.some((w) => w.name === a));
  if (unknown.length)
    throw new Error(
      `infer: unknown workload(s) ${unknown.join(', ')} (known: ${WORKLOADS.map((w) => w.name).join(', ')})`,
    );
  const reps = 5;
  const rounds = Number(process.env.LATHE_BENCH_ROUNDS ?? 1);
  const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  for (const w of WORKLOADS.filter((x) => only.length === 0 || only.includes(x.name))) {
    const bytes = exportModule(w.model(), [{ dtype: w.input.dtype, shape: ['batch', ...w.input.shape] }]);
    for (const batch of w.batches) {
      const workload = `${w.name}-infer-b${batch}`;
      // alternate the two sides `rounds` times and keep each side's best, so a burst of load on this shared machine
      // does not land on one side only
      let best: { ms: number; label: string } | undefined;
      let p: InferPeer | null = null;
      for (let k = 0; k < rounds; k++) {
        const o = await ours(bytes, { input: feed(w, batch) }, reps);
        if (!best || o.ms < best.ms) best = o;
        const q = peer(w.name, batch, reps);
        if (q && (!p || q.samples_per_s > p.samples_per_s)) p = q;
      }
      const { ms, label } = best!;
      console.error(`${workload}: lathe timed with ${label}`);
      const sps = batch / (ms / 1000);
      const ratio = p ? sps / p.samples_per_s : null;
      report(
        json,
        {
          workload,
          samples_per_s: r(sps),
          ms_per_batch: r(ms, 4),
          threads: label,
          peer: 'pytorch',
          peer_samples_per_s: p ? r(p.samples_per_s) : null,
          peer_threads: p?.threads ?? null,
          peer_layout: p?.layout ?? null,
          peer_mode: p?.mode ?? null,
          ratio: ratio === null ? null : r(ratio, 3),
        },
        `${workload}: lathe ${r(sps)} samples/s (${r(ms, 4)} ms/batch, ${label})` +
          (p
            ? `, PyTorch ${r(p.samples_per_s)} samples/s (${p.threads} thread(s), ${p.layout}, ${p.mode}) → ratio ${r(ratio!, 3)}`
            : ', PyTorch not installed (ratio null)'),
      );
    }
  }
}
