// `npm run bench -- infer [--json] [--batches 1,64] [--variants] [mlp|cnn|resnet|mobilenetv2|gpt|char-rnn ...]`:
// inference of exported zoo models in bare ORT vs the same architectures in PyTorch (bench/peers/torch_infer.py), in
// the same run, at batch 1, 8, 64 and 256.
// Ours: the model exported by `exportModule` (what `lathe export` and training write), one InferenceSession, timed
// with the fastest of 1 intra-op thread and 2 threads spinning or not (as bench/_threading.ts does for training
// steps); at that setting also the same module exported without the inference rewrites (`inference: false`: the
// forward as the training graph traces it, BatchNorm unfolded), to show what inference would pay for it. The peer:
// plain torch.nn in eval mode, best of 1 and 2 threads (OMP_WAIT_POLICY=PASSIVE), NCHW and channels_last, eager
// torch.inference_mode and TorchScript (traced, frozen, optimize_for_inference). LATHE_BENCH_ROUNDS=n alternates the
// two sides n times and keeps each side's best. --variants also times ORT session variants (no NCHWc layout, the
// thread pool's dynamic block base) at our best thread setting. Prints one line per workload and batch:
// {"workload":"cnn-infer-b64","samples_per_s":..,"ms_per_batch":..,"peer":"pytorch","peer_samples_per_s":..,"ratio":..}
// The zoo models without a PyTorch peer here (generative, graph, NeRF, seq2seq, classifiers over sequences) are listed
// on stderr and not timed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { getModel, modelNames } from '../src/models/index.js';
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

const BATCHES = [1, 8, 64, 256] as const;

