// `runTraining(config)`: the library call behind `lathe train` and `lathe quickstart`. Resolves the model,
// dataset, optimizer and schedule from their registries, trains with checkpoints, evaluates on the test split
// and exports the trained model as ONNX.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeAtomicFile } from '../util/write-atomic.js';
import { exportModule } from '../nn/export.js';
import { manualSeed } from '../nn/module.js';
import { accuracy as accuracyMetric } from '../nn/losses.js';
import {
  generativeMetadataProps,
  getModel,
  modelInputs,
  VAE,
  vaeBounds,
  type VaeBounds,
  type ModelEntry,
  type ModelInput,
  type ModelObjective,
} from '../models/index.js';
import { binarizeFixed, toPixelRange } from '../data/pixels.js';
import { lmLoss } from '../models/transformer.js';
import { reshape } from '../graph/ops/movement.js';
import { loadTextWindows, type TextSplits } from './text-data.js';
import { createOptimizer, createTraining, optimizerConfig } from '../optim/registry.js';
import {
  csvLogger,
  earlyStopping,
  lrMonitor,
  modelCheckpoint,
  progressBar,
  timeBudget,
  type Callback,
} from './callbacks.js';
import { ConfigError, formatIssues, parseTrainConfig, type TrainConfig } from './config.js';
import { datasetNames, getDataset, type CatalogDataset, type DatasetSplits, type Split } from '../data/catalog.js';
import { inferenceMetadataProps, type InferenceMetadata } from '../onnx/inference-metadata.js';
import { ArrayLoader, type BatchLoader } from './loader.js';
import { DataLoader } from '../data/loader.js';
import { Trainer, type EvalResult, type TrainerConfig } from './trainer.js';
import { ShardedLoader } from './sharded-loader.js';
import type { Collective } from '../distributed/collective.js';
import { versions } from '../util/version.js';
import { loadCheckpoint } from './checkpoint.js';
import { moduleStateKey, stateKey } from './state-keys.js';
import { ndarray, type NDArray } from '../graph/ndarray.js';
import type { Module } from '../nn/module.js';
import { GraphLoader, type GraphDataset } from '../data/graph.js';
import { graphTrainerConfig, isGraphData, loadGraphData } from './graph-data.js';
import { distillLoss, openTeacher, TeacherLoader, type Teacher } from './distill.js';

/**
 * What {@link runTraining} returns: the run folder, test accuracy (classification) and loss, epochs trained, wall time
 * in seconds, the exported ONNX file and the last checkpoint.
 */
export interface RunResult {
  readonly runDir: string;
  readonly testAccuracy?: number;
  readonly testLoss: number;
  /** In-graph test metrics of generative models (a VAE's `elbo`, `rec`, `kl`, in nats per image). */
  readonly testMetrics?: Readonly<Record<string, number>>;
  readonly epochs: number;
  readonly seconds: number;
  readonly onnxPath: string;
  readonly checkpoint: string;
  /** Language models (`loss: lm`): the test split scored with the best-validation checkpoint, per token. */
  readonly lm?: LmSummary;
  /** Data-parallel runs: this process's rank (ranks other than 0 train only: no test scores, no files). */
  readonly rank?: number;
}

/**
 * How a language model's run scored its test split: which checkpoint was used, its validation loss, and the test loss
 * per token in bits and as perplexity.
 */
export interface LmSummary {
  /** Which weights scored the test split: `best` (lowest val_loss) or `last` (no best checkpoint was kept). */
  readonly scored: 'best' | 'last';
  /** The optimizer step and epoch of those weights, and their validation loss (nats per token). */
  readonly step: number;
  readonly epoch: number;
  readonly valLoss: number;
  /** Test loss in bits per token (bits per byte for `tokenizer: byte`, per character for `char`) and perplexity. */
  readonly testBitsPerToken: number;
  readonly testPerplexity: number;
  readonly tokenizer: 'byte' | 'char';
}

export interface RunOptions {
  /** Resume from this run directory's last checkpoint. */
  readonly resume?: boolean;
  /** Replace the run already in the output directory (otherwise a run there is an error: nothing is overwritten). */
  readonly overwrite?: boolean;
  /** JSON-lines progress even on a TTY. */
  readonly json?: boolean;
  readonly quiet?: boolean;
  /** More callbacks (e.g. experiment tracking from the CLI layer). */
  readonly callbacks?: readonly Callback[];
  /**
   * Data-parallel training: this rank's collective (see docs/distributed.md). Every rank trains its shard of the
   * training split (ShardedLoader); rank 0 alone writes the run directory (checkpoints, metrics, model, summary),
   * scores the test split and logs; the other ranks return after training with `rank` set and no test scores.
   */
  readonly collective?: Collective;
  /** ORT intra-op threads, overriding `trainer.threads` (the local launcher gives each rank cores / ranks). */
  readonly threads?: number;
}

