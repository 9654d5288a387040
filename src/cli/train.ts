// `lathe train | eval | export | predict | quickstart`: thin commands over src/train (`models` is in models.ts).
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { exportModule } from '../nn/export.js';
import { ConfigError, loadTrainConfig } from '../train/config.js';
import { FASHION_CLASSES, readIdx } from '../train/datasets.js';
import { quickstartConfig } from '../train/quickstart.js';
import { evaluateCheckpoint, modelFromCheckpoint, runConfig, runTraining } from '../train/run.js';
import { CliError } from './errors.js';
import { openTracking } from '../track/open.js';
import { trackingCallback } from '../track/callback.js';
import { registerModel as registerTrackedModel } from '../track/registry.js';
import type { TrainConfig } from '../train/config.js';

/** Flattens a config into tracking params ("optimizer.lr": 0.002). */
function flatParams(cfg: TrainConfig): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const walk = (v: unknown, path: string): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[path] = v;
    else out[path] = JSON.stringify(v);
  };
  walk(cfg, '');
  return out;
}

/** Turns library errors about the user's input into CLI errors (exit code 2). */
async function userErrors<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const msg = (err as Error).message;
    if (err instanceof ConfigError || /not found|missing|corrupt|unknown (model|dataset)|not a lathe run|bad magic|checksum|No such file/i.test(msg)) {
      throw new CliError(msg);
    }
    throw err;
  }
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model from a YAML/JSON config (or resume a run)')
    .argument('[config]', 'config file (YAML or JSON)')
    .option('--resume <runDir>', 'resume the run in this directory from its last checkpoint')
    .option('--json', 'JSON-lines progress even on a terminal')
    .option('--track [url]', 'log params, metrics and lineage to a tracking store (default $LATHE_TRACKING_URL or ./.lathe; on automatically when LATHE_TRACKING_URL is set)')
    .option('--register <name>', 'with --track: register the trained ONNX model in the model registry under this name')
    .action(async (config: string | undefined, o: { resume?: string; json?: boolean; track?: string | boolean; register?: string }) => {
      const cfg = await userErrors(() => {
        if (o.resume) return runConfig(o.resume);
        if (!config) throw new CliError('give a config file, or --resume <runDir>');
        return loadTrainConfig(config);
      });
      // tracked when asked (--track) or when a tracking URL is configured in the environment
      const tracking = o.track || process.env.LATHE_TRACKING_URL ? await openTracking(typeof o.track === 'string' ? o.track : undefined) : undefined;
      const run = tracking ? await tracking.startRun({ experiment: cfg.name, params: flatParams(cfg), config: cfg, seed: cfg.seed }) : undefined;
      try {
        const r = await userErrors(() => runTraining(cfg, { resume: !!o.resume, json: o.json, callbacks: run ? [trackingCallback(run, { everyBatches: 50, endRun: false })] : [] }));
        if (run && tracking) {
          run.logMetrics({ test_accuracy: r.testAccuracy ?? NaN, test_loss: r.testLoss }, r.epochs);
          await run.logArtifact(r.onnxPath, { name: 'model.onnx' });
          await run.end('finished');
          if (o.register) {
            const v = await registerTrackedModel(tracking.store, { name: o.register, runId: run.id, onnx: 'model.onnx' });
            console.log(JSON.stringify({ event: 'registered', uri: `models:/${o.register}/${v.version}` }));
          }
        }
        console.log(JSON.stringify({ event: 'done', ...r, ...(run ? { trackedRun: run.id } : {}) }));
      } catch (err) {
        if (run) await run.end('failed');
        throw err;
      } finally {
        await tracking?.close();
      }
    });

  program
    .command('eval')
    .description('evaluate a checkpoint (or a run directory) on its dataset’s test split')
    .argument('<checkpoint>', 'checkpoint manifest (.json) or run directory')
    .action(async (path: string) => {
      const r = await userErrors(() => evaluateCheckpoint(path));
      console.log(JSON.stringify(r));
    });

  program
    .command('export')
    .description('export a checkpoint as an ONNX model for inference')
    .argument('<checkpoint>', 'checkpoint manifest (.json) or run directory')
    .requiredOption('--onnx <file>', 'output .onnx path')
    .option('--no-fold-batchnorm', 'keep BatchNormalization nodes instead of folding them into the preceding conv')
    .action(async (path: string, o: { onnx: string; foldBatchnorm: boolean }) => {
      await userErrors(() => {
        const { model, inputs } = modelFromCheckpoint(path);
        exportModule(model, inputs.map((i) => ({ dtype: i.dtype, shape: ['batch', ...i.shape] })), { path: o.onnx, inference: { foldBatchNorm: o.foldBatchnorm } });
      });
      console.log(JSON.stringify({ event: 'exported', onnx: o.onnx }));
    });

  program
    .command('predict')
    .description('run an ONNX model on an input file (.json array, IDX images, or a PNG/JPEG image)')
    .argument('<model>', '.onnx file')
    .argument('<input>', 'input file')
    .option('--top <k>', 'classes to print per row', '3')
    .action(async (modelPath: string, input: string, o: { top: string }) => {
      const rows = await userErrors(() => predict(modelPath, input, Number(o.top)));
      for (const r of rows) console.log(JSON.stringify(r));
    });

  program
    .command('quickstart')
    .description('train a small CNN on the bundled Fashion-MNIST subset, then export it to ONNX')
    .option('--output <dir>', 'run directory', 'runs/quickstart')
    .option('--json', 'JSON-lines progress even on a terminal')
    .action(async (o: { output: string; json?: boolean }) => {
      console.log('lathe quickstart: training the two-conv CNN on 8,000 Fashion-MNIST images (2,000 held-out test images)');
      const r = await userErrors(() => runTraining(quickstartConfig(o.output), { json: o.json }));
      console.log(`\ntest accuracy ${(100 * (r.testAccuracy ?? 0)).toFixed(2)}% after ${r.epochs} epochs in ${r.seconds.toFixed(1)} s`);
      console.log(`checkpoint: ${r.checkpoint}\nONNX model: ${r.onnxPath}`);
      console.log('\nnext:');
      console.log(`  npx lathe predict ${r.onnxPath} data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz   # classify images`);
      console.log(`  npx lathe serve ${r.onnxPath}                                     # an inference server on 127.0.0.1`);
      console.log('  npx lathe train examples/fashion-cnn.yaml                          # full Fashion-MNIST (≥ 91.5%)');
    });
}

