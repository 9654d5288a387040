// design(requirements): from a task, its input and data size and the budgets (latency at a batch size, parameters
// or memory, training time, platform) to ranked zoo candidates with concrete sizes. For each: parameters and FLOPs
// counted from the traced graph, inference latency measured with ORT here (or estimated for another platform, said
// so), expected quality from the project's recorded quality runs (advise/quality.ts) where the task matches, a
// training-time estimate from measured steps, reasons for and against, and a ready-to-run training config.
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import type { NDArray } from '../graph/ndarray.js';
import { crossEntropy } from '../nn/losses.js';
import { manualSeed, type Module } from '../nn/module.js';
import { exportModule } from '../nn/export.js';
import { getModel, modelInputs } from '../models/index.js';
import { summarize } from '../models/summary.js';
import { lmLoss } from '../models/transformer.js';
import { adamw } from '../optim/adam.js';
import { UserError } from '../util/errors.js';
import { writeAtomicFile } from '../util/write-atomic.js';
import { CHAR_LM_RECIPE, QUALITY, type QualityRecord } from './quality.js';
import { createStep } from './step.js';
import { medianMs } from './timing.js';
import { scaleToEpochs } from './learning-curve.js';
import { onnxLatencyMs, syntheticBatch } from './latency.js';

/** The tasks {@link design} knows, one per family of zoo models it can propose. */
export const TASKS = [
  'image-classification',
  'text-classification',
  'sequence-classification',
  'tabular-classification',
  'graph-classification',
  'regression',
  'language-modelling',
  'generation',
] as const;
/** One of {@link TASKS}. */
export type Task = (typeof TASKS)[number];
/** The deployment targets {@link design} estimates latency and memory for; the default is `server-cpu`. */
export const PLATFORMS = ['server-cpu', 'gpu', 'browser', 'edge-int8'] as const;
/** One of {@link PLATFORMS}. */
export type Platform = (typeof PLATFORMS)[number];

/**
 * What a model must do and fit in, the input of {@link design}: the task, per-sample input shape, classes or
 * vocabulary, dataset size, and optional budgets (latency in ms per batch, parameters, ...). {@link design} throws
 * a DesignError naming the field when one is unknown or out of range.
 */
export interface Requirements {
  readonly task: Task;
  /** Per-sample input shape: [C, H, W] for images, [T] for token sequences, [F] for tables. */
  readonly inputShape: readonly number[];
  readonly classes?: number;
  /** Vocabulary of token inputs (text tasks, language models). */
  readonly vocab?: number;
  /** Training samples. */
  readonly datasetSize: number;
  /** A catalog dataset (or `text`) for the configs written; quality records are matched on it. */
  readonly dataset?: string;
  /** Inference latency budget per batch, in ms, at `latencyBatch` (default 1). */
  readonly latencyMs?: number;
  readonly latencyBatch?: number;
  readonly maxParams?: number;
  /** Inference memory budget for the weights (MB, float32; int8 for edge-int8). */
  readonly maxMemoryMB?: number;
  readonly platform?: Platform;
  /** Training-time budget in minutes (on this machine). */
  readonly trainMinutes?: number;
  /** The training text of a language model (a UTF-8 file, read as bytes), for the configs written. */
  readonly textPath?: string;
  /** Folder for the ready-to-run configs (default: none written). */
  readonly outDir?: string;
  /** Candidates to return (default 5). */
  readonly top?: number;
}

/**
 * One model proposed by {@link design}: its zoo name and options, size (parameters, FLOPs, memory in MB), the
 * latency estimate and how it was obtained, the expected accuracy when a quality record matches, the estimated
 * training time (epochs, ms per step, minutes), the reasons for and against it, the budgets it breaks, and the
 * config to train it with.
 */
