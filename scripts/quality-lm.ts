// `npm run quality -- gpt|lstm|gru|mamba|moe-gpt [--corpus kjv|licenses] [--steps N] [--eval-every N] [--patience K]
// [--threads N] [--no-peer] [--moe JSON] [--mlp-ratio R]`: character language models measured by a step budget, with a
// PyTorch 1.13 peer trained on the same batches from the same initial weights (bench/peers/torch_charlm.py).
// `mamba` (3 layers of width 136, 406,096 parameters against the GPT's 409,088) has no PyTorch peer here: it is
// compared with `gpt` on the same batches, at equal wall time through --steps (docs/models.md).
// `moe-gpt` is the GPT with a mixture of experts in every block (nn.MoE; default 8 experts, top-2, each expert half
// the dense MLP's width, so a token's active parameters equal the dense GPT's); `--moe '{"balanceWeight":0}'`
// overrides MoE options, `--mlp-ratio` the expert width. It has no peer (the PyTorch script is dense-only); its line
// adds the expert-load statistics (`moe`: load CV and dropped fraction during training, and the dropped fraction of
// the best weights on the validation split at capacity factors 1.0, 1.25 and 2).
//
// Method (docs/models.md records the figures):
//   corpus      scripts/lm-corpus.ts: the KJV Bible (default) or the Debian licence texts (the small CI case); 96
//               character ids; 90/5/5 train/validation/test by position; the sha256 of the text is printed.
//   batches     step s takes B = 32 windows of 65 characters (64 inputs, 64 next-character targets) starting at
//               offsets drawn uniformly from the training split by util/random.ts's Rng(seed 1), B per step in
//               order; the offsets are written to batches.i32 in the work dir and the peer reads that file.
//   init        the model is built by lathe (manualSeed(0)); its initial weights are written to init.safetensors
//               and the peer loads them, so both start from the same numbers.
//   training    Adam (β 0.9/0.999, ε 1e-8, no weight decay), global gradient-norm clip 1, lr: linear warm-up over
//               100 steps (--warmup N) then cosine to 0 at the last step (the per-step values are in spec.json), no dropout.
//   validation  every --eval-every steps (default steps/10), the whole validation split in non-overlapping windows
//               of 64 (next-character cross-entropy over every position, in bits); the best-validation weights are
//               kept (written as best.safetensors); --patience K stops after K validations without improvement.
//   test        the test split, scored once at the end with the best-validation weights: test bits/char.
//   time        wall seconds of the whole run, and train_s: the seconds inside the training steps only.
// Both sides run with the same thread count (--threads, default 2; PyTorch with OMP_WAIT_POLICY=PASSIVE). The work
// dir is runs/quality-lm/<corpus>-<model>/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ndarray, type NDArray } from '../src/graph/ndarray.js';
import { manualSeed, type Module } from '../src/nn/index.js';
import { writeSafetensors } from '../src/nn/safetensors.js';
import { adam, cosineWithWarmup } from '../src/optim/index.js';
import { Trainer } from '../src/train/trainer.js';
import { ArrayLoader, type Batch, type BatchLoader } from '../src/train/loader.js';
import type { Callback } from '../src/train/callbacks.js';
import { GPT, lmLoss } from '../src/models/transformer.js';
import type { MoEOptions } from '../src/nn/layers/moe.js';
import { CharRNN } from '../src/models/rnn.js';
import { Mamba } from '../src/models/mamba.js';
import { TextGenerator } from '../src/models/generate.js';
import { packageRoot } from '../src/util/package-root.js';
import { Rng } from '../src/util/random.js';
import {
  CORPORA,
  decode,
  encode,
  loadCorpus,
  splitCorpus,
  VOCAB,
  type CorpusName,
  type CorpusSplits,
} from './lm-corpus.js';

export type LmName = 'gpt' | 'lstm' | 'gru' | 'mamba' | 'moe-gpt';

/** The MoE options a `moe-gpt` run may override (`--moe JSON`). */
export type LmMoeOptions = Partial<Omit<MoEOptions, 'hidden' | 'bias'>>;

const CTX = 64;
const BATCH = 32;
const WARMUP = 100;
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;
const CLIP = 1;

