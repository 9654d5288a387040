// `lathe compress` as a library call: quantize a float ONNX model with a config, and measure what it changed —
// file size, accuracy on held-out data before and after, ORT latency at the configured batch sizes, the kernels ORT
// runs, and what happened to every layer. The CLI adds files, tracking and the registry around it.
import { int8MayOverflow } from './cpu-features.js';
import { cpus, loadavg } from 'node:os';
import type { NDArray } from '../graph/ndarray.js';
import { getDataset } from '../data/catalog.js';
import { encodeModel } from '../onnx/encode.js';
import type { ModelProto } from '../onnx/proto.js';
import type { SessionConfig } from '../runtime/device.js';
import { Rng } from '../util/random.js';
import { batchFeeds } from './calibrate.js';
import type { CompressConfig } from './config.js';
import { CompressError } from './errors.js';
import { accuracyOf, labelsOf, latencyOf, type EvalSet } from './evaluate.js';
import { optimizedKernels } from './kernels.js';
import { quantizeDynamic } from './dynamic.js';
import { pruneMagnitude, type PrunedLayer } from './prune.js';
import { pruneChannels, type ChannelGroup } from './channel-prune.js';
import { gzipSync } from 'node:zlib';
import { quantizationAwareTraining } from './qat-train.js';
import { fineTune, onnxWithWeights, type LabelledData } from './fine-tune.js';
import { OnnxModule } from '../nn/onnx-module.js';
import { quantizeStatic, sensitivity, type SensitivityRow, type StaticQuantResult } from './quantize.js';

/** Zeros shaped like the model's first input (symbolic dimensions 1), for timing a model without a data set. */
function syntheticInput(m: ModelProto): NDArray {
  const i = m.graph.input.find((v) => !m.graph.initializer.some((t) => t.name === v.name))!;
  const dims = (i.type?.tensorType?.shape?.dim ?? []).map((d) => ('dimValue' in d ? d.dimValue : 1));
  const n = dims.reduce((a, b) => a * b, 1);
  const elem = i.type?.tensorType?.elemType;
  if (elem === 7) return { dtype: 'int64', shape: dims, data: new BigInt64Array(n) };
  if (elem !== 1)
    throw new CompressError(`input ${i.name}: only float32 and int64 inputs can be timed without a data set`);
  return { dtype: 'float32', shape: dims, data: new Float32Array(n) };
}

/**
 * Key of the ONNX metadata entry that {@link compressModel} writes on the compressed model: JSON of the quantization
 * and pruning applied and the model's source.
 */
export const COMPRESSION_METADATA_KEY = 'lathe.compression';

/**
 * The data {@link compressModel} needs: calibration inputs for static quantization and, optionally, a labelled
 * held-out set for the accuracy before and after.
 */
export interface CompressData {
  /** Calibration inputs [N, ...] (the model's first input). */
  readonly calibration: NDArray;
  /** Held-out inputs and labels for accuracy (optional: without it the report has no accuracy). */
  readonly eval?: EvalSet;
  /** Labelled training data for quantization-aware training (mode qat). */
  readonly train?: LabelledData;
}

/**
 * One row of the report's layer table: a node, its op type, and whether it runs in int8, is folded into a
 * quantized producer, or stays in float (with the reason in `detail`).
 */
export interface LayerRow {
  readonly node: string;
  readonly opType: string;
  /** 'int8', 'folded' (an activation absorbed by the quantized output of `into`), or 'float'. */
  readonly status: 'int8' | 'folded' | 'float';
  readonly detail?: string;
}

/**
 * What {@link compressModel} measured: model size before and after (bytes, and gzip bytes when pruned), pruning
 * sparsity, top-1 accuracy before and after with the drop in points, latency per batch size, the kernels ORT runs,
 * the per-layer table, the optional sensitivity analysis and the machine the timings were taken on.
 */
