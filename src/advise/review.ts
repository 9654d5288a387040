// review(target): lint a training config, a run directory, an ONNX model, a dataset, or a live model with its data.
// Each target gets the rules that apply to it (static config checks, data checks, model checks, run-history checks
// and the dynamic checks that run a few steps); findings are silenced by rule id (`ignore`, or `review.ignore` in a
// config).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { NDArray } from '../graph/ndarray.js';
import { crossEntropy } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import { decodeModel } from '../onnx/decode.js';
import { getModel, modelInputs } from '../models/index.js';
import { summarize } from '../models/summary.js';
import { datasetNames, getDataset } from '../data/catalog.js';
import { readCsv } from '../data/readers/csv.js';
import { createOptimizer } from '../optim/registry.js';
import type { Optimizer } from '../optim/optimizer.js';
import { adam } from '../optim/adam.js';
import { loadTrainConfig, type TrainConfig } from '../train/config.js';
import { buildModel, lossAndMetrics, runConfig, splits } from '../train/run.js';
import { isGraphData } from '../train/graph-data.js';
import { UserError } from '../util/errors.js';
import { checkConfig } from './config-rules.js';
import { checkData, type DataSplit, type DataUnderReview } from './data-rules.js';
import { checkDynamic, headRows } from './dynamic-rules.js';
import { suppress, type Finding, type ReviewReport, type TargetKind } from './finding.js';
import { checkModel } from './model-rules.js';
import type { LossFn } from './probe.js';
import { checkHistory, parseMetricsCsv } from './run-rules.js';

/** Options of {@link review}. */
export interface ReviewOptions {
  /** Rule ids to silence (added to a config's `review.ignore`). */
  readonly ignore?: readonly string[];
  /** Run the dynamic checks (a few training steps) on configs and live models (default true). */
  readonly dynamic?: boolean;
  /** `--set path=value` overrides for a config target. */
  readonly overrides?: readonly string[];
  /** For CSV datasets: the label column (default `label`, else the last column). */
  readonly label?: string;
  /** Steps of the overfit-one-batch test (default 60). */
  readonly overfitSteps?: number;
}

/** A model in memory with its data: what a library user reviews before calling fit. */
export interface LiveTarget {
  readonly model: Module;
  readonly train: DataSplit;
  readonly test?: DataSplit;
  readonly classes?: number;
  /** Default: cross-entropy of output against batch.y. */
  readonly loss?: LossFn;
  /** Default: Adam. */
  readonly optimizer?: Optimizer;
  /** Default 1e-3. */
  readonly lr?: number;
  readonly inputKeys?: readonly string[];
  readonly clipGradNorm?: number;
  /** Name in the report. */
  readonly name?: string;
}

/** Error for a target review cannot read. */
export class ReviewError extends UserError {}

interface Collected {
  findings: Finding[];
  checked: string[];
  skipped: string[];
}

const add = (c: Collected, r: { findings: Finding[]; checked: string[] }): void => {
  c.findings.push(...r.findings);
  c.checked.push(...r.checked);
};

function finish(target: string, kind: TargetKind, c: Collected, ignore: readonly string[]): ReviewReport {
  const { kept, suppressed } = suppress(c.findings, ignore);
  return { target, kind, findings: kept, suppressed, checked: [...new Set(c.checked)], skipped: c.skipped };
}

const defaultLoss: LossFn = (out, b) => crossEntropy(out, b.y);

/** Reviews a config file, run directory, .onnx model, dataset (catalog name, IDX folder, CSV file) or live model. */
export async function review(target: string | LiveTarget, opts: ReviewOptions = {}): Promise<ReviewReport> {
  if (typeof target !== 'string') return reviewLive(target, opts);
  const ext = extname(target).toLowerCase();
  if (existsSync(target) && statSync(target).isDirectory()) {
    if (existsSync(join(target, 'config.json'))) return reviewRun(target, opts);
    if (readdirSync(target).some((f) => /idx\d-ubyte/.test(f))) return reviewDataset(target, opts);
    throw new ReviewError(
      `${target}: a folder review can read holds a run (config.json) or IDX files (train-images-idx3-ubyte.gz, ...)`,
    );
  }
  if (ext === '.onnx') return reviewModelFile(target, opts);
  if (ext === '.csv') return reviewDataset(target, opts);
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') return reviewConfig(target, opts);
  if (datasetNames().includes(target)) return reviewDataset(target, opts);
  throw new ReviewError(
    `${target}: not a config (.yaml/.json), run directory, .onnx model, dataset (.csv, IDX folder) or catalog dataset (${datasetNames().join(', ')})`,
  );
}

async function reviewModelFile(path: string, opts: ReviewOptions): Promise<ReviewReport> {
  if (!existsSync(path)) throw new ReviewError(`${path}: no such file`);
  const c: Collected = { findings: [], checked: [], skipped: [] };
  add(c, checkModel(decodeModel(new Uint8Array(readFileSync(path))), path));
  return finish(path, 'model', c, opts.ignore ?? []);
}