/** The three configs (the peer builds the same from spec.json). */
export const LM_CONFIGS = {
  gpt: { vocab: VOCAB.length, context: CTX, dim: 128, layers: 2, heads: 4, positions: 'rope', lr: 2e-3 },
  lstm: { vocab: VOCAB.length, context: CTX, embed: 64, hidden: 256, lr: 3e-3 },
  gru: { vocab: VOCAB.length, context: CTX, embed: 64, hidden: 300, lr: 3e-3 },
  mamba: { vocab: VOCAB.length, context: CTX, dim: 136, layers: 3, state: 16, lr: 2e-3 },
  // the GPT's config with 8 experts of half the MLP width, 2 per token: the same active parameters per token
  'moe-gpt': {
    vocab: VOCAB.length,
    context: CTX,
    dim: 128,
    layers: 2,
    heads: 4,
    positions: 'rope',
    lr: 2e-3,
    mlpRatio: 2,
    moe: { experts: 8, topK: 2 },
  },
} as const;

/** A `moe-gpt` run's config: LM_CONFIGS['moe-gpt'] with `--moe` fields and `--mlp-ratio` applied. */
function moeGptConfig(moe: LmMoeOptions | undefined, mlpRatio: number | undefined) {
  const base = LM_CONFIGS['moe-gpt'];
  return { ...base, mlpRatio: mlpRatio ?? base.mlpRatio, moe: { ...base.moe, ...moe } };
}

export function makeLm(name: LmName, moe?: LmMoeOptions, mlpRatio?: number): Module {
  manualSeed(0);
  if (name === 'gpt') {
    const { lr: _lr, ...c } = LM_CONFIGS.gpt;
    return new GPT(c);
  }
  if (name === 'mamba') {
    const { lr: _lr, ...c } = LM_CONFIGS.mamba;
    return new Mamba(c);
  }
  if (name === 'moe-gpt') {
    const { lr: _lr, ...c } = moeGptConfig(moe, mlpRatio);
    return new GPT(c);
  }
  const { lr: _lr, ...c } = LM_CONFIGS[name];
  return new CharRNN({ cell: name, ...c });
}

/** Training-window offsets, `steps` × `batch`, uniform over [0, trainEnd − T − 1] from Rng(seed). */
export function batchOffsets(trainEnd: number, steps: number, batch = BATCH, seed = 1): Int32Array {
  const rng = new Rng(seed);
  const span = trainEnd - CTX;
  if (span < 1) throw new Error(`the training split (${trainEnd} characters) is shorter than one window of ${CTX + 1}`);
  const out = new Int32Array(steps * batch);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(span);
  return out;
}

function windowBatch(ids: Uint8Array, offsets: ArrayLike<number>): Batch {
  const n = offsets.length;
  const x = new BigInt64Array(n * CTX);
  const y = new BigInt64Array(n * CTX);
  for (let r = 0; r < n; r++) {
    const o = offsets[r];
    for (let t = 0; t < CTX; t++) {
      x[r * CTX + t] = BigInt(ids[o + t]);
      y[r * CTX + t] = BigInt(ids[o + t + 1]);
    }
  }
  return { x: ndarray('int64', [n, CTX], x), y: ndarray('int64', [n, CTX], y) };
}

/** Non-overlapping windows of [from, to) as arrays for an ArrayLoader. */
function heldOut(ids: Uint8Array, from: number, to: number): Record<string, NDArray> {
  const offsets: number[] = [];
  for (let o = from; o + CTX + 1 <= to; o += CTX) offsets.push(o);
  return windowBatch(ids, offsets);
}

/** The training batches of a step budget, cut into "epochs" of `every` steps (one validation after each). */
class StepBatches implements BatchLoader {
  readonly length: number;
  readonly size: number;
  lastYield = 0;
  constructor(
    readonly ids: Uint8Array,
    readonly offsets: Int32Array,
    readonly every: number,
  ) {
    this.length = every;
    this.size = every * BATCH;
  }
  async *iterate(epoch: number, fromBatch = 0): AsyncIterable<Batch> {
    const steps = this.offsets.length / BATCH;
    for (let s = epoch * this.every + fromBatch; s < Math.min(steps, (epoch + 1) * this.every); s++) {
      const b = windowBatch(this.ids, this.offsets.subarray(s * BATCH, (s + 1) * BATCH));
      this.lastYield = performance.now();
      yield b;
    }
  }
}

