// `lathe compress <model.onnx | run directory | models:/name/version>`: quantize a model, write the compressed ONNX
// and its report (JSON + Markdown), and with --track log it to tracking (and --register it as a new registry version)
// with the source recorded as its lineage. The work is src/compress's compressModel; this file resolves the source,
// merges flags over the config and writes the results.
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import {
  compressModel,
  loadCompressConfig,
  loadCompressData,
  parseCompressConfig,
  reportMarkdown,
  type CompressConfig,
  type CompressReport,
} from '../compress/index.js';
import { datasetNames } from '../data/catalog.js';
import { loadModelFile } from '../onnx/external-data.js';
import { encodeModel } from '../onnx/encode.js';
import { openStore, openTracking } from '../track/open.js';
import { registerModel, resolveModelUri } from '../track/registry.js';
import { runConfig } from '../train/run.js';
import { UserError } from '../util/errors.js';
import { writeAtomicFile as writeAtomic } from '../util/write-atomic.js';
import { CliError } from './errors.js';

interface CompressFlags {
  config?: string;
  quantize?: string;
  prune?: string;
  sparsity?: string;
  pruneScope?: string;
  calibration?: string;
  percentile?: string;
  samples?: string;
  perTensor?: boolean;
  activationType?: string;
  reduceRange?: boolean;
  excludeNode: string[];
  excludeOp: string[];
  sensitivity?: boolean;
  qatEpochs?: string;
  finetuneEpochs?: string;
  qatLr?: string;
  qatScales?: string;
  data?: string;
  dataRoot?: string;
  evalSamples?: string;
  latencyBatches?: string;
  threads?: string;
  output?: string;
  track?: string | boolean;
  register?: string;
  json?: boolean;
}

/** What `<source>` names: the ONNX file, a default output path, and what is known of its data and origin. */
interface Source {
  readonly onnx: string;
  readonly defaultOutput: string;
  readonly data?: { readonly name: string; readonly root?: string };
  readonly runId?: string;
  readonly modelVersion?: { readonly name: string; readonly version: number };
}

async function resolveSource(source: string, trackUrl: string | undefined): Promise<Source> {
  if (source.startsWith('models:')) {
    const store = await openStore(trackUrl);
    try {
      const r = await resolveModelUri(source, store);
      const cfg = r.record.lineage?.config as { data?: { name?: string; root?: string } } | undefined;
      return {
        onnx: r.onnxPath,
        defaultOutput: `${r.name}-v${r.version}.int8.onnx`,
        runId: r.record.runId ?? undefined,
        modelVersion: { name: r.name, version: r.version },
        ...(cfg?.data?.name ? { data: { name: cfg.data.name, root: cfg.data.root } } : {}),
      };
    } finally {
      await store.close();
    }
  }
  if (!existsSync(source)) throw new CliError(`${source}: no such file or run directory`);
  if (statSync(source).isDirectory()) {
    const cfg = runConfig(source);
    const onnx = join(source, 'model.onnx');
    if (!existsSync(onnx))
      throw new CliError(
        `${source}: the run has no model.onnx yet (export one with lathe export ${source} --onnx ${onnx})`,
      );
    return { onnx, defaultOutput: join(source, 'model.int8.onnx'), data: { name: cfg.data.name, root: cfg.data.root } };
  }
  if (!source.endsWith('.onnx'))
    throw new CliError(`${source}: expected an .onnx file, a run directory or a models:/ URI`);
  return { onnx: source, defaultOutput: source.replace(/\.onnx$/, '.int8.onnx') };
}

function num(v: string, flag: string, check: (n: number) => boolean): number;
function num(v: string | undefined, flag: string, check: (n: number) => boolean): number | undefined;
function num(v: string | undefined, flag: string, check: (n: number) => boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!check(n)) throw new CliError(`--${flag}: invalid value '${v}'`);
  return n;
}