/**
 * What inference needs to know about a model trained with `cfg` (written into its ONNX file, read by predict and
 * serve): token ids for language models; for a catalog dataset with images, the layout, normalisation and class
 * names; otherwise plain arrays.
 */
function inferenceMetadataFor(cfg: TrainConfig, inputs: readonly ModelInput[], options: unknown): InferenceMetadata {
  const vocab = (options as { vocab?: unknown } | undefined)?.vocab;
  if (cfg.loss === 'lm')
    return { input: { kind: 'tokens', vocab: typeof vocab === 'number' ? vocab : 0 }, output: 'token-logits' };
  if (inputs.length === 1 && inputs[0].dtype === 'int64' && typeof vocab === 'number')
    return { input: { kind: 'tokens', vocab }, output: 'logits' };
  const info = datasetNames().includes(cfg.data.name) ? getDataset(cfg.data.name) : undefined;
  const shape = inputs.length === 1 ? inputs[0].shape : [];
  if (info?.normalization && shape.length === 3 && inputs[0].dtype === 'float32') {
    const [channels, height, width] = shape;
    const per = (v: readonly number[]) => (v.length === channels ? v : new Array<number>(channels).fill(v[0]));
    return {
      input: {
        kind: 'image',
        channels,
        height,
        width,
        mean: per(info.normalization.mean),
        std: per(info.normalization.std),
      },
      output: 'logits',
      classes: info.classes,
    };
  }
  return { input: { kind: 'array' }, output: 'logits', ...(info?.classes ? { classes: info.classes } : {}) };
}

/** The metadata_props of a model exported from a run: its config, versions and inference metadata. */
function exportMetadata(
  cfg: TrainConfig,
  inputs: readonly ModelInput[],
  options: unknown,
  objective?: ModelObjective,
): Record<string, string> {
  if (objective)
    return {
      lathe_config: JSON.stringify(cfg),
      ...versions(),
      ...inferenceMetadataProps({ input: { kind: 'array' }, output: 'logits' }),
      ...generativeMetadataProps(objective.generative),
    };
  return {
    lathe_config: JSON.stringify(cfg),
    ...versions(),
    ...inferenceMetadataProps(inferenceMetadataFor(cfg, inputs, options)),
  };
}

/** What ModelCheckpoint ranks by: the configured monitor, else val_loss for language models, val_accuracy otherwise. */
export const checkpointMonitor = (cfg: TrainConfig): string =>
  cfg.callbacks.checkpoint.monitor ?? (cfg.loss === 'lm' ? 'val_loss' : 'val_accuracy');

/** The callbacks every run has: LR monitor, checkpoints, CSV metrics, early stopping when configured, progress. */
function runCallbacks(cfg: TrainConfig, runDir: string, opts: RunOptions, objective?: ModelObjective): Callback[] {
  // a generative model's own metric picks the best checkpoint unless the config names another than the default
  const own =
    objective && (cfg.callbacks.checkpoint.monitor === undefined || cfg.callbacks.checkpoint.monitor === 'val_accuracy')
      ? objective.monitor
      : undefined;
  const callbacks: Callback[] = [
    lrMonitor(),
    modelCheckpoint({
      monitor: own?.metric ?? checkpointMonitor(cfg),
      mode: own?.mode,
      saveTopK: cfg.callbacks.checkpoint.saveTopK,
    }),
    csvLogger(join(runDir, 'metrics.csv')),
  ];
  if (cfg.callbacks.earlyStopping) callbacks.push(earlyStopping(cfg.callbacks.earlyStopping));
  if (cfg.trainer.maxMinutes !== undefined) callbacks.push(timeBudget(cfg.trainer.maxMinutes));
  if (!opts.quiet) callbacks.push(progressBar({ json: opts.json }));
  return [...callbacks, ...(opts.callbacks ?? [])];
}

/** Writes the trained model as an inference ONNX file (symbolic leading dims, metadata, BatchNorm folded unless off). */
function exportRunModel(
  model: Module,
  cfg: TrainConfig,
  resolved: { entry: ModelEntry; options: unknown; objective?: ModelObjective },
  path: string,
): void {
  const inputs = modelInputs(resolved.entry, resolved.options);
  exportModule(
    model,
    inputs.map((i) => ({ dtype: i.dtype, shape: [i.batchDim ?? 'batch', ...i.shape] })),
    {
      path,
      metadata: exportMetadata(cfg, inputs, resolved.options, resolved.objective),
      ...(resolved.objective ? { inputNames: inputs.map((i) => i.name) } : {}),
      inference: { foldBatchNorm: cfg.export?.foldBatchNorm ?? true },
    },
  );
}