export interface LmRunOptions {
  readonly corpus: CorpusName;
  readonly steps: number;
  readonly evalEvery: number;
  readonly patience?: number;
  /** Warm-up steps of the learning rate (default 100; short budgets need fewer). */
  readonly warmup?: number;
  readonly threads: number;
  readonly peer: boolean;
  /** Where the files the peer reads go (default runs/quality-lm/<corpus>-<model>/). */
  readonly workDir?: string;
  /** `moe-gpt` only: MoE options over the default 8 experts, top-2. */
  readonly moe?: LmMoeOptions;
  /** `moe-gpt` only: the experts' width as a multiple of dim (default 2). */
  readonly mlpRatio?: number;
}

/** Expert-load statistics of a `moe-gpt` run (means over the layers, as the MoE metrics are). */
interface MoeStats {
  /** Coefficient of variation of the choices per expert, per training batch: mean over all steps and the last 10 %. */
  train_load_cv: number;
  train_load_cv_last10pct: number;
  /** Fraction of token choices dropped at the training capacity factor: the same two means. */
  train_dropped: number;
  train_dropped_last10pct: number;
  /** The best weights on the validation split: load CV and dropped fraction at each capacity factor ('1.00' …). */
  val_load_cv: number;
  val_dropped_at: Record<string, number>;
}

interface SideResult {
  best_val_bpc: number;
  best_step: number;
  test_bpc: number;
  steps_done: number;
  train_s: number;
  wall_s: number;
  curve: [number, number][];
  moe?: MoeStats;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const progress = (o: Record<string, unknown>): void => void process.stderr.write(JSON.stringify(o) + '\n');

async function runLathe(
  name: LmName,
  data: CorpusSplits,
  offsets: Int32Array,
  o: LmRunOptions,
  dir: string,
  model: Module,
): Promise<SideResult> {
  const t0 = performance.now();
  const steps = offsets.length / BATCH;
  const train = new StepBatches(data.ids, offsets, o.evalEvery);
  const val = new ArrayLoader(heldOut(data.ids, data.trainEnd, data.valEnd), { batchSize: 64 });
  let trainMs = 0;
  let best = { bpc: Infinity, step: 0, weights: {} as Record<string, NDArray> };
  const curve: [number, number][] = [];
  let bad = 0;
  const moeRows: [number, number][] = []; // per step: moe_load_cv, moe_dropped
  const keepBest: Callback = {
    name: 'best-validation',
    onBatchEnd(_t, logs) {
      trainMs += performance.now() - train.lastYield;
      const m = logs.metrics;
      if (m?.moe_load_cv !== undefined && m.moe_dropped !== undefined) moeRows.push([m.moe_load_cv, m.moe_dropped]);
    },
    onEpochEnd(t, logs) {
      const bpc = logs.metrics.val_loss / Math.LN2;
      curve.push([logs.step, r3(bpc)]);
      progress({
        side: 'lathe',
        model: name,
        step: logs.step,
        val_bpc: r3(bpc),
        train_loss: r3(logs.metrics.train_loss),
        ...(moeRows.length ? { moe_load_cv: r3(moeRows[moeRows.length - 1][0]) } : {}),
        elapsed_s: r1((performance.now() - t0) / 1000),
      });
      if (bpc < best.bpc) {
        t.syncModel();
        best = {
          bpc,
          step: logs.step,
          weights: Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.data])),
        };
        bad = 0;
      } else if (o.patience !== undefined && ++bad >= o.patience) t.shouldStop = true;
    },
  };
  const trainer = new Trainer({
    model,
    optimizer: adam(ADAM),
    lr: cosineWithWarmup(LM_CONFIGS[name].lr, steps, { warmup: o.warmup ?? WARMUP }),
    epochs: steps / o.evalEvery,
    seed: 1,
    clipGradNorm: CLIP,
    loss: (out, b) => lmLoss(out, b.y),
    session: { threads: o.threads, spinning: false },
    callbacks: [keepBest],
  });
  await trainer.fit(train, val);
  const stepsDone = trainer.globalStep;
  await trainer.release();
  for (const [k, p] of model.namedParameters()) p.data = best.weights[k];
  writeSafetensors(join(dir, 'best.safetensors'), best.weights, { step: String(best.step) });
  const scorer = new Trainer({
    model,
    optimizer: adam(),
    lr: 0,
    epochs: 1,
    loss: (out, b) => lmLoss(out, b.y),
    session: { threads: o.threads, spinning: false },
  });
  const test = await scorer.evaluate(
    new ArrayLoader(heldOut(data.ids, data.valEnd, data.ids.length), { batchSize: 64 }),
  );
  await scorer.release();
  const trainS = r1(trainMs / 1000);
  const moe = moeRows.length ? await moeStats(moeRows, best.weights, data, o) : undefined;
  return {
    best_val_bpc: r3(best.bpc),
    best_step: best.step,
    test_bpc: r3(test.loss / Math.LN2),
    steps_done: stepsDone,
    train_s: trainS,
    wall_s: r1((performance.now() - t0) / 1000),
    curve,
    ...(moe ? { moe } : {}),
  };
}