/** The config file (or the defaults) with the flags laid over it. */
function compressConfigFromCli(flags: CompressFlags, source: Source): CompressConfig {
  const base = flags.config ? loadCompressConfig(flags.config) : parseCompressConfig({});
  if (flags.quantize !== undefined && !['static', 'dynamic', 'qat', 'none'].includes(flags.quantize))
    throw new CliError(`--quantize: '${flags.quantize}' is not available (available: static, dynamic, qat, none)`);
  if (flags.prune !== undefined && flags.prune !== 'magnitude' && flags.prune !== 'channel')
    throw new CliError(`--prune: '${flags.prune}' is not available (available: magnitude, channel)`);
  if ((flags.sparsity !== undefined || flags.pruneScope !== undefined) && !flags.prune && !base.prune)
    throw new CliError('--sparsity/--prune-scope: add --prune magnitude');
  if (flags.prune && flags.sparsity === undefined && !base.prune)
    throw new CliError('--prune: give the target --sparsity (e.g. 0.5)');
  const prune =
    flags.prune || base.prune
      ? {
          ...(base.prune ?? {}),
          method: flags.prune ?? base.prune?.method,
          sparsity: num(flags.sparsity, 'sparsity', (n) => n >= 0 && n < 1) ?? base.prune?.sparsity,
          scope: flags.pruneScope ?? base.prune?.scope,
          ...(flags.finetuneEpochs !== undefined || base.prune?.fineTune
            ? {
                fineTune: {
                  ...(base.prune?.fineTune ?? {}),
                  epochs:
                    num(flags.finetuneEpochs, 'finetune-epochs', (n) => Number.isInteger(n) && n > 0) ??
                    base.prune?.fineTune?.epochs,
                },
              }
            : {}),
        }
      : undefined;
  const q = base.quantize;
  const c = q.calibration;
  const batches = flags.latencyBatches
    ?.split(',')
    .map((s) => num(s, 'latency-batches', (n) => Number.isInteger(n) && n > 0));
  return parseCompressConfig(
    {
      quantize: {
        ...q,
        // --prune alone only prunes (add --quantize static to quantize the pruned model too)
        mode: flags.quantize ?? (flags.prune && !base.prune ? 'none' : q.mode),
        calibration: {
          ...c,
          method: flags.calibration ?? c.method,
          percentile: num(flags.percentile, 'percentile', (n) => n > 50 && n <= 100) ?? c.percentile,
          samples: num(flags.samples, 'samples', (n) => Number.isInteger(n) && n >= 0) ?? c.samples,
        },
        perChannel: flags.perTensor ? false : q.perChannel,
        activationType: flags.activationType ?? q.activationType,
        reduceRange: flags.reduceRange ?? q.reduceRange,
        exclude: {
          nodes: [...q.exclude.nodes, ...flags.excludeNode],
          opTypes: [...q.exclude.opTypes, ...flags.excludeOp],
        },
        sensitivity: flags.sensitivity ?? q.sensitivity,
        qat: {
          ...q.qat,
          epochs: num(flags.qatEpochs, 'qat-epochs', (n) => Number.isInteger(n) && n > 0) ?? q.qat.epochs,
          lr: num(flags.qatLr, 'qat-lr', (n) => n > 0) ?? q.qat.lr,
          scales: flags.qatScales ?? q.qat.scales,
        },
      },
      ...(prune ? { prune } : {}),
      data: {
        ...base.data,
        name: flags.data ?? base.data.name ?? source.data?.name,
        root: flags.dataRoot ?? base.data.root ?? (flags.data ? undefined : source.data?.root),
        evalSamples:
          num(flags.evalSamples, 'eval-samples', (n) => Number.isInteger(n) && n > 0) ?? base.data.evalSamples,
      },
      report: {
        ...base.report,
        latencyBatches: batches ?? base.report.latencyBatches,
        threads: num(flags.threads, 'threads', (n) => Number.isInteger(n) && n > 0) ?? base.report.threads,
      },
    },
    flags.config ?? 'flags',
  );
}