/** Removes what a run wrote into its directory (checkpoints, logs, model, summary); other files stay. */
function clearRun(runDir: string): void {
  for (const f of readdirSync(runDir)) {
    if (
      /^(last|best|epoch\d+)(\.json|\..*\.safetensors|\.safetensors)$/.test(f) ||
      ['metrics.csv', 'model.onnx', 'summary.json', 'config.json'].includes(f) ||
      (f.startsWith('.') && f.endsWith('.tmp'))
    ) {
      rmSync(join(runDir, f), { force: true });
    }
  }
}

/** Builds the model a config describes; option errors name `model.options.<field>`. */
export function buildModel(cfg: TrainConfig): Module {
  return resolveModel(cfg).create();
}

/** The zoo entry a config names, its validated options and a factory that seeds and builds the model. */
function resolveModel(cfg: TrainConfig): {
  entry: ModelEntry;
  options: unknown;
  create: () => Module;
  objective?: ModelObjective;
} {
  let entry: ModelEntry;
  try {
    entry = getModel(cfg.model.name);
  } catch (err) {
    throw new ConfigError(`model.name: ${(err as Error).message}`);
  }
  const parsed = entry.options.safeParse(cfg.model.options);
  if (!parsed.success)
    throw new ConfigError(formatIssues('model.options', parsed.error).replace(/^model\.options: /gm, 'model.options.'));
  const options = parsed.data;
  return {
    entry,
    options,
    objective: entry.objective?.(options),
    create: () => {
      manualSeed(cfg.seed);
      return entry.create(options);
    },
  };
}

function sliceRows(a: NDArray, start: number, end: number): NDArray {
  const row = a.shape.slice(1).reduce((p, q) => p * q, 1);
  return ndarray(
    a.dtype,
    [end - start, ...a.shape.slice(1)],
    (a.data as Float32Array).slice(start * row, end * row) as never,
  );
}