export interface CompressReport {
  readonly source: string;
  readonly quantize: CompressConfig['quantize'];
  readonly size: {
    readonly beforeBytes: number;
    readonly afterBytes: number;
    readonly ratio: number;
    readonly beforeGzipBytes?: number;
    readonly afterGzipBytes?: number;
  };
  /** Magnitude pruning: the config, the sparsity reached over the prunable weights, and each layer's. */
  readonly prune?: CompressConfig['prune'] & {
    readonly sparsityReached: number;
    readonly params: number;
    readonly layers: readonly PrunedLayer[];
    /** Channel pruning: the conv groups whose channels were removed, and those left whole with the reason. */
    readonly channelGroups?: readonly ChannelGroup[];
    readonly keptGroups?: readonly { readonly producers: readonly string[]; readonly reason: string }[];
  };
  readonly accuracy?: {
    readonly before: number;
    readonly after: number;
    readonly dropPoints: number;
    /** mode qat: the accuracy of plain static quantization (before fine-tuning) and its drop, for comparison. */
    readonly ptq?: number;
    readonly ptqDropPoints?: number;
    readonly samples: number;
    readonly set: string;
  };
  readonly latency: readonly {
    readonly batch: number;
    readonly beforeMs: number;
    readonly afterMs: number;
    readonly speedup: number;
  }[];
  /** Compute kernels ORT runs for the compressed model (after its fusions). */
  readonly kernels: Readonly<Record<string, number>>;
  readonly layers: readonly LayerRow[];
  readonly sensitivity?: readonly SensitivityRow[];
  readonly calibrationSamples: number;
  readonly machine: {
    readonly cpu: string;
    readonly loadavg: readonly number[];
    readonly date: string;
    readonly threads?: number;
  };
}