/** The facts the config rules need: the model built, its input and output, the data's shape, classes, vocabulary. */
async function reviewConfig(path: string, opts: ReviewOptions): Promise<ReviewReport> {
  if (!existsSync(path)) throw new ReviewError(`${path}: config file not found`);
  const raw = (parseYaml(readFileSync(path, 'utf8')) ?? {}) as Record<string, unknown>;
  const cfg = loadTrainConfig(path, opts.overrides ?? []);
  const c: Collected = { findings: [], checked: [], skipped: [] };
  await reviewTrainConfig(cfg, raw, c, opts);
  return finish(path, 'config', c, [...(opts.ignore ?? []), ...(cfg.review?.ignore ?? [])]);
}

async function reviewTrainConfig(
  cfg: TrainConfig,
  raw: Record<string, unknown>,
  c: Collected,
  opts: ReviewOptions & { data?: boolean },
): Promise<void> {
  const model = buildModel(cfg);
  const entry = getModel(cfg.model.name);
  const options = entry.options.parse(cfg.model.options);
  const inputs = modelInputs(entry, options);
  const lm = cfg.loss === 'lm';
  const vocab = (options as { vocab?: unknown }).vocab;
  let outShape: readonly (number | string)[] | undefined;
  if (inputs.length === 1 && !isGraphData(cfg.data.name)) {
    try {
      outShape = summarize(model, [{ dtype: inputs[0].dtype, shape: [2, ...inputs[0].shape] }])
        .outputShapes[0] as readonly (number | string)[];
    } catch {
      outShape = undefined;
    }
  }
  const modelClasses =
    outShape && typeof outShape[outShape.length - 1] === 'number'
      ? (outShape[outShape.length - 1] as number)
      : undefined;
  if (isGraphData(cfg.data.name)) {
    add(c, checkConfig({ raw, cfg, model, augmentable: false }));
    c.skipped.push('data and dynamic checks: graph datasets are not reviewed yet');
    return;
  }
  const data = splits(cfg);
  const info = datasetNames().includes(cfg.data.name) ? getDataset(cfg.data.name) : undefined;
  const dataClasses = info?.classes?.length ?? (lm ? undefined : maxLabel(data.train.y) + 1);
  add(
    c,
    checkConfig({
      raw,
      cfg,
      model,
      modelInput: inputs.length === 1 ? inputs[0].shape : undefined,
      dataInput: data.train.x.shape.slice(1),
      modelClasses: lm ? undefined : modelClasses,
      dataClasses,
      modelVocab: typeof vocab === 'number' ? vocab : undefined,
      dataVocab: data.vocabSize,
      augmentable: info?.trainSource !== undefined,
    }),
  );
  if (opts.data !== false) {
    add(
      c,
      checkData({
        train: data.train,
        test: data.test,
        classes: info?.classes,
        normalized: info?.normalization !== undefined || lm,
      }),
    );
  }
  const shapeBroken = c.findings.some((f) => f.rule === 'shape-mismatch');
  if (opts.dynamic === false) c.skipped.push('dynamic checks: turned off');
  else if (shapeBroken) c.skipped.push('dynamic checks: the model does not fit the data (shape-mismatch)');
  else {
    const rows = Math.min(cfg.data.batchSize, 64);
    const batch = headRows({ x: data.train.x, y: data.train.y }, rows);
    const r = await checkDynamic({
      model,
      batch,
      loss: lossAndMetrics(lm).loss ?? defaultLoss,
      optimizer: createOptimizer(cfg.optimizer),
      lr: cfg.optimizer.lr,
      classes: lm ? (typeof vocab === 'number' ? vocab : undefined) : modelClasses,
      clipGradNorm: cfg.trainer.clipGradNorm,
      seed: cfg.seed,
      overfitSteps: opts.overfitSteps,
    });
    add(c, r);
  }
}

const maxLabel = (y: NDArray): number =>
  Array.from(y.data as ArrayLike<number | bigint>, Number).reduce((a, b) => Math.max(a, b), -1);

async function reviewRun(dir: string, opts: ReviewOptions): Promise<ReviewReport> {
  const cfg = runConfig(dir);
  const c: Collected = { findings: [], checked: [], skipped: [] };
  const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  add(c, checkConfig({ raw: { seed: cfg.seed, ...raw }, cfg, model: buildModel(cfg) }));
  const csv = join(dir, 'metrics.csv');
  if (existsSync(csv)) {
    let classes: number | undefined;
    if (cfg.loss !== 'lm' && datasetNames().includes(cfg.data.name))
      classes = getDataset(cfg.data.name).classes?.length;
    add(c, checkHistory(parseMetricsCsv(readFileSync(csv, 'utf8')), { classes, lm: cfg.loss === 'lm' }));
  } else c.skipped.push('history checks: the run has no metrics.csv');
  const onnx = join(dir, 'model.onnx');
  if (existsSync(onnx)) add(c, checkModel(decodeModel(new Uint8Array(readFileSync(onnx))), onnx));
  c.skipped.push("data and dynamic checks: review the run's config file for them");
  return finish(dir, 'run', c, [...(opts.ignore ?? []), ...(cfg.review?.ignore ?? [])]);
}