/** The train, validation and test arrays a config trains on (not for graph data). */
export function splits(cfg: TrainConfig): {
  train: Split;
  val: Split;
  test: Split;
  source: string;
  vocabSize?: number;
} {
  if (cfg.data.name === 'text') {
    if (!cfg.data.text)
      throw new ConfigError('data.text: required for data.name "text" (give at least data.text.path)');
    let t: TextSplits;
    try {
      t = loadTextWindows(cfg.data.text, cfg.data.limit);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    return { train: t.train, val: t.val, test: t.test, source: t.source, vocabSize: t.vocabSize };
  }
  let ds: CatalogDataset;
  try {
    ds = getDataset(cfg.data.name);
  } catch (err) {
    throw new ConfigError(`data.name: ${(err as Error).message}`);
  }
  let d: DatasetSplits;
  try {
    d = ds.load({ root: cfg.data.root, limit: cfg.data.limit });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (cfg.data.valFraction === 0) return { train: d.train, val: d.test, test: d.test, source: d.source };
  const n = d.train.x.shape[0];
  const cut = Math.round(n * (1 - cfg.data.valFraction));
  return {
    train: { x: sliceRows(d.train.x, 0, cut), y: sliceRows(d.train.y, 0, cut) },
    val: { x: sliceRows(d.train.x, cut, n), y: sliceRows(d.train.y, cut, n) },
    test: d.test,
    source: d.source,
  };
}

/** Trains a model from a validated config; writes checkpoints, metrics.csv and model.onnx into the run dir. */
export async function runTraining(cfgIn: TrainConfig, opts: RunOptions = {}): Promise<RunResult> {
  const parsed = parseTrainConfig(cfgIn);
  const cfg = opts.threads ? { ...parsed, trainer: { ...parsed.trainer, threads: opts.threads } } : parsed;
  const runDir = resolve(cfg.output ?? join('runs', cfg.name));
  const rank = opts.collective?.rank ?? 0;
  if (opts.resume && !existsSync(join(runDir, 'last.json')))
    throw new ConfigError(
      `${runDir}: no checkpoint to resume from (last.json is missing${rank ? `; rank ${rank} resumes from rank 0's run directory, which must be shared` : ''})`,
    );
  if (opts.collective) {
    if (isGraphData(cfg.data.name))
      throw new ConfigError(`data.name: graph data (${cfg.data.name}) is not available with data parallelism yet`);
    if (cfg.data.workers || cfg.data.augment)
      throw new ConfigError('data.workers/data.augment: not available with data parallelism yet');
    if (cfg.trainer.accumulate > 1)
      throw new ConfigError(
        'trainer.accumulate: not combinable with data parallelism yet (raise the world size instead)',
      );
    if (cfg.trainer.syncBatchNorm && opts.collective.worldSize > 1)
      throw new ConfigError(
        'trainer.syncBatchNorm: not implemented yet — BatchNorm statistics over all ranks need a collective inside the gradient graph (see docs/distributed.md, "BatchNorm"); remove it to train with per-rank statistics',
      );
    if (rank !== 0) return runFollowerRank(cfg, runDir, opts, opts.collective);
  }
  if (!opts.resume && existsSync(join(runDir, 'last.json'))) {
    if (!opts.overwrite)
      throw new ConfigError(
        `output: ${runDir} already holds a run (last.json): --resume ${runDir} continues it, --overwrite replaces it, or choose another output`,
      );
    clearRun(runDir);
  }
  mkdirSync(runDir, { recursive: true });
  if (!opts.resume) writeAtomicFile(join(runDir, 'config.json'), JSON.stringify(cfg, null, 2));
  if (isGraphData(cfg.data.name)) return runGraphTraining(cfg, runDir, opts);
  const data = splits(cfg);
  const lm = cfg.loss === 'lm';
  if (data.vocabSize !== undefined) {
    const vocab = (cfg.model.options as { vocab?: unknown }).vocab;
    if (typeof vocab !== 'number' || vocab < data.vocabSize)
      throw new ConfigError(
        `model.options.vocab: the text has ${data.vocabSize} token ids (data.text.tokenizer ${cfg.data.text?.tokenizer ?? 'byte'}), so vocab must be ≥ ${data.vocabSize} (got ${String(vocab)})`,
      );
  }
  const resolved = resolveModel(cfg);
  const model = resolved.create();
  if (resolved.objective) Object.assign(data, generativeSplits(cfg, data, resolved.objective));
  const workers = cfg.data.workers ?? (cfg.data.augment ? 1 : 0);
  let train: BatchLoader;
  if (workers > 0 || cfg.data.augment) {
    if (resolved.objective)
      throw new ConfigError(`data.augment/data.workers: not available for generative models (${cfg.model.name}) yet`);
    if (cfg.data.name === 'text') throw new ConfigError('data.augment/data.workers: not available for text data');
    const entry0 = getDataset(cfg.data.name);
    if (!entry0.trainSource)
      throw new ConfigError(`data.augment/data.workers: dataset ${cfg.data.name} has no worker source`);
    if (cfg.data.limit !== undefined || cfg.data.valFraction > 0)
      throw new ConfigError('data.workers: not combinable with data.limit or data.valFraction yet');
    train = await DataLoader.fromSpec(entry0.trainSource({ root: cfg.data.root, augment: cfg.data.augment }), {
      batchSize: cfg.data.batchSize,
      shuffle: true,
      seed: cfg.seed,
      workers,
    });
  } else if (opts.collective)
    train = new ShardedLoader(data.train, {
      batchSize: cfg.data.batchSize,
      rank: opts.collective.rank,
      worldSize: opts.collective.worldSize,
      seed: cfg.seed,
    });
  else
    train = new ArrayLoader(data.train, {
      batchSize: cfg.data.batchSize,
      shuffle: true,
      seed: cfg.seed,
      dropLast: false,
    });
  let val: BatchLoader = evalLoader(data.val, lm);
  let teacher: Teacher | undefined;
  if (cfg.distill) {
    if (lm || resolved.objective)
      throw new ConfigError(
        `distill: for classifiers (class logits against labels), not ${lm ? 'language models (loss: lm)' : `generative models (${cfg.model.name})`}`,
      );
    teacher = await openTeacher(cfg.distill.teacher, {
      session: cfg.trainer.threads ? { threads: cfg.trainer.threads } : undefined,
      fromCheckpoint: teacherFromCheckpoint,
    });
    train = new TeacherLoader(train, teacher);
    val = new TeacherLoader(val, teacher);
  }
  const totalSteps = Math.ceil((cfg.trainer.epochs * train.length) / cfg.trainer.accumulate);
  const callbacks = runCallbacks(cfg, runDir, opts, resolved.objective);
  const phases = resolved.objective?.phases;
  if (phases && (cfg.trainer.ema !== undefined || cfg.trainer.accumulate > 1))
    throw new ConfigError(`trainer.ema/trainer.accumulate: not available for ${cfg.model.name} (alternating phases)`);
  const trainer = new Trainer({
    model,
    ...createTraining(cfg.optimizer, cfg.schedule, totalSteps),
    epochs: cfg.trainer.epochs,
    seed: cfg.seed,
    clipGradNorm: cfg.trainer.clipGradNorm,
    accumulate: phases ? undefined : cfg.trainer.accumulate,
    ema: cfg.trainer.ema !== undefined ? { decay: cfg.trainer.ema } : undefined,
    checkpointEvery: cfg.trainer.checkpointEvery,
    runDir,
    callbacks,
    config: cfg,
    // GANs: each phase its own Adam (the model's options); the config's optimizer section does not apply
    ...(phases
      ? {
          phases: phases.map((p) => ({
            ...p,
            optimizer: createOptimizer(
              optimizerConfig.parse({
                name: 'adam',
                lr: p.optimizer.lr,
                beta1: p.optimizer.beta1,
                beta2: p.optimizer.beta2,
              }),
            ),
            lr: p.optimizer.lr,
          })),
        }
      : resolved.objective
        ? { objective: resolved.objective.objective }
        : lossAndMetrics(lm)),
    ...(cfg.distill ? { loss: distillLoss(cfg.distill) } : {}),
    session: cfg.trainer.threads ? { threads: cfg.trainer.threads } : undefined,
    logger: opts.quiet ? undefined : (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    collective: opts.collective,
  });
  const t0 = Date.now();
  const loaderOf = (l: BatchLoader): DataLoader | undefined =>
    l instanceof DataLoader ? l : l instanceof TeacherLoader && l.inner instanceof DataLoader ? l.inner : undefined;
  let test: ReturnType<typeof testScores>;
  let lmSummary: LmSummary | undefined;
  // generative models are scored and exported with their EMA weights when an EMA is kept; language models are scored
  // with their best-validation checkpoint
  const ema = !!resolved.objective && cfg.trainer.ema !== undefined;
  try {
    await trainer.fit(train, val, { resumeFrom: opts.resume ? runDir : undefined });
    // a distilled run's test loss is the distillation loss (its accuracy is the student's own)
    const testLoader = evalLoader(data.test, lm);
    if (lm) ({ test, summary: lmSummary } = await scoreLmBest(model, cfg, runDir, data.test, trainer));
    else
      test = testScores(
        await trainer.evaluate(teacher ? new TeacherLoader(testLoader, teacher) : testLoader, { useEma: ema }),
      );
  } catch (err) {
    // A callback may stop the run by throwing (a tuning trial pruned): free the sessions and loader workers.
    await trainer.release();
    await teacher?.release();
    await loaderOf(train)?.close();
    throw err;
  }
  await teacher?.release();
  const onnxPath = join(runDir, 'model.onnx');
  if (ema) trainer.syncModel({ useEma: true });
  exportRunModel(model, cfg, resolved, onnxPath);
  const result: RunResult = {
    runDir,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    ...(test.metrics ? { testMetrics: test.metrics } : {}),
    epochs: trainer.currentEpoch,
    seconds: (Date.now() - t0) / 1000,
    onnxPath,
    checkpoint: join(runDir, 'last.json'),
    ...(lmSummary ? { lm: lmSummary } : {}),
    ...(opts.collective ? { rank: 0 } : {}),
  };
  writeAtomicFile(join(runDir, 'summary.json'), JSON.stringify({ ...result, data: data.source }, null, 2));
  await trainer.release();
  await loaderOf(train)?.close();
  return result;
}

/**
 * A data-parallel rank other than 0: trains its shard in lockstep with rank 0 and writes nothing (rank 0 writes the
 * run directory); resumes from rank 0's last checkpoint when asked.
 */
async function runFollowerRank(
  cfg: TrainConfig,
  runDir: string,
  opts: RunOptions,
  collective: Collective,
): Promise<RunResult> {
  const data = splits(cfg);
  const lm = cfg.loss === 'lm';
  const resolved = resolveModel(cfg);
  if (resolved.objective?.phases)
    throw new ConfigError(
      `model.name: ${cfg.model.name} trains in alternating phases, not available with data parallelism yet`,
    );
  const model = resolved.create();
  if (resolved.objective) Object.assign(data, generativeSplits(cfg, data, resolved.objective));
  const train = new ShardedLoader(data.train, {
    batchSize: cfg.data.batchSize,
    rank: collective.rank,
    worldSize: collective.worldSize,
    seed: cfg.seed,
  });
  let val: BatchLoader = evalLoader(data.val, lm);
  let teacher: Teacher | undefined;
  if (cfg.distill) {
    teacher = await openTeacher(cfg.distill.teacher, {
      session: cfg.trainer.threads ? { threads: cfg.trainer.threads } : undefined,
      fromCheckpoint: teacherFromCheckpoint,
    });
    val = new TeacherLoader(val, teacher);
  }
  const totalSteps = Math.ceil(cfg.trainer.epochs * train.length);
  const trainer = new Trainer({
    model,
    ...createTraining(cfg.optimizer, cfg.schedule, totalSteps),
    epochs: cfg.trainer.epochs,
    seed: cfg.seed,
    clipGradNorm: cfg.trainer.clipGradNorm,
    ema: cfg.trainer.ema !== undefined ? { decay: cfg.trainer.ema } : undefined,
    ...(resolved.objective ? { objective: resolved.objective.objective } : lossAndMetrics(lm)),
    ...(cfg.distill ? { loss: distillLoss(cfg.distill) } : {}),
    session: cfg.trainer.threads ? { threads: cfg.trainer.threads } : undefined,
    collective,
  });
  const t0 = Date.now();
  try {
    await trainer.fit(teacher ? new TeacherLoader(train, teacher) : train, val, {
      resumeFrom: opts.resume ? runDir : undefined,
    });
  } finally {
    await trainer.release();
    await teacher?.release();
  }
  return {
    runDir,
    testLoss: Number.NaN,
    epochs: trainer.currentEpoch,
    seconds: (Date.now() - t0) / 1000,
    onnxPath: join(runDir, 'model.onnx'),
    checkpoint: join(runDir, 'last.json'),
    rank: collective.rank,
  };
}

/** A checkpoint's model exported in memory as inference ONNX (a distillation teacher given as a checkpoint). */
function teacherFromCheckpoint(path: string): Uint8Array {
  const { model, inputs } = modelFromCheckpoint(path);
  return exportModule(
    model,
    inputs.map((i) => ({ dtype: i.dtype, shape: [i.batchDim ?? 'batch', ...i.shape] })),
    { inference: { foldBatchNorm: true } },
  );
}

/** The graph a config names (`data.name: cora | graph`), checked against the model's features and classes. */
function graphFor(cfg: TrainConfig): GraphDataset {
  let g: GraphDataset;
  try {
    g = loadGraphData(cfg.data);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const o = cfg.model.options as { features?: unknown; classes?: unknown };
  const [f, c] = [g.x.shape[1], g.numClasses];
  if (o.features !== undefined && o.features !== f)
    throw new ConfigError(`model.options.features: the graph's nodes have ${f} features, got ${String(o.features)}`);
  if (o.classes !== undefined && typeof o.classes === 'number' && o.classes < c)
    throw new ConfigError(`model.options.classes: the graph has ${c} classes, got ${o.classes}`);
  return g;
}

/**
 * Full-batch node classification: each epoch is one step over the whole graph with the loss masked to the training
 * nodes; validation and test score the same graph under their masks. Writes what runTraining writes.
 */
async function runGraphTraining(cfg: TrainConfig, runDir: string, opts: RunOptions): Promise<RunResult> {
  if (cfg.distill) throw new ConfigError(`distill: not available for graph data (${cfg.data.name}) yet`);
  const g = graphFor(cfg);
  const entry = getModel(cfg.model.name);
  if (!entry.inputs || modelInputs(entry, entry.options.parse(cfg.model.options)).length !== 3) {
    throw new ConfigError(
      `model.name: ${cfg.model.name} is not a graph model (data.name ${cfg.data.name} needs gcn, gat or graphsage)`,
    );
  }
  // the graph's sizes become the model's defaults, recorded in the run's config and checkpoints
  cfg = {
    ...cfg,
    model: { ...cfg.model, options: { features: g.x.shape[1], classes: g.numClasses, ...cfg.model.options } },
  };
  if (!opts.resume) writeAtomicFile(join(runDir, 'config.json'), JSON.stringify(cfg, null, 2));
  const resolved = resolveModel(parseTrainConfig(cfg));
  const model = resolved.create();
  const callbacks = runCallbacks(cfg, runDir, opts);
  const trainer = new Trainer({
    model,
    ...createTraining(cfg.optimizer, cfg.schedule, cfg.trainer.epochs),
    epochs: cfg.trainer.epochs,
    seed: cfg.seed,
    clipGradNorm: cfg.trainer.clipGradNorm,
    checkpointEvery: cfg.trainer.checkpointEvery,
    runDir,
    callbacks,
    config: cfg,
    ...graphTrainerConfig(),
    session: cfg.trainer.threads ? { threads: cfg.trainer.threads } : undefined,
    logger: opts.quiet ? undefined : (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    collective: opts.collective,
  });
  const t0 = Date.now();
  try {
    await trainer.fit(new GraphLoader(g, 'train'), new GraphLoader(g, 'val'), {
      resumeFrom: opts.resume ? runDir : undefined,
    });
    const test = testScores(await trainer.evaluate(new GraphLoader(g, 'test')));
    const onnxPath = join(runDir, 'model.onnx');
    exportRunModel(model, cfg, resolved, onnxPath);
    const result: RunResult = {
      runDir,
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      epochs: trainer.currentEpoch,
      seconds: (Date.now() - t0) / 1000,
      onnxPath,
      checkpoint: join(runDir, 'last.json'),
    };
    writeAtomicFile(join(runDir, 'summary.json'), JSON.stringify({ ...result, data: g.source }, null, 2));
    return result;
  } finally {
    await trainer.release();
  }
}

/**
 * The loss and metrics a config trains with. Classifiers: the default cross-entropy, in-graph accuracy. Language
 * models (`loss: lm`): next-token cross-entropy and token accuracy over [B, T, vocab] logits — the Trainer's
 * evaluate computes both in-graph, so val/test loss is nats per token (every window has T tokens).
 */
export function lossAndMetrics(lm: boolean): Pick<TrainerConfig, 'loss' | 'metrics'> {
  if (!lm) return { metrics: { accuracy: (o, b) => accuracyMetric(o, b.y) } };
  return {
    loss: (o, b) => lmLoss(o, b.y),
    metrics: { accuracy: (o, b) => accuracyMetric(reshape(o, [-1, o.shape[o.rank - 1]]), reshape(b.y, [-1])) },
  };
}

/**
 * The splits of a generative model: images in the objective's pixel range (instead of the dataset's normalisation),
 * and held-out images binarised once (binarizeFixed, seed 0) for binary likelihoods, so every run scores the same set.
 */
export function generativeSplits(
  cfg: TrainConfig,
  data: { train: Split; val: Split; test: Split },
  objective: ModelObjective,
): { train: Split; val: Split; test: Split } {
  const norm = datasetNames().includes(cfg.data.name) ? getDataset(cfg.data.name).normalization : undefined;
  if (!norm)
    throw new ConfigError(
      `data.name: ${cfg.data.name} has no image normalisation to undo; generative models train on image datasets (fashion-mnist, fashion-mnist-subset)`,
    );
  const px = (s: Split) => ({ x: toPixelRange(s.x, norm, objective.pixels), y: s.y });
  const held = (s: Split) => (objective.binaryEval ? { x: binarizeFixed(px(s).x, 0), y: s.y } : px(s));
  const test = held(data.test);
  return { train: px(data.train), val: data.val === data.test ? test : held(data.val), test };
}

/**
 * Language models: the test split scored once, with the best-validation checkpoint (`best.json`, kept by
 * ModelCheckpoint ranking val_loss) loaded into `model` — which the run then exports — or with the last weights when
 * no best checkpoint exists (saveTopK 0, or a monitor that was never reported).
 */
async function scoreLmBest(
  model: Module,
  cfg: TrainConfig,
  runDir: string,
  test: Split,
  trainer: Trainer,
): Promise<{ test: ReturnType<typeof testScores>; summary: LmSummary }> {
  const bestPath = join(runDir, 'best.json');
  const tokenizer = cfg.data.text?.tokenizer ?? 'byte';
  const lossMetrics = lossAndMetrics(true);
  if (!existsSync(bestPath)) {
    const r = testScores(await trainer.evaluate(evalLoader(test, true)));
    const last = loadCheckpoint(join(runDir, 'last.json')).manifest;
    return {
      test: r,
      summary: lmSummaryOf('last', last.step, last.epoch, last.metrics.val_loss ?? NaN, r.loss, tokenizer),
    };
  }
  const ck = loadCheckpoint(bestPath);
  for (const [k, p] of model.namedState()) {
    const t = ck.tensors[moduleStateKey(k, p.kind)];
    if (!t) throw new Error(`${bestPath}: checkpoint has no tensor for ${k}`);
    p.data = t;
  }
  const scorer = new Trainer({
    model,
    optimizer: createOptimizer(cfg.optimizer),
    lr: 0,
    epochs: 1,
    ...lossMetrics,
    session: cfg.trainer.threads ? { threads: cfg.trainer.threads } : undefined,
  });
  try {
    const r = testScores(await scorer.evaluate(evalLoader(test, true)));
    return {
      test: r,
      summary: lmSummaryOf(
        'best',
        ck.manifest.step,
        ck.manifest.epoch,
        ck.manifest.metrics.val_loss ?? NaN,
        r.loss,
        tokenizer,
      ),
    };
  } finally {
    await scorer.release();
  }
}

function lmSummaryOf(
  scored: 'best' | 'last',
  step: number,
  epoch: number,
  valLoss: number,
  testLoss: number,
  tokenizer: 'byte' | 'char',
): LmSummary {
  return {
    scored,
    step,
    epoch,
    valLoss,
    testBitsPerToken: testLoss / Math.LN2,
    testPerplexity: Math.exp(testLoss),
    tokenizer,
  };
}

/** Held-out batches: 500 images, or 64 windows for language models (their logits are [B, T, vocab]). */
function evalLoader(split: Split, lm: boolean): ArrayLoader {
  return new ArrayLoader(split, { batchSize: lm ? 64 : 500 });
}

/** Test loss and accuracy: classifiers' accuracy from evaluate's JS scoring, LMs' token accuracy from the metric. */
function testScores(r: EvalResult): {
  loss: number;
  accuracy?: number;
  samples: number;
  metrics?: Readonly<Record<string, number>>;
} {
  const { accuracy, ...others } = r.metrics ?? {};
  return {
    loss: r.loss,
    accuracy: r.accuracy ?? accuracy,
    samples: r.samples,
    ...(Object.keys(others).length ? { metrics: others } : {}),
  };
}

/** Reads the config saved in a run directory. */
export function runConfig(runDir: string): TrainConfig {
  const p = join(runDir, 'config.json');
  if (!existsSync(p)) throw new ConfigError(`${runDir}: not a lathe run directory (config.json is missing)`);
  return parseTrainConfig(JSON.parse(readFileSync(p, 'utf8')), p);
}

/** Rebuilds a run's model with the weights of a checkpoint (a manifest path or a run directory → last). */
export function modelFromCheckpoint(
  path: string,
  opts: { ema?: boolean } = {},
): {
  model: Module;
  cfg: TrainConfig;
  inputShape: readonly number[];
  inputs: readonly ModelInput[];
  metadata: Record<string, string>;
  objective?: ModelObjective;
  usedEma: boolean;
} {
  const ck = loadCheckpoint(path);
  if (ck.fallback) process.emitWarning(ck.fallback, 'CheckpointFallback');
  const cfg = parseTrainConfig(ck.manifest.config, `${path} (manifest config)`);
  const { entry, options, create, objective } = resolveModel(cfg);
  const model = create();
  const inputs = modelInputs(entry, options);
  // the EMA of the weights (state key e.<name>) when asked for and saved; frozen parameters and buffers have none
  const usedEma = !!opts.ema && Object.keys(ck.tensors).some((k) => k.startsWith(stateKey.ema('')));
  for (const [k, p] of model.namedState()) {
    const t =
      (usedEma && p.kind === 'param' ? ck.tensors[stateKey.ema(k)] : undefined) ??
      ck.tensors[moduleStateKey(k, p.kind)];
    if (!t) throw new Error(`${path}: checkpoint has no tensor for ${k}`);
    p.data = t;
  }
  return {
    model,
    cfg,
    inputShape: entry.inputShape(options),
    inputs,
    metadata: exportMetadata(cfg, inputs, options, objective),
    objective,
    usedEma,
  };
}

/** Options of {@link evaluateCheckpoint}. */
export interface EvaluateOptions {
  /** VAEs: also the ELBO and the importance-weighted bound with k samples on the first `images` test images. */
  readonly iwae?: {
    readonly k: number;
    readonly images?: number;
    /** Called after each batch with the test images bounded so far and their total. */
    readonly onProgress?: (done: number, total: number) => void;
  };
}

/**
 * Evaluates the checkpoint manifest at `path` on its dataset's test split: the loss, accuracy or in-graph metrics, and
 * with `opts.iwae` a VAE's ELBO and importance-weighted bound. Throws a ConfigError if `iwae` is asked of a model that
 * is not a VAE.
 */
export async function evaluateCheckpoint(
  path: string,
  opts: EvaluateOptions = {},
): Promise<{
  accuracy?: number;
  loss: number;
  samples: number;
  metrics?: Readonly<Record<string, number>>;
  bounds?: VaeBounds;
}> {
  const { model, cfg } = modelFromCheckpoint(path);
  if (opts.iwae && !(model instanceof VAE))
    throw new ConfigError(`--iwae: ${path} holds a ${cfg.model.name}, not a vae`);
  if (isGraphData(cfg.data.name)) {
    const g = graphFor(cfg);
    const t = new Trainer({
      model,
      optimizer: createOptimizer(cfg.optimizer),
      lr: 0,
      epochs: 1,
      ...graphTrainerConfig(),
    });
    try {
      return testScores(await t.evaluate(new GraphLoader(g, 'test')));
    } finally {
      await t.release();
    }
  }
  let data = splits(cfg);
  const lm = cfg.loss === 'lm';
  const objective = resolveModel(cfg).objective;
  if (objective) data = { ...data, ...generativeSplits(cfg, data, objective) };
  const t = new Trainer({
    model,
    optimizer: createOptimizer(cfg.optimizer),
    lr: 0,
    epochs: 1,
    seed: cfg.seed,
    ...(objective ? { objective: objective.objective } : lossAndMetrics(lm)),
  });
  try {
    const scores = testScores(await t.evaluate(evalLoader(data.test, lm)));
    if (!opts.iwae || !(model instanceof VAE)) return scores;
    const n = Math.min(opts.iwae.images ?? data.test.x.shape[0], data.test.x.shape[0]);
    const row = data.test.x.shape.slice(1).reduce((a, b) => a * b, 1);
    const x: NDArray = {
      dtype: 'float32',
      shape: [n, ...data.test.x.shape.slice(1)],
      data: (data.test.x.data as Float32Array).subarray(0, n * row),
    };
    const bounds = await vaeBounds(model, x, {
      k: opts.iwae.k,
      seed: cfg.seed,
      threads: cfg.trainer.threads,
      onProgress: opts.iwae.onProgress,
    });
    return { ...scores, bounds };
  } finally {
    await t.release();
  }
}