const WORKLOADS: readonly InferWorkload[] = [
  { name: 'mlp', batches: BATCHES, model: zoo('mlp'), input: { dtype: 'float32', shape: [784] } },
  // the quickstart CNN (src/train/quickstart.ts)
  {
    name: 'cnn',
    batches: BATCHES,
    model: zoo('cnn', { widths: [32, 64], hidden: 128 }),
    input: { dtype: 'float32', shape: [1, 28, 28] },
  },
  { name: 'resnet', batches: BATCHES, model: zoo('resnet'), input: { dtype: 'float32', shape: [1, 28, 28] } },
  { name: 'mobilenetv2', batches: BATCHES, model: zoo('mobilenetv2'), input: { dtype: 'float32', shape: [1, 28, 28] } },
  // the GPT of the training benchmark (bench/gpt.ts): logits of all 64 positions
  {
    name: 'gpt',
    batches: BATCHES,
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
  // the LSTM of the training benchmark (bench/lstm.ts): logits of all 64 positions
  { name: 'char-rnn', batches: BATCHES, model: zoo('char-rnn'), input: { dtype: 'int64', shape: [64] } },
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

/** Median ms per run over `reps` repetitions of enough runs for ~0.3 s each (at least 2), after warm-up. */
async function timeRuns(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  reps: number,
): Promise<number> {
  await session.run(feeds);
  const t0 = performance.now();
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const per = (performance.now() - t0) / 2;
  const runs = Math.max(2, Math.round(300 / Math.max(per, 1e-3)));
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

type Setting = { readonly threads: number; readonly spinning: boolean; readonly label: string };

/** ORT session variants that --variants times against the default at our best thread setting. */
const VARIANTS: readonly { readonly name: string; readonly options: ort.InferenceSession.SessionOptions }[] = [
  // 'extended' stops before ORT's layout transforms: plain NCHW Conv (im2col + MLAS GEMM) instead of NCHWc kernels
  { name: 'no-nchwc', options: { graphOptimizationLevel: 'extended' } },
  // the intra-op pool hands out work in shrinking blocks instead of one block per thread
  { name: 'dynamic-block-base-4', options: { extra: { session: { dynamic_block_base: '4' } } } },
  { name: 'dynamic-block-base-1', options: { extra: { session: { dynamic_block_base: '1' } } } },
];

/** Session options for a thread setting, with `more` merged in (its `extra` entries joined to ours). */
function optionsFor(s: Setting, more: ort.InferenceSession.SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const base = sessionOptions({ threads: s.threads, spinning: s.spinning });
  const session = (o: ort.InferenceSession.SessionOptions) => (o.extra?.session ?? {}) as Record<string, unknown>;
  const extra = { session: { ...session(base), ...session(more) } };
  return { ...base, ...more, extra };
}

/** ms per batch of `bytes` at one setting. */
async function timeAt(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  reps: number,
  options: ort.InferenceSession.SessionOptions,
): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, options);
  const ms = await timeRuns(session, feeds, reps);
  await session.release();
  return ms;
}

/** Our ms per batch at the fastest thread setting (LATHE_THREADS fixes the count instead), and that setting. */
async function ours(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  reps: number,
): Promise<{ ms: number; setting: Setting }> {
  const fixed: readonly Setting[] = process.env.LATHE_THREADS
    ? [
        {
          threads: Number(process.env.LATHE_THREADS),
          spinning: process.env.LATHE_SPINNING !== '0',
          label: `${process.env.LATHE_THREADS} thread(s) (LATHE_THREADS)`,
        },
      ]
    : SETTINGS;
  let best: { session: ort.InferenceSession; setting: Setting; ms: number } | undefined;
  for (const s of fixed) {
    const session = await ort.InferenceSession.create(bytes, optionsFor(s));
    const ms = await timeRuns(session, feeds, 2);
    if (!best || ms < best.ms) {
      await best?.session.release();
      best = { session, setting: s, ms };
    } else await session.release();
  }
  const ms = await timeRuns(best!.session, feeds, reps);
  await best!.session.release();
  return { ms, setting: best!.setting };
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
  const variants = args.includes('--variants');
  const bAt = args.indexOf('--batches');
  const batches = bAt >= 0 ? (args[bAt + 1] ?? '').split(',').map(Number) : undefined;
  if (batches && (batches.length === 0 || batches.some((b) => !Number.isInteger(b) || b < 1)))
    throw new Error(`infer: --batches wants positive integers separated by commas, got "${args[bAt + 1] ?? ''}"`);
  const only = args.filter((a, i) => !a.startsWith('--') && !(bAt >= 0 && i === bAt + 1));
  const unknown = only.filter((a) => !WORKLOADS.some((w) => w.name === a));
  if (unknown.length)
    throw new Error(
      `infer: unknown workload(s) ${unknown.join(', ')} (known: ${WORKLOADS.map((w) => w.name).join(', ')})`,
    );
  const uncovered = modelNames().filter((n) => !WORKLOADS.some((w) => w.name === n));
  console.error(`infer: zoo models without a PyTorch peer here, not timed: ${uncovered.join(', ')}`);
  const reps = 5;
  const rounds = Number(process.env.LATHE_BENCH_ROUNDS ?? 1);
  const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  for (const w of WORKLOADS.filter((x) => only.length === 0 || only.includes(x.name))) {
    const inputs = [{ dtype: w.input.dtype, shape: ['batch', ...w.input.shape] }];
    const bytes = exportModule(w.model(), inputs);
    const unrewritten = exportModule(w.model(), inputs, { inference: false });
    for (const batch of batches ?? w.batches) {
      const workload = `${w.name}-infer-b${batch}`;
      const feeds = { input: feed(w, batch) };
      // alternate the two sides `rounds` times and keep each side's best, so a burst of load on this shared machine
      // does not land on one side only
      let best: { ms: number; setting: Setting } | undefined;
      let p: InferPeer | null = null;
      for (let k = 0; k < rounds; k++) {
        const o = await ours(bytes, feeds, reps);
        if (!best || o.ms < best.ms) best = o;
        const q = peer(w.name, batch, reps);
        if (q && (!p || q.samples_per_s > p.samples_per_s)) p = q;
      }
      const { ms, setting } = best!;
      const label = setting.label;
      // the forward without the inference rewrites, at the same setting, right after
      const msRaw = await timeAt(unrewritten, feeds, reps, optionsFor(setting));
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
          unrewritten_samples_per_s: r(batch / (msRaw / 1000)),
          rewrite_gain: r(msRaw / ms, 3),
        },
        `${workload}: lathe ${r(sps)} samples/s (${r(ms, 4)} ms/batch, ${label})` +
          (p
            ? `, PyTorch ${r(p.samples_per_s)} samples/s (${p.threads} thread(s), ${p.layout}, ${p.mode}) → ratio ${r(ratio!, 3)}`
            : ', PyTorch not installed (ratio null)') +
          `; without the inference rewrites ${r(batch / (msRaw / 1000))} samples/s (lean export ${r(msRaw / ms, 3)}×)`,
      );
      if (variants)
        for (const v of VARIANTS) {
          // default and variant back to back, so both see the same load
          const a = await timeAt(bytes, feeds, reps, optionsFor(setting));
          const b = await timeAt(bytes, feeds, reps, optionsFor(setting, v.options));
          report(
            json,
            {
              workload,
              variant: v.name,
              threads: label,
              ms_per_batch: r(b, 4),
              default_ms_per_batch: r(a, 4),
              speedup: r(a / b, 3),
            },
            `${workload} ${v.name} (${label}): ${r(b, 4)} ms/batch against ${r(a, 4)} by default (${r(a / b, 3)}×)`,
          );
        }
    }
  }
}