/** A CSV as a dataset: numeric feature columns, a label column, an optional `split` column (train/test). */
export function csvDataset(path: string, label?: string): DataUnderReview & { skippedColumns: string[] } {
  const t = readCsv(path);
  const labelCol = label ?? (t.names.includes('label') ? 'label' : t.names[t.names.length - 1]);
  if (!t.names.includes(labelCol))
    throw new ReviewError(`${path}: no label column "${labelCol}" (columns: ${t.names.join(', ')})`);
  const splitCol = t.names.includes('split') ? t.columns.split : undefined;
  const features = t.names.filter((n) => n !== labelCol && n !== 'split' && t.columns[n].type !== 'string');
  const skippedColumns = t.names.filter((n) => n !== labelCol && n !== 'split' && t.columns[n].type === 'string');
  const lc = t.columns[labelCol];
  let classes: string[] | undefined;
  let ys: number[];
  if (lc.type === 'string') {
    classes = [...new Set(lc.values.map((v) => v ?? ''))].sort();
    ys = lc.values.map((v) => classes!.indexOf(v ?? ''));
  } else ys = Array.from(lc.values);
  const isInt = ys.every(Number.isInteger);
  const part = (want: string | undefined): DataSplit | undefined => {
    const idx = [...Array(t.rows).keys()].filter(
      (i) => want === undefined || (splitCol?.type === 'string' ? splitCol.values[i] === want : false),
    );
    if (!idx.length) return undefined;
    const x = new Float32Array(idx.length * features.length);
    idx.forEach((r, i) =>
      features.forEach((f, j) => void (x[i * features.length + j] = (t.columns[f].values as Float64Array)[r])),
    );
    const y = isInt ? new BigInt64Array(idx.map((r) => BigInt(ys[r]))) : new Float32Array(idx.map((r) => ys[r]));
    return {
      x: { dtype: 'float32', shape: [idx.length, features.length], data: x },
      y: { dtype: isInt ? 'int64' : 'float32', shape: [idx.length], data: y },
    };
  };
  const train = splitCol ? part('train') : part(undefined);
  if (!train) throw new ReviewError(`${path}: no training rows${splitCol ? ' (split column has no "train")' : ''}`);
  return { train, test: splitCol ? part('test') : undefined, classes, features, skippedColumns };
}

async function reviewDataset(target: string, opts: ReviewOptions): Promise<ReviewReport> {
  const c: Collected = { findings: [], checked: [], skipped: [] };
  let d: DataUnderReview;
  if (target.toLowerCase().endsWith('.csv')) {
    if (!existsSync(target)) throw new ReviewError(`${target}: no such file`);
    const csv = csvDataset(target, opts.label);
    if (csv.skippedColumns.length) c.skipped.push(`text columns not checked: ${csv.skippedColumns.join(', ')}`);
    if (!csv.test) c.skipped.push('train-test-leakage, out-of-range-features: no `split` column with test rows');
    d = csv;
  } else {
    const name = datasetNames().includes(target) ? target : 'fashion-mnist';
    const ds = getDataset(name);
    let s: Awaited<ReturnType<typeof ds.load>>;
    try {
      s = ds.load({ root: name === target ? undefined : target });
    } catch (err) {
      throw new ReviewError(`${target}: ${(err as Error).message}`);
    }
    d = { train: s.train, test: s.test, classes: s.classes, normalized: ds.normalization !== undefined };
  }
  add(c, checkData(d));
  return finish(target, 'dataset', c, opts.ignore ?? []);
}

async function reviewLive(t: LiveTarget, opts: ReviewOptions): Promise<ReviewReport> {
  const c: Collected = { findings: [], checked: [], skipped: [] };
  add(c, checkData({ train: t.train, test: t.test }));
  if (opts.dynamic !== false) {
    const batch = headRows({ ...t.train }, 64);
    add(
      c,
      await checkDynamic({
        model: t.model,
        batch,
        inputKeys: t.inputKeys,
        loss: t.loss ?? defaultLoss,
        optimizer: t.optimizer ?? adam(),
        lr: t.lr ?? 1e-3,
        classes: t.classes,
        clipGradNorm: t.clipGradNorm,
        overfitSteps: opts.overfitSteps,
      }),
    );
  } else c.skipped.push('dynamic checks: turned off');
  return finish(t.name ?? 'model', 'dynamic', c, opts.ignore ?? []);
}