function flat(
  v: unknown,
  path = '',
  out: Record<string, string | number | boolean> = {},
): Record<string, string | number | boolean> {
  if (v && typeof v === 'object' && !Array.isArray(v))
    for (const [k, x] of Object.entries(v)) flat(x, path ? `${path}.${k}` : k, out);
  else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[path] = v;
  else if (v !== undefined) out[path] = JSON.stringify(v);
  return out;
}

async function logToTracking(
  url: string | undefined,
  source: string,
  src: Source,
  cfg: CompressConfig,
  report: CompressReport,
  files: { onnx: string; json: string; md: string },
  register?: string,
): Promise<{ runId: string; uri?: string }> {
  const tracking = await openTracking(url);
  try {
    const what = [
      ...(cfg.prune ? [`${cfg.prune.method}-pruned-${cfg.prune.sparsity}`] : []),
      ...(cfg.quantize.mode === 'none' ? [] : [`${cfg.quantize.mode}-int8`]),
    ].join('+');
    const tags: Record<string, string> = { 'lathe.source': source, 'lathe.compression': what };
    if (src.runId) tags['lathe.source_run'] = src.runId;
    if (src.modelVersion) tags['lathe.source_model'] = `models:/${src.modelVersion.name}/${src.modelVersion.version}`;
    const run = await tracking.startRun({
      experiment: 'compress',
      name: `compress ${basename(source)}`,
      params: flat(cfg),
      config: { source, ...cfg },
      tags,
    });
    const metrics: Record<string, number> = { size_bytes: report.size.afterBytes, size_ratio: report.size.ratio };
    if (report.prune) metrics.sparsity = report.prune.sparsityReached;
    if (report.accuracy)
      Object.assign(metrics, {
        accuracy_before: report.accuracy.before,
        accuracy_after: report.accuracy.after,
        accuracy_drop_points: report.accuracy.dropPoints,
        test_accuracy: report.accuracy.after,
      });
    for (const l of report.latency)
      Object.assign(metrics, { [`latency_b${l.batch}_ms`]: l.afterMs, [`speedup_b${l.batch}`]: l.speedup });
    run.logMetrics(metrics, 0);
    await run.logArtifact(files.onnx, { name: 'model.onnx' });
    await run.logArtifact(files.json, { name: 'compress-report.json' });
    await run.logArtifact(files.md, { name: 'compress-report.md' });
    await run.end('finished');
    if (!register) return { runId: run.id };
    const v = await registerModel(tracking.store, {
      name: register,
      runId: run.id,
      onnx: 'model.onnx',
      description: `${what} of ${source}`,
      tags,
    });
    return { runId: run.id, uri: `models:/${register}/${v.version}` };
  } finally {
    await tracking.close();
  }
}