const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The training statistics of a `moe-gpt` run, and the best weights scored on the validation split at evaluation
 * capacity factors 1.0, 1.25 and 2 (a model rebuilt with that `evalCapacityFactor`, the weights copied in).
 */
async function moeStats(
  rows: [number, number][],
  weights: Record<string, NDArray>,
  data: CorpusSplits,
  o: LmRunOptions,
): Promise<MoeStats> {
  const tail = rows.slice(rows.length - Math.max(1, Math.round(rows.length / 10)));
  const val = heldOut(data.ids, data.trainEnd, data.valEnd);
  const droppedAt: Record<string, number> = {};
  let valCv = NaN;
  for (const factor of [1, 1.25, 2]) {
    const m = makeLm('moe-gpt', { ...o.moe, evalCapacityFactor: factor }, o.mlpRatio);
    for (const [k, p] of m.namedParameters()) p.data = weights[k];
    const scorer = new Trainer({
      model: m,
      optimizer: adam(),
      lr: 0,
      epochs: 1,
      loss: (out, b) => lmLoss(out, b.y),
      session: { threads: o.threads, spinning: false },
    });
    const r = await scorer.evaluate(new ArrayLoader(val, { batchSize: 64 }));
    await scorer.release();
    droppedAt[factor.toFixed(2)] = r3(r.metrics?.moe_dropped ?? NaN);
    valCv = r.metrics?.moe_load_cv ?? NaN;
  }
  return {
    train_load_cv: r3(meanOf(rows.map((r) => r[0]))),
    train_load_cv_last10pct: r3(meanOf(tail.map((r) => r[0]))),
    train_dropped: r3(meanOf(rows.map((r) => r[1]))),
    train_dropped_last10pct: r3(meanOf(tail.map((r) => r[1]))),
    val_load_cv: r3(valCv),
    val_dropped_at: droppedAt,
  };
}