/** Calibration rows (a seeded sample of the training split) and the held-out test split of a catalog data set. */
export function loadCompressData(cfg: CompressConfig): CompressData {
  const name = cfg.data.name;
  if (!name)
    throw new CompressError(
      'data.name: name the data set to calibrate and evaluate on (e.g. --data fashion-mnist), or compress a run directory (its own data set)',
    );
  let ds: ReturnType<ReturnType<typeof getDataset>['load']>;
  try {
    ds = getDataset(name).load({ root: cfg.data.root });
  } catch (err) {
    throw new CompressError(`data: ${(err as Error).message}`);
  }
  const take = (x: NDArray, idx: readonly number[]): NDArray => {
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = new (x.data.constructor as Float32ArrayConstructor)(idx.length * row);
    idx.forEach((r, i) => out.set((x.data as Float32Array).subarray(r * row, (r + 1) * row), i * row));
    return { dtype: x.dtype, shape: [idx.length, ...x.shape.slice(1)], data: out } as NDArray;
  };
  const n = ds.train.x.shape[0];
  const k = Math.min(n, cfg.quantize.calibration.samples);
  const rng = new Rng(cfg.quantize.calibration.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.random() * (n - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const m = Math.min(ds.test.x.shape[0], cfg.data.evalSamples ?? Infinity);
  const fineTuning = cfg.prune?.fineTune;
  const qatSamples = Math.min(n, fineTuning?.samples ?? cfg.quantize.qat.samples ?? n);
  const train =
    cfg.quantize.mode !== 'qat' && !fineTuning
      ? undefined
      : qatSamples === n
        ? { x: ds.train.x, y: ds.train.y }
        : {
            x: take(
              ds.train.x,
              Array.from({ length: qatSamples }, (_, i) => i),
            ),
            y: take(
              ds.train.y,
              Array.from({ length: qatSamples }, (_, i) => i),
            ),
          };
  const testIdx = Array.from({ length: m }, (_, i) => i);
  return {
    calibration: take(ds.train.x, order.slice(0, k)),
    eval: {
      x: m === ds.test.x.shape[0] ? ds.test.x : take(ds.test.x, testIdx),
      y: m === ds.test.y.shape[0] ? ds.test.y : take(ds.test.y, testIdx),
      source: `${name} test split`,
    },
    ...(train ? { train } : {}),
  };
}

/** Options of {@link compressModel}. */
export interface CompressOptions {
  /** Where the model came from (a path, run or models:/ URI), recorded in the report and the model's metadata. */
  readonly source: string;
  /** Called with a one-line message as each stage (pruning, calibration, scoring, sensitivity, timing) proceeds. */
  readonly onProgress?: (message: string) => void;
}

/** Quantizes `model` as `cfg` says and measures it against the original. */
export async function compressModel(
  model: ModelProto,
  data: CompressData | undefined,
  cfg: CompressConfig,
  opts: CompressOptions,
): Promise<{ model: ModelProto; report: CompressReport }> {
  // `auto` reduce range resolves here, so the report and metadata say what was done
  const q = {
    ...cfg.quantize,
    reduceRange: cfg.quantize.reduceRange === 'auto' ? int8MayOverflow() : cfg.quantize.reduceRange,
  };
  cfg = { ...cfg, quantize: q };
  const say = opts.onProgress ?? (() => undefined);
  const session: SessionConfig = { threads: cfg.report.threads };
  const input = model.graph.input.find((i) => !model.graph.initializer.some((t) => t.name === i.name));
  if (!input) throw new CompressError(`${opts.source}: the model has no graph input to feed`);
  // fail before the long work: a sensitivity analysis scores accuracy, so it needs labels
  if (q.mode === 'qat' && !data?.train)
    throw new CompressError(
      'quantize.mode qat fine-tunes on labelled training data: name a data set (data.name, --data) or compress a run',
    );
  if (q.sensitivity && q.mode === 'dynamic')
    throw new CompressError('quantize.sensitivity: the per-layer analysis is for static quantization (mode: static)');
  if (q.sensitivity)
    labelsOf(
      data?.eval ?? {
        x: data?.calibration ?? { dtype: 'float32', shape: [0], data: new Float32Array(0) },
        source: data ? 'the calibration data (no held-out set was given)' : 'no data set',
      },
      'quantize.sensitivity',
    );
  const original = model;
  let pruned: ReturnType<typeof pruneMagnitude> | undefined;
  let channels: ReturnType<typeof pruneChannels> | undefined;
  if (cfg.prune?.method === 'channel') {
    say(`removing ${cfg.prune.sparsity} of the channels of every prunable conv group`);
    if (cfg.prune.sparsity <= 0) throw new CompressError('prune.sparsity: channel pruning needs a fraction above 0');
    channels = pruneChannels(model, { ratio: cfg.prune.sparsity, multiple: cfg.prune.channelMultiple });
    if (!channels.groups.length)
      throw new CompressError(
        `nothing to prune: no conv group of the model can lose channels${channels.kept.length ? ` (${channels.kept.map((k) => k.reason).join('; ')})` : ''}`,
      );
    model = channels.model;
    const ft = cfg.prune.fineTune;
    if (ft) {
      if (!data?.train)
        throw new CompressError('prune.fineTune trains on labelled data: name a data set (data.name, --data)');
      say(`fine-tuning the pruned model: ${ft.epochs} epoch(s) on ${data.train.x.shape[0]} samples`);
      const net = new OnnxModule(model);
      await fineTune(
        net,
        data.train,
        { ...ft, session, onProgress: (b, of, l) => say(`fine-tune batch ${b}/${of}: loss ${l.toFixed(4)}`) },
        'prune.fineTune',
      );
      model = onnxWithWeights(model, net);
    }
    const count = (m: ModelProto) =>
      m.graph.node
        .filter((n) => n.opType === 'Conv' || n.opType === 'Gemm')
        .reduce(
          (a, n) =>
            a +
            (m.graph.initializer.find((t) => t.name === n.input[1])?.dims.reduce((x: number, y) => x * Number(y), 1) ??
              0),
          0,
        );
    const [p0, p1] = [count(original), count(model)];
    pruned = { model, layers: [], sparsity: 1 - p1 / p0, params: p0 };
  } else if (cfg.prune) {
    if (cfg.prune.fineTune)
      throw new CompressError(
        'prune.fineTune: only channel pruning fine-tunes (training would refill the zeros of magnitude pruning)',
      );
    say(`pruning to ${cfg.prune.sparsity} sparsity (magnitude, ${cfg.prune.scope})`);
    pruned = pruneMagnitude(model, {
      sparsity: cfg.prune.sparsity,
      scope: cfg.prune.scope,
      excludeNodes: cfg.prune.excludeNodes,
    });
    model = pruned.model;
  }
  let quant: StaticQuantResult | undefined;
  let float: ModelProto,
    quantized: ModelProto,
    plan: { nodes: ReadonlySet<string>; folded: ReadonlyMap<string, string>; skipped: ReadonlyMap<string, string> };
  let ptqAccuracy: number | undefined;
  if (q.mode === 'static' || q.mode === 'qat') {
    if (!data)
      throw new CompressError(
        'static quantization calibrates activation ranges on data: name a data set (data.name, --data) or use --quantize dynamic',
      );
    say(`calibrating on ${data.calibration.shape[0]} samples (${q.calibration.method})`);
    quant = await quantizeStatic(model, batchFeeds({ [input.name]: data.calibration }, q.calibration.batchSize), {
      method: q.calibration.method,
      percentile: q.calibration.percentile,
      perChannel: q.perChannel,
      activationType: q.activationType,
      reduceRange: q.reduceRange,
      excludeNodes: q.exclude.nodes,
      excludeOpTypes: q.exclude.opTypes,
      session,
      onProgress: (pass, b, of) => {
        if (b === of) say(`calibration pass ${pass} done (${of} batches)`);
      },
    });
    ({ float, model: quantized } = quant);
    plan = { nodes: new Set(quant.plan.kinds.keys()), folded: quant.plan.folded, skipped: quant.plan.skipped };
    if (q.mode === 'qat') {
      if (data.eval?.y) ptqAccuracy = await accuracyOf(encodeModel(quantized), data.eval, { session });
      const t = data.train!;
      say(`quantization-aware training: ${q.qat.epochs} epoch(s) on ${t.x.shape[0]} samples (${q.qat.scales} scales)`);
      const r = await quantizationAwareTraining(quant, t, {
        ...q.qat,
        activationType: q.activationType,
        reduceRange: q.reduceRange,
        session,
        onProgress: (b, of, loss) => say(`QAT batch ${b}/${of}: loss ${loss.toFixed(4)}`),
      });
      quantized = r.model;
    }
  } else if (q.mode === 'none') {
    if (!cfg.prune) throw new CompressError('quantize.mode none: nothing to do (no prune section either)');
    float = original;
    quantized = model;
    plan = { nodes: new Set(), folded: new Map(), skipped: new Map() };
  } else {
    const d = await quantizeDynamic(model, {
      perChannel: q.perChannel,
      reduceRange: q.reduceRange,
      excludeNodes: q.exclude.nodes,
      excludeOpTypes: q.exclude.opTypes,
    });
    ({ float, model: quantized } = d);
    plan = { nodes: new Set(d.nodes), folded: new Map(), skipped: d.skipped };
  }
  const kind =
    q.mode === 'static'
      ? 'static-int8'
      : q.mode === 'qat'
        ? 'qat-int8'
        : q.mode === 'dynamic'
          ? 'dynamic-int8'
          : 'none';
  const pruneMeta = pruned
    ? { prune: { method: cfg.prune!.method, scope: cfg.prune!.scope, sparsity: pruned.sparsity } }
    : {};
  const quantMeta =
    q.mode === 'none'
      ? {}
      : {
          quantize: kind,
          ...(q.mode === 'static' || q.mode === 'qat'
            ? { method: q.calibration.method, activationType: q.activationType }
            : {}),
          perChannel: q.perChannel,
          reduceRange: q.reduceRange,
        };
  const metadata = [
    ...(quantized.metadataProps ?? []).filter((p) => p.key !== COMPRESSION_METADATA_KEY),
    { key: COMPRESSION_METADATA_KEY, value: JSON.stringify({ ...quantMeta, ...pruneMeta, source: opts.source }) },
  ];
  const out: ModelProto = { ...quantized, metadataProps: metadata };
  const before = encodeModel(pruned ? original : float);
  const after = encodeModel(out);

  let accuracy: CompressReport['accuracy'];
  let sens: SensitivityRow[] | undefined;
  if (data?.eval) {
    say(`scoring ${data.eval.x.shape[0]} held-out samples before and after`);
    const a0 = await accuracyOf(before, data.eval, { session });
    const a1 = await accuracyOf(after, data.eval, { session });
    accuracy = {
      before: a0,
      after: a1,
      dropPoints: 100 * (a0 - a1),
      ...(ptqAccuracy !== undefined ? { ptq: ptqAccuracy, ptqDropPoints: 100 * (a0 - ptqAccuracy) } : {}),
      samples: data.eval.x.shape[0],
      set: data.eval.source ?? 'held-out set',
    };
    if (q.sensitivity && quant)
      sens = await sensitivity(quant, data.eval, {
        excludeNodes: q.exclude.nodes,
        excludeOpTypes: q.exclude.opTypes,
        perChannel: q.perChannel,
        activationType: q.activationType,
        reduceRange: q.reduceRange,
        session,
        floatAccuracy: a0,
        onProgress: (i, of, node) => say(`sensitivity ${i}/${of}: ${node}`),
      });
  }

  const latency: { batch: number; beforeMs: number; afterMs: number; speedup: number }[] = [];
  const sample = data?.eval?.x ?? data?.calibration ?? syntheticInput(float);
  // magnitude pruning alone changes no kernel: the dense graph runs as fast as before, so nothing is timed or claimed;
  // channel pruning makes smaller convs, so it is timed
  for (const batch of q.mode === 'none' && !channels ? [] : cfg.report.latencyBatches) {
    say(`timing batch ${batch}`);
    // alternate the two models twice and keep each one's best: a burst of load then hits both
    let b = Infinity,
      a = Infinity;
    for (let k = 0; k < 2; k++) {
      b = Math.min(b, (await latencyOf(before, sample, batch, { session })).msPerBatch);
      a = Math.min(a, (await latencyOf(after, sample, batch, { session })).msPerBatch);
    }
    latency.push({ batch, beforeMs: b, afterMs: a, speedup: b / a });
  }

  const layers: LayerRow[] =
    q.mode === 'none'
      ? []
      : float.graph.node.map((n) => {
          const name = n.name!;
          if (plan.nodes.has(name)) return { node: name, opType: n.opType, status: 'int8' };
          if (plan.folded.has(name))
            return { node: name, opType: n.opType, status: 'folded', detail: `into ${plan.folded.get(name)}` };
          return {
            node: name,
            opType: n.opType,
            status: 'float',
            detail: plan.skipped.get(name) ?? (q.mode === 'dynamic' ? 'not a MatMul/Gemm' : 'input not quantized'),
          };
        });
  const report: CompressReport = {
    source: opts.source,
    quantize: q,
    size: {
      beforeBytes: before.length,
      afterBytes: after.length,
      ratio: before.length / after.length,
      ...(pruned ? { beforeGzipBytes: gzipSync(before).length, afterGzipBytes: gzipSync(after).length } : {}),
    },
    ...(pruned
      ? {
          prune: {
            ...cfg.prune!,
            sparsityReached: pruned.sparsity,
            params: pruned.params,
            layers: pruned.layers,
            ...(channels ? { channelGroups: channels.groups, keptGroups: channels.kept } : {}),
          },
        }
      : {}),
    ...(accuracy ? { accuracy } : {}),
    latency,
    kernels: q.mode === 'none' ? {} : await optimizedKernels(after, { session }),
    layers,
    ...(sens ? { sensitivity: sens } : {}),
    calibrationSamples: q.mode === 'static' || q.mode === 'qat' ? data!.calibration.shape[0] : 0,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
      date: new Date().toISOString(),
      ...(cfg.report.threads ? { threads: cfg.report.threads } : {}),
    },
  };
  return { model: out, report };
}