interface Prediction {
  readonly row: number;
  readonly top: readonly { readonly class: number; readonly label?: string; readonly p: number }[];
}

async function predict(modelPath: string, input: string, k: number): Promise<Prediction[]> {
  if (!existsSync(modelPath)) throw new CliError(`${modelPath}: model file not found`);
  if (!existsSync(input)) throw new CliError(`${input}: input file not found`);
  const session = await ort.InferenceSession.create(modelPath);
  const meta = session.inputMetadata[0] as { shape?: readonly (number | string)[] } | undefined;
  const dims = (meta?.shape ?? []).slice(1).map((d) => (typeof d === 'number' ? d : 1));
  const per = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  const ext = extname(input).toLowerCase();
  if (ext === '.json') {
    const v = JSON.parse(readFileSync(input, 'utf8')) as unknown;
    const flat = (Array.isArray(v) ? v : [v]).flat(Infinity as 1) as unknown[];
    if (!flat.every((x) => typeof x === 'number')) throw new CliError(`${input}: expected a JSON array of numbers`);
    data = Float32Array.from(flat as number[]);
  } else if (ext === '.png' || ext === '.jpg' || ext === '.jpeg') {
    const sharp = (await import('sharp')).default;
    const [h, w] = [dims[dims.length - 2] ?? 28, dims[dims.length - 1] ?? 28];
    const px = await sharp(input).greyscale().resize(w, h).raw().toBuffer();
    data = Float32Array.from(px, (v) => (v / 255 - 0.286) / 0.353);
  } else {
    const idx = readIdx(input);
    data = Float32Array.from(idx.data, (v) => (v / 255 - 0.286) / 0.353);
  }
  if (data.length % per !== 0) throw new CliError(`${input}: ${data.length} values do not form rows of shape [${dims.join(',')}] expected by ${modelPath}`);
  const n = Math.min(data.length / per, 1000);
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data.subarray(0, n * per), [n, ...dims]) });
  const y = out[session.outputNames[0]] as ort.Tensor;
  const c = y.dims[1] ?? 1;
  const v = y.data as Float32Array;
  const rows: Prediction[] = [];
  for (let i = 0; i < n; i++) {
    const logits = Array.from(v.subarray(i * c, (i + 1) * c));
    const m = Math.max(...logits);
    const e = logits.map((z) => Math.exp(z - m));
    const s = e.reduce((a, b) => a + b, 0);
    const top = e.map((p, j) => ({ class: j, p: p / s })).sort((a, b) => b.p - a.p).slice(0, k);
    rows.push({ row: i, top: top.map((t) => ({ ...t, label: c === 10 ? FASHION_CLASSES[t.class] : undefined, p: Math.round(t.p * 1e4) / 1e4 })) });
  }
  return rows;
}