export interface Candidate {
  readonly rank: number;
  readonly id: string;
  readonly model: { readonly name: string; readonly options: Readonly<Record<string, unknown>> };
  readonly params: number;
  readonly flops: number;
  readonly latency: { readonly ms: number; readonly batch: number; readonly how: string };
  readonly memoryMB: number;
  readonly expected?: {
    readonly accuracy: number;
    readonly basis: 'recorded' | 'nearest';
    readonly epochs: number;
    readonly source: string;
  };
  readonly training: {
    readonly epochs: number;
    readonly stepMs: number;
    readonly batchSize: number;
    readonly minutes: number;
  };
  readonly reasonsFor: readonly string[];
  readonly reasonsAgainst: readonly string[];
  /** Budgets this candidate breaks (empty when it fits). */
  readonly violations: readonly string[];
  readonly configPath?: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * What {@link design} returns: the requirements, the candidates that fit ranked best first, those rejected for
 * breaking a budget, and where the latencies were measured.
 */
export interface DesignResult {
  readonly requirements: Requirements;
  readonly candidates: readonly Candidate[];
  /** Candidates that break a budget, nearest first. */
  readonly rejected: readonly Candidate[];
  readonly machine: string;
}

/** A requirement that cannot be met or understood; the message says which and, for budgets, the nearest candidate. */
export class DesignError extends UserError {}

interface Proposal {
  readonly id: string;
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly why: string;
  readonly defaultEpochs: number;
}

function proposals(r: Requirements): Proposal[] {
  const [c, h, w] = r.inputShape;
  const classes = r.classes ?? 2;
  switch (r.task) {
    case 'image-classification': {
      if (r.inputShape.length !== 3)
        throw new DesignError(
          `inputShape: image classification takes [channels, height, width], got [${r.inputShape}]`,
        );
      const out: Proposal[] = [
        {
          id: 'mlp-128',
          name: 'mlp',
          options: { imageShape: [c, h, w], inputs: c * h * w, hidden: [128], classes },
          why: 'a linear baseline: the cheapest to run, no spatial prior',
          defaultEpochs: 10,
        },
      ];
      if (h === w) {
        const base = { channels: c, size: h, classes };
        out.push(
          {
            id: 'cnn-8-16',
            name: 'cnn',
            options: { ...base, widths: [8, 16], hidden: 32 },
            why: 'a tiny two-conv CNN: spatial prior at a few thousand parameters',
            defaultEpochs: 10,
          },
          {
            id: 'cnn-16-32',
            name: 'cnn',
            options: { ...base, widths: [16, 32], hidden: 64, dropout: 0.2 },
            why: 'a small two-conv CNN',
            defaultEpochs: 10,
          },
          {
            id: 'cnn-32-64',
            name: 'cnn',
            options: { ...base, widths: [32, 64], hidden: 256, dropout: 0.4 },
            why: 'the benchmark CNN (examples/fashion-cnn.yaml)',
            defaultEpochs: 15,
          },
          {
            id: 'resnet-1-1-1',
            name: 'resnet',
            options: { ...base, layers: [1, 1, 1], widths: [32, 64, 128], strides: [2, 2, 2] },
            why: 'a small ResNet: residual blocks with BatchNorm, the most accurate recorded family',
            defaultEpochs: 30,
          },
          {
            id: 'resnet-2-2-2',
            name: 'resnet',
            options: { ...base, layers: [2, 2, 2], widths: [32, 64, 128], strides: [2, 2, 2] },
            why: 'a deeper ResNet',
            defaultEpochs: 18,
          },
          {
            id: 'mobilenetv2',
            name: 'mobilenetv2',
            options: { ...base },
            why: 'MobileNetV2-style inverted residuals: accurate per epoch, depthwise convs',
            defaultEpochs: 4,
          },
        );
      }
      return out;
    }
    case 'tabular-classification':
    case 'regression': {
      const f = r.inputShape.reduce((a, b) => a * b, 1);
      const k = r.task === 'regression' ? 1 : classes;
      return [
        {
          id: 'mlp-64',
          name: 'mlp',
          options: { inputs: f, hidden: [64], classes: k },
          why: 'one hidden layer: strong on small tables',
          defaultEpochs: 30,
        },
        {
          id: 'mlp-256-256',
          name: 'mlp',
          options: { inputs: f, hidden: [256, 256], classes: k, dropout: 0.1 },
          why: 'two hidden layers with dropout',
          defaultEpochs: 30,
        },
      ];
    }
    case 'text-classification':
    case 'sequence-classification': {
      if (!r.vocab) throw new DesignError(`vocab: ${r.task} needs the token vocabulary size`);
      const t = r.inputShape[0];
      return [
        {
          id: 'encoder-64x1',
          name: 'transformer-classifier',
          options: { vocab: r.vocab, context: t, dim: 64, layers: 1, heads: 4, classes },
          why: 'a one-layer encoder (the recorded fortunes classifier)',
          defaultEpochs: 20,
        },
        {
          id: 'encoder-128x2',
          name: 'transformer-classifier',
          options: { vocab: r.vocab, context: t, dim: 128, layers: 2, heads: 4, classes },
          why: 'a two-layer encoder',
          defaultEpochs: 20,
        },
        {
          id: 'lstm-128',
          name: 'rnn-classifier',
          options: { vocab: r.vocab, context: t, hidden: 128, classes },
          why: 'an LSTM classifier: fewer FLOPs per token than attention at long contexts',
          defaultEpochs: 20,
        },
      ];
    }
    case 'language-modelling':
    case 'generation': {
      const vocab = r.vocab ?? 256;
      const t = r.inputShape[0];
      return [
        {
          id: 'gpt-64x2',
          name: 'gpt',
          options: { vocab, context: t, dim: 64, layers: 2, heads: 4 },
          why: 'a small GPT decoder',
          defaultEpochs: 10,
        },
        {
          id: 'gpt-128x2',
          name: 'gpt',
          options: { vocab, context: t, dim: 128, layers: 2, heads: 4 },
          why: 'the char-GPT of examples/char-gpt.yaml',
          defaultEpochs: 2,
        },
        {
          id: 'gpt-128x4',
          name: 'gpt',
          options: { vocab, context: t, dim: 128, layers: 4, heads: 4 },
          why: 'a mid-size GPT decoder',
          defaultEpochs: 10,
        },
        {
          id: 'char-lstm-256',
          name: 'char-rnn',
          options: { vocab, context: t, hidden: 256 },
          why: 'a char-level LSTM: cheap per token',
          defaultEpochs: 10,
        },
      ];
    }
    case 'graph-classification':
      throw new DesignError(
        'task graph-classification: the zoo has node-classification GNNs (gcn, gat, graphsage; see examples/gcn-cora.yaml) but no graph-level readout yet',
      );
  }
}

/** Record for a candidate: the same model, dataset and options (recorded), else the same model and dataset (nearest). */
function qualityFor(
  p: Proposal,
  dataset: string | undefined,
): { rec: QualityRecord; basis: 'recorded' | 'nearest' } | undefined {
  const same = QUALITY.filter((q) => q.model === p.name && q.dataset === dataset);
  const matches = (q: QualityRecord) =>
    Object.entries(q.options).every(([k, v]) => JSON.stringify(p.options[k]) === JSON.stringify(v));
  const exact = same.filter(matches).sort((a, b) => b.epochs - a.epochs);
  if (exact.length) return { rec: exact[0], basis: 'recorded' };
  return same.length ? { rec: same.sort((a, b) => b.epochs - a.epochs)[0], basis: 'nearest' } : undefined;
}

/** Inference latency of the exported model at batch `b`, one ORT thread (what one serving worker gets). */
function measureLatency(
  model: Module,
  inputs: readonly { dtype: NDArray['dtype']; shape: readonly number[] }[],
  b: number,
  vocab: number,
): Promise<number> {
  const bytes = exportModule(
    model,
    inputs.map((i) => ({ dtype: i.dtype, shape: ['batch', ...i.shape] })),
  );
  return onnxLatencyMs(bytes, inputs, { batch: b, threads: 1, vocab });
}

/** How a measured server-CPU latency translates to the target platform (an estimate: said so in `how`). */
function platformLatency(ms: number, flops: number, platform: Platform): { ms: number; how: string } {
  switch (platform) {
    case 'server-cpu':
      return { ms, how: 'measured with ORT on this CPU (1 thread)' };
    case 'browser':
      return {
        ms: ms * 7.2,
        how: "estimated: this CPU's ORT time × 7.2, the native-to-wasm MatMul gap measured in DESIGN.md",
      };
    case 'edge-int8':
      return {
        ms: ms / 2.3,
        how: "estimated: this CPU's ORT time ÷ 2.3, the int8 QDQ conv speed-up measured in DESIGN.md (needs quantized output)",
      };
    case 'gpu':
      return {
        ms: Math.max(0.05, (flops / 5e12) * 1e3),
        how: 'estimated from FLOPs at 5 TFLOP/s effective plus 0.05 ms launch floor (no GPU here to measure)',
      };
  }
}

const lmTask = (t: Task): boolean => t === 'language-modelling' || t === 'generation';

/** Without a matching record: AdamW one-cycle (classifiers), the char-LM recipe of examples/char-gpt.yaml (LMs). */
const DEFAULT_RECIPE = {
  data: { batchSize: 64 },
  optimizer: { name: 'adamw', lr: 0.003, weightDecay: 0.0005 },
  schedule: { name: 'one-cycle', pctStart: 0.25 },
};

/** Windows overlap by three quarters, as in examples/char-gpt.yaml (context 64, stride 16). */
const strideOf = (context: number): number => Math.max(1, Math.floor(context / 4));

/** The key quality records are matched on: the catalog dataset, or `text:<file name>` for a language model's text. */
function datasetKey(req: Requirements): string | undefined {
  if (req.dataset) return req.dataset;
  return req.textPath ? `text:${basename(req.textPath)}` : undefined;
}

/** Parameters of a record's model: the candidate's options (input shape, classes) with the record's on top. */
function recordParams(rec: QualityRecord, options: Readonly<Record<string, unknown>>): number {
  const entry = getModel(rec.model);
  manualSeed(0);
  return entry.create(entry.options.parse({ ...options, ...rec.options })).parameterCount();
}

/** Ranks zoo candidates for the requirements (see the file header). Throws DesignError for bad input or when no candidate fits. */
export async function design(
  req: Requirements,
  opts: { onProgress?: (msg: string) => void } = {},
): Promise<DesignResult> {
  if (!(TASKS as readonly string[]).includes(req.task))
    throw new DesignError(`task: unknown task "${req.task}" (known: ${TASKS.join(', ')})`);
  const platform = req.platform ?? 'server-cpu';
  if (!(PLATFORMS as readonly string[]).includes(platform))
    throw new DesignError(`platform: unknown platform "${platform}" (known: ${PLATFORMS.join(', ')})`);
  if (!req.inputShape.length || req.inputShape.some((d) => !Number.isInteger(d) || d < 1))
    throw new DesignError(`inputShape: positive integers expected, got [${req.inputShape}]`);
  if (!(req.datasetSize >= 1))
    throw new DesignError(`datasetSize: a positive number of training samples expected, got ${req.datasetSize}`);
  if (lmTask(req.task)) {
    if (!req.textPath)
      throw new DesignError(`textPath: ${req.task} needs the training text (a UTF-8 file; --text <file>)`);
    if (!existsSync(req.textPath)) throw new DesignError(`textPath: ${req.textPath}: no such file`);
    if (req.vocab !== undefined && req.vocab !== 256)
      throw new DesignError(
        `vocab: the configs design writes read text as bytes (vocabulary 256), got ${req.vocab}; leave it out`,
      );
  }
  const lb = req.latencyBatch ?? 1;
  const all: Omit<Candidate, 'rank'>[] = [];
  for (const p of proposals(req)) {
    opts.onProgress?.(`measuring ${p.id}`);
    const entry = getModel(p.name);
    const options = entry.options.parse(p.options) as Record<string, unknown>;
    manualSeed(0);
    const model = entry.create(options);
    const inputs = modelInputs(entry, options);
    const vocab = req.vocab ?? 256;
    const s = summarize(
      model,
      inputs.map((i) => ({ dtype: i.dtype, shape: [1, ...i.shape] })),
    );
    const measured = await measureLatency(model, inputs, lb, vocab);
    const lat = platformLatency(measured, s.totalFlops * lb, platform);
    const q = qualityFor(p, datasetKey(req));
    const recipe = (q?.rec.recipe ?? (lmTask(req.task) ? CHAR_LM_RECIPE : DEFAULT_RECIPE)) as Record<
      string,
      Record<string, unknown>
    >;
    const batchSize = Number(recipe.data?.batchSize ?? 64);
    // a training step measured at the recipe's batch size, on synthetic data of the right shape
    const lm = lmTask(req.task);
    const xs = syntheticBatch(inputs, batchSize, vocab);
    const keys = inputs.map((_, i) => (i === 0 ? 'x' : `x${i}`));
    const yShape = lm ? [batchSize, ...inputs[0].shape] : [batchSize];
    const y: NDArray = {
      dtype: 'int64',
      shape: yShape,
      data: new BigInt64Array(yShape.reduce((a, b) => a * b, 1)).map((_, k) =>
        BigInt(k % Math.max(2, lm ? vocab : (req.classes ?? 2))),
      ),
    };
    const batch: Record<string, NDArray> = { ...Object.fromEntries(keys.map((k, i) => [k, xs[i]])), y };
    const step = await createStep({
      model,
      batch,
      inputKeys: keys,
      loss: lm ? (o, b) => lmLoss(o, b.y) : (o, b) => crossEntropy(o, b.y),
      optimizer: adamw(),
      session: { threads: 2 },
    });
    let stepMs: number;
    try {
      stepMs = await medianMs(() => step.run(batch, 1e-3), 3, 1);
    } finally {
      await step.release();
    }
    const stepsPerEpoch = Math.ceil(req.datasetSize / batchSize);
    const epochMin = (stepMs * stepsPerEpoch) / 60000;
    const wanted = q?.rec.epochs ?? p.defaultEpochs;
    const epochs =
      req.trainMinutes !== undefined ? Math.max(0, Math.min(wanted, Math.floor(req.trainMinutes / epochMin))) : wanted;
    // a shorter plan than the record: scale the error along the setup's learning curve (advise/learning-curve.ts)
    let expected: Candidate['expected'] = q
      ? { accuracy: q.rec.accuracy, basis: q.basis, epochs: q.rec.epochs, source: q.rec.source }
      : undefined;
    if (q && epochs >= 1 && epochs < q.rec.epochs) {
      const base = q.rec;
      const setup = QUALITY.filter(
        (r) =>
          r.model === base.model &&
          r.dataset === base.dataset &&
          JSON.stringify(r.options) === JSON.stringify(base.options),
      );
      const s = scaleToEpochs(setup, epochs);
      expected = {
        accuracy: s.accuracy,
        basis: q.basis,
        epochs,
        source: `${s.from.source}; scaled to ${epochs} epochs as error ∝ epochs^−α, ${s.how}`,
      };
    }
    const memoryMB = (s.totalParams * (platform === 'edge-int8' ? 1 : 4)) / 1e6;
    const violations: string[] = [];
    const against: string[] = [];
    const forR: string[] = [p.why];
    if (req.latencyMs !== undefined && lat.ms > req.latencyMs)
      violations.push(`latency ${lat.ms.toFixed(3)} ms > ${req.latencyMs} ms at batch ${lb}`);
    if (req.maxParams !== undefined && s.totalParams > req.maxParams)
      violations.push(`${s.totalParams.toLocaleString('en-US')} parameters > ${req.maxParams.toLocaleString('en-US')}`);
    if (req.maxMemoryMB !== undefined && memoryMB > req.maxMemoryMB)
      violations.push(`${memoryMB.toFixed(2)} MB of weights > ${req.maxMemoryMB} MB`);
    if (req.trainMinutes !== undefined && epochs < 1)
      violations.push(`one epoch takes ~${epochMin.toFixed(1)} min > the ${req.trainMinutes} min training budget`);
    if (q) {
      forR.push(
        `${q.basis === 'recorded' ? 'recorded' : 'nearest recorded run (other size)'}: ${(q.rec.accuracy * 100).toFixed(2)} % (${q.rec.source})`,
      );
      if (q.basis === 'nearest')
        against.push(
          `no quality run of this exact size: the expected accuracy is that of another size of the family${
            s.totalParams < recordParams(q.rec, p.options)
              ? ' (a larger one: expect less — the validation in docs/expert.md measured 1.7 and 8.9 points less)'
              : ''
          }`,
        );
      if (epochs < q.rec.epochs && epochs >= 1)
        against.push(
          `the training budget allows ${epochs} of the recorded ${q.rec.epochs} epochs: the expected accuracy is scaled down along a learning curve (an estimate)`,
        );
    } else against.push('no recorded quality run for this family and dataset: accuracy unknown');
    if (req.latencyMs !== undefined && lat.ms <= req.latencyMs)
      forR.push(
        `latency ${lat.ms.toFixed(3)} ms at batch ${lb} (${((100 * lat.ms) / req.latencyMs).toFixed(0)} % of the budget)`,
      );
    if (s.totalParams > 20 * req.datasetSize)
      against.push(
        `${(s.totalParams / req.datasetSize).toFixed(0)} parameters per training sample: likely to overfit without augmentation`,
      );
    if (p.name === 'mobilenetv2')
      against.push("its depthwise convolutions train slowly on ORT's CPU provider (docs/models.md)");
    const config: Record<string, unknown> = {
      name: `design-${p.id}`,
      seed: 0,
      model: { name: p.name, options: p.options },
      data: lm
        ? {
            name: 'text',
            batchSize,
            text: {
              path: req.textPath,
              context: req.inputShape[0],
              stride: strideOf(req.inputShape[0]),
              tokenizer: 'byte',
            },
          }
        : { name: req.dataset ?? 'fashion-mnist', valFraction: 0.1, ...(recipe.data ?? {}) },
      optimizer: recipe.optimizer,
      ...(recipe.schedule ? { schedule: recipe.schedule } : {}),
      ...(lm ? { loss: 'lm', callbacks: { checkpoint: { monitor: 'val_loss', saveTopK: 1 } } } : {}),
      trainer: { epochs: Math.max(1, epochs), ...((recipe.trainer as object | undefined) ?? {}) },
      output: `runs/design-${p.id}`,
    };
    all.push({
      id: p.id,
      model: { name: p.name, options: p.options },
      params: s.totalParams,
      flops: s.totalFlops,
      latency: { ms: lat.ms, batch: lb, how: lat.how },
      memoryMB,
      expected,
      training: { epochs, stepMs, batchSize, minutes: epochMin * Math.max(epochs, 1) },
      reasonsFor: forR,
      reasonsAgainst: against,
      violations,
      config,
    });
  }
  const score = (c: Omit<Candidate, 'rank'>): number =>
    (c.expected
      ? c.expected.accuracy -
        (c.expected.basis === 'nearest' ? 0.02 : 0) -
        (c.training.epochs < c.expected.epochs ? 0.01 : 0)
      : 0) +
    1e-12 * c.flops;
  const fits = all.filter((c) => !c.violations.length).sort((a, b) => score(b) - score(a));
  const overshoot = (c: Omit<Candidate, 'rank'>): number => {
    let o = 0;
    if (req.latencyMs !== undefined) o = Math.max(o, c.latency.ms / req.latencyMs);
    if (req.maxParams !== undefined) o = Math.max(o, c.params / req.maxParams);
    if (req.maxMemoryMB !== undefined) o = Math.max(o, c.memoryMB / req.maxMemoryMB);
    if (req.trainMinutes !== undefined) o = Math.max(o, c.training.minutes / req.trainMinutes);
    return o;
  };
  const rejected = all
    .filter((c) => c.violations.length)
    .sort((a, b) => overshoot(a) - overshoot(b))
    .map((c, i) => ({ ...c, rank: fits.length + i + 1 }));
  if (!fits.length) {
    const n = rejected[0];
    throw new DesignError(
      `no candidate fits the budget; nearest: ${n.id} (${n.model.name}, ${n.params.toLocaleString('en-US')} params) breaks it by ${n.violations.join('; ')}`,
    );
  }
  const top = fits.slice(0, req.top ?? 5).map((c, i) => ({ ...c, rank: i + 1 }));
  const written = top.map((c) => {
    if (!req.outDir) return c;
    mkdirSync(req.outDir, { recursive: true });
    const path = join(req.outDir, `${c.rank}-${c.id}.yaml`);
    writeAtomicFile(
      path,
      `# lathe design: rank ${c.rank} for ${req.task}; ${c.params.toLocaleString('en-US')} params, ${c.latency.ms.toFixed(3)} ms at batch ${c.latency.batch} (${c.latency.how})\n${stringify(c.config)}`,
    );
    return { ...c, configPath: path };
  });
  return { requirements: req, candidates: written, rejected, machine: 'this machine (ORT CPU)' };
}