export function registerCompress(program: Command): void {
  program
    .command('compress')
    .description(
      'quantize a model to int8 (static or dynamic) and/or prune it, and report size, accuracy and latency before and after',
    )
    .argument('<source>', '.onnx file, run directory, or models:/name/<version> | models:/name@alias')
    .option('--config <file>', 'compress config (YAML/JSON; see docs/compress.md); flags override it')
    .option(
      '--quantize <mode>',
      'static (int8 weights and activations, calibrated), qat (static after quantization-aware fine-tuning) or dynamic (int8 MatMul/Gemm weights, activations per batch)',
    )
    .option(
      '--prune <method>',
      'magnitude: zero the smallest weights of Conv/Gemm/MatMul layers; channel: remove conv filters and their dependents (alone: no quantization)',
    )
    .option(
      '--sparsity <s>',
      'with --prune: the fraction of weights set to zero (magnitude) or of channels removed (channel), e.g. 0.5',
    )
    .option(
      '--finetune-epochs <n>',
      'with --prune channel: fine-tune the pruned model for n epochs on the training split',
    )
    .option('--prune-scope <scope>', 'with --prune: global (one threshold, default) or layerwise')
    .option('--calibration <method>', 'activation ranges: minmax, percentile or entropy')
    .option('--percentile <p>', 'with --calibration percentile: the percentile kept (default 99.999)')
    .option('--samples <n>', 'calibration samples from the training split (default 512)')
    .option('--per-tensor', 'one weight scale per tensor instead of per output channel')
    .option('--activation-type <t>', 'uint8 (default) or int8 activations')
    .option('--reduce-range', '7-bit weights (default: on when this CPU lacks VNNI)')
    .option('--no-reduce-range', 'full-range 8-bit weights even on a CPU without VNNI')
    .option(
      '--exclude-node <name>',
      'keep this node in float (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--exclude-op <type>',
      'keep every node of this op type in float (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--sensitivity', 'score each layer quantized alone (one evaluation per layer)')
    .option('--qat-epochs <n>', 'with --quantize qat: fine-tuning epochs (default 1)')
    .option('--qat-lr <lr>', 'with --quantize qat: learning rate (default 1e-4)')
    .option('--qat-scales <s>', 'with --quantize qat: fixed (observed, then frozen; default) or learned (LSQ)')
    .option('--data <name>', "data set to calibrate and evaluate on (default: the run's)")
    .option('--data-root <dir>', 'folder of the data set files')
    .option('--eval-samples <n>', 'held-out samples scored (default: the whole test split)')
    .option('--latency-batches <list>', 'batch sizes timed before and after (default 1,64)')
    .option('--threads <n>', 'ORT intra-op threads for calibration, scoring and timing')
    .option('--output <file>', 'compressed model path (default: <source>.int8.onnx, or model.int8.onnx in a run)')
    .option('--track [url]', 'log the result to a tracking store (default $LATHE_TRACKING_URL or ./.lathe)')
    .option('--register <name>', 'with --track: register the compressed model as a new version of this registry model')
    .option('--json', 'print the report as JSON')
    .action(async (source: string, o: CompressFlags) => {
      try {
        const trackUrl = typeof o.track === 'string' ? o.track : undefined;
        if (o.register && !o.track && !process.env.LATHE_TRACKING_URL)
          throw new CliError('--register needs --track (the registry lives in the tracking store)');
        const src = await resolveSource(source, trackUrl);
        const cfg = compressConfigFromCli(o, src);
        // dynamic quantization needs no calibration: data only when one is named (for accuracy)
        const data =
          cfg.quantize.mode !== 'static' &&
          cfg.quantize.mode !== 'qat' &&
          !(cfg.data.name && datasetNames().includes(cfg.data.name))
            ? undefined
            : loadCompressData(cfg);
        const model = loadModelFile(src.onnx);
        const { model: out, report } = await compressModel(model, data, cfg, {
          source,
          onProgress: (m) => process.stderr.write(`lathe compress: ${m}\n`),
        });
        const output =
          o.output ??
          (cfg.quantize.mode === 'none'
            ? src.defaultOutput.replace(/\.int8\.onnx$/, '.pruned.onnx')
            : src.defaultOutput);
        writeAtomic(output, encodeModel(out));
        const stem = output.replace(/\.onnx$/, '');
        const files = { onnx: output, json: `${stem}.report.json`, md: `${stem}.report.md` };
        writeAtomic(files.json, JSON.stringify(report, null, 2) + '\n');
        writeAtomic(files.md, reportMarkdown(report));
        const tracked =
          o.track || process.env.LATHE_TRACKING_URL
            ? await logToTracking(trackUrl, source, src, cfg, report, files, o.register)
            : undefined;
        if (o.json)
          console.log(
            JSON.stringify({
              event: 'compressed',
              output,
              report: files.json,
              ...(tracked ? { trackedRun: tracked.runId, ...(tracked.uri ? { registered: tracked.uri } : {}) } : {}),
              ...report,
            }),
          );
        else {
          process.stdout.write(reportMarkdown(report).split('\n## Layers')[0]);
          console.log(
            `\ncompressed model: ${output}\nreport: ${files.md}, ${files.json}${tracked ? `\ntracked run: ${tracked.runId}${tracked.uri ? `\nregistered: ${tracked.uri}` : ''}` : ''}`,
          );
        }
      } catch (err) {
        if (err instanceof UserError && !(err instanceof CliError)) throw new CliError(err.message);
        throw err;
      }
    });
}