function runPeer(dir: string): SideResult {
  const script = join(packageRoot(), 'bench', 'peers', 'torch_charlm.py');
  const r = spawnSync('/usr/bin/python3', [script, dir], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`PyTorch peer failed (exit ${r.status}): ${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SideResult;
}

/** Parameters a token passes through: each MoE layer's experts count k/E of their size (the router in full). */
function activeParams(model: Module, experts: number, topK: number): number {
  let n = 0;
  for (const [k, p] of model.namedParameters()) {
    const size = p.data.shape.reduce((x, y) => x * y, 1);
    n += /\.moe\.(w1|w2|b1|b2)$/.test(k) ? (size * topK) / experts : size;
  }
  return n;
}

export const torchInstalled = (): boolean =>
  spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

export async function charLm(name: LmName, o: LmRunOptions): Promise<Record<string, unknown>> {
  if (!CORPORA.includes(o.corpus)) throw new Error(`--corpus: one of ${CORPORA.join(', ')}, got ${o.corpus}`);
  if (
    !(
      Number.isInteger(o.steps) &&
      o.steps > 0 &&
      Number.isInteger(o.evalEvery) &&
      o.evalEvery > 0 &&
      o.steps % o.evalEvery === 0
    )
  ) {
    throw new Error(`--steps (${o.steps}) must be a positive multiple of --eval-every (${o.evalEvery})`);
  }
  const corpus = loadCorpus(o.corpus);
  const data = splitCorpus(encode(corpus.text));
  const offsets = batchOffsets(data.trainEnd, o.steps);
  const dir = o.workDir ?? join(packageRoot(), 'runs', 'quality-lm', `${o.corpus}-${name}`);
  mkdirSync(dir, { recursive: true });
  if (name !== 'moe-gpt' && (o.moe !== undefined || o.mlpRatio !== undefined))
    throw new Error(`--moe and --mlp-ratio apply to moe-gpt only, not ${name}`);
  const model = makeLm(name, o.moe, o.mlpRatio);
  const moeConfig = name === 'moe-gpt' ? moeGptConfig(o.moe, o.mlpRatio) : undefined;
  const config = moeConfig ?? LM_CONFIGS[name];
  // what the peer reads: the corpus ids, the batch offsets, lathe's initial weights and the schedule
  writeFileSync(join(dir, 'ids.u8'), data.ids);
  writeFileSync(join(dir, 'batches.i32'), new Uint8Array(offsets.buffer));
  writeSafetensors(
    join(dir, 'init.safetensors'),
    Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.data])),
  );
  const schedule = cosineWithWarmup(LM_CONFIGS[name].lr, o.steps, { warmup: o.warmup ?? WARMUP });
  const spec = {
    model: name,
    config,
    batch: BATCH,
    context: CTX,
    steps: o.steps,
    eval_every: o.evalEvery,
    patience: o.patience ?? null,
    train_end: data.trainEnd,
    val_end: data.valEnd,
    adam: ADAM,
    clip: CLIP,
    threads: o.threads,
    lrs: Array.from({ length: o.steps }, (_, s) => schedule.lr(s)),
  };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const params = model.parameterCount();
  const lathe = await runLathe(name, data, offsets, o, dir, model);
  const line: Record<string, unknown> = {
    quality: `${name}-charlm`,
    corpus: o.corpus,
    source: corpus.source,
    sha256: corpus.sha256,
    chars: data.ids.length,
    split: { train: data.trainEnd, val: data.valEnd - data.trainEnd, test: data.ids.length - data.valEnd },
    params,
    ...(moeConfig
      ? {
          active_params_per_token: activeParams(model, moeConfig.moe.experts, moeConfig.moe.topK),
          config: moeConfig,
        }
      : {}),
    steps: o.steps,
    batch: BATCH,
    context: CTX,
    eval_every: o.evalEvery,
    patience: o.patience ?? null,
    threads: o.threads,
    lathe,
  };
  if (model instanceof GPT || model instanceof Mamba) {
    const gen = new TextGenerator(model);
    const prompt = Array.from(encode(o.corpus === 'kjv' ? 'And God said' : 'This License '));
    line.sample_t08_topk20 =
      decode(prompt) + decode(await gen.generate(prompt, { maxNewTokens: 48, temperature: 0.8, topK: 20, seed: 3 }));
  }
  if (
    o.peer &&
    name !== 'mamba' &&
    name !== 'moe-gpt' &&
    torchInstalled() &&
    existsSync(join(packageRoot(), 'bench', 'peers', 'torch_charlm.py'))
  ) {
    const pytorch = runPeer(dir);
    line.pytorch = pytorch;
    line.test_bpc_diff = r3(lathe.test_bpc - pytorch.test_bpc);
    process.stderr.write(
      `${name} (${o.corpus}, ${o.steps} steps): test bpc lathe ${lathe.test_bpc} | PyTorch ${pytorch.test_bpc} | wall lathe ${lathe.wall_s} s | PyTorch ${pytorch.wall_s} s\n`,
    );
  }
  return line;
}
