// `lathe train | eval | export | predict | quickstart`: thin commands over src/train (`models` is in models.ts).
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { exportModule } from '../nn/export.js';
import { writeSafetensors } from '../nn/safetensors.js';
import { loadTrainConfig } from '../train/config.js';
import { predictFile } from '../serve/predict.js';
import { openStore } from '../track/open.js';
import { resolveModelUri } from '../track/registry.js';
import { quickstartConfig } from '../train/quickstart.js';
import { evaluateCheckpoint, modelFromCheckpoint, runConfig, runTraining } from '../train/run.js';
import { evaluateGenerative } from '../train/generative-eval.js';
import { CliError } from './errors.js';
import { UserError } from '../util/errors.js';
import { openTracking } from '../track/open.js';
import { trackingCallback } from '../track/callback.js';
import { datasetLineage } from './dataset-fingerprint.js';
import { registerModel as registerTrackedModel } from '../track/registry.js';
import type { TrainConfig } from '../train/config.js';
import type { Callback } from '../train/callbacks.js';
import { datasetNames, getDataset } from '../data/catalog.js';
import { reviewCallback } from '../advise/callback.js';
import { join, resolve } from 'node:path';
import { CollectiveError } from '../distributed/collective.js';
import { resolveRendezvous } from '../distributed/rendezvous.js';
import { TcpCollective } from '../distributed/tcp-collective.js';
import { launchLocal } from './launch.js';

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag}: expected a positive integer, got ${v}`);
  return n;
}

/** Flattens a config into tracking params ("optimizer.lr": 0.002). */
function flatParams(cfg: TrainConfig): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const walk = (v: unknown, path: string): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'object' && !Array.isArray(v))
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
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
    // user errors are typed where they arise (ConfigError, CheckpointError, FileFormatError, ProtoDecodeError, ...)
    if (err instanceof UserError) throw new CliError(msg);
    throw err;
  }
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model from a YAML/JSON config (or resume a run)')
    .argument('[config]', 'config file (YAML or JSON)')
    .option('--resume <runDir>', 'resume the run in this directory from its last checkpoint')
    .option(
      '--set <path=value>',
      'override a config field, e.g. --set trainer.epochs=1 --set optimizer.lr=3e-4 (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--overwrite', 'replace the checkpoints of a finished or killed run in the output directory')
    .option('--json', 'JSON-lines progress even on a terminal')
    .option(
      '--track [url]',
      'log params, metrics and lineage to a tracking store (default $LATHE_TRACKING_URL or ./.lathe; on automatically when LATHE_TRACKING_URL is set)',
    )
    .option('--register <name>', 'with --track: register the trained ONNX model in the model registry under this name')
    .option(
      '--review',
      'run the review rules during training (init loss, divergence, flat loss, overfitting): warnings on stderr, tags review.<rule> on a tracked run',
    )
    .option('--nproc <n>', 'data-parallel training: start n ranks on this host (docs/distributed.md)')
    .option('--max-restarts <k>', 'with --nproc: restart the whole group from the last checkpoint up to k times', '0')
    .option('--rank <r>', 'data-parallel training: this process is rank r (default $RANK or $JOB_COMPLETION_INDEX)')
    .option('--world-size <w>', 'data-parallel training: ranks in the group (default $WORLD_SIZE)')
    .option('--master <host:port>', 'data-parallel training: where rank 0 listens (default $MASTER_ADDR:$MASTER_PORT)')
    .option('--dist-timeout <s>', 'data-parallel training: seconds any collective may wait for a rank', '300')
    .option('--threads <n>', 'ONNX Runtime threads of this process (overrides trainer.threads)')
    .action(
      async (
        config: string | undefined,
        o: {
          resume?: string;
          json?: boolean;
          track?: string | boolean;
          register?: string;
          set: string[];
          overwrite?: boolean;
          review?: boolean;
          nproc?: string;
          maxRestarts: string;
          rank?: string;
          worldSize?: string;
          master?: string;
          distTimeout: string;
          threads?: string;
        },
      ) => {
        const cfg = await userErrors(() => {
          if (o.resume) {
            if (o.set.length)
              throw new CliError(
                '--set changes a config; a resumed run keeps its own (config.json in the run directory)',
              );
            return runConfig(o.resume);
          }
          if (!config) throw new CliError('give a config file, or --resume <runDir>');
          return loadTrainConfig(config, o.set);
        });
        const threads = o.threads === undefined ? undefined : positiveInt('--threads', o.threads);
        if (o.nproc !== undefined) {
          const nproc = positiveInt('--nproc', o.nproc);
          const maxRestarts = Number(o.maxRestarts);
          if (!(Number.isInteger(maxRestarts) && maxRestarts >= 0))
            throw new CliError(`--max-restarts: expected an integer ≥ 0, got ${o.maxRestarts}`);
          if (o.rank !== undefined || o.worldSize !== undefined || o.master !== undefined)
            throw new CliError(
              '--nproc starts every rank itself; do not give --rank, --world-size or --master with it',
            );
          const shared = [
            ...(o.json ? ['--json'] : []),
            ...(o.track ? ['--track', ...(typeof o.track === 'string' ? [o.track] : [])] : []),
            ...(o.register ? ['--register', o.register] : []),
            ...(o.review ? ['--review'] : []),
            '--dist-timeout',
            o.distTimeout,
          ];
          const runDir = resolve(cfg.output ?? join('runs', cfg.name));
          const code = await launchLocal({
            nproc,
            maxRestarts,
            runDir,
            args: (resume) =>
              resume || o.resume
                ? ['train', '--resume', resume ? runDir : (o.resume ?? runDir), ...shared]
                : [
                    'train',
                    config ?? '',
                    ...o.set.flatMap((s) => ['--set', s]),
                    ...(o.overwrite ? ['--overwrite'] : []),
                    ...shared,
                  ],
          });
          if (code !== 0) process.exitCode = code;
          return;
        }
        const spec = await userErrors(() =>
          resolveRendezvous({ rank: o.rank, worldSize: o.worldSize, master: o.master }),
        );
        const timeoutSeconds = Number(o.distTimeout);
        if (!(timeoutSeconds > 0)) throw new CliError(`--dist-timeout: expected seconds > 0, got ${o.distTimeout}`);
        let collective: TcpCollective | undefined;
        try {
          collective = spec ? await TcpCollective.connect(spec, { timeoutSeconds }) : undefined;
        } catch (err) {
          if (err instanceof CollectiveError) throw new CliError(err.message, 1);
          throw err;
        }
        try {
          await trainOnce(cfg, o, { collective, threads });
        } catch (err) {
          if (err instanceof CollectiveError) throw new CliError(err.message, 1);
          throw err;
        } finally {
          await collective?.close();
        }
      },
    );

  program
    .command('eval')
    .description('evaluate a checkpoint (or a run directory) on its dataset’s test split')
    .argument('<checkpoint>', 'checkpoint manifest (.json) or run directory')
    .option('--iwae <k>', 'VAEs: also the ELBO and the k-sample importance-weighted bound (nats per image)')
    .option('--images <n>', 'with --iwae: only the first n test images')
    .option(
      '--fid <n>',
      'generative models: draw n samples and score FID-FMNIST, precision/recall (and class agreement) against the test split',
    )
    .option('--steps <n>', 'with --fid, diffusion: denoising steps', '50')
    .option('--sampler <name>', 'with --fid, diffusion: ddim or ddpm', 'ddim')
    .option('--guidance <w>', 'with --fid, diffusion: classifier-free guidance scale', '0')
    .option('--seed <n>', 'with --fid: sampling seed', '0')
    .action(
      async (
        path: string,
        o: {
          iwae?: string;
          images?: string;
          fid?: string;
          steps: string;
          sampler: string;
          guidance: string;
          seed: string;
        },
      ) => {
        if (o.fid !== undefined) {
          if (o.sampler !== 'ddim' && o.sampler !== 'ddpm')
            throw new CliError(`--sampler: ddim or ddpm, got ${o.sampler}`);
          const guidance = Number(o.guidance);
          if (!Number.isFinite(guidance)) throw new CliError(`--guidance: expected a number, got ${o.guidance}`);
          const n = positiveInt('--fid', o.fid);
          const opts = {
            n,
            steps: positiveInt('--steps', o.steps),
            sampler: o.sampler,
            guidance,
            seed: Number(o.seed) || 0,
          } as const;
          const r = await userErrors(() =>
            evaluateGenerative(path, {
              ...opts,
              onStep: (d, t) =>
                process.stderr.isTTY && process.stderr.write(`\rsampling: ${Math.floor((100 * d) / t)}%`),
            }),
          );
          console.log(JSON.stringify({ ...opts, ...(opts.sampler === 'ddpm' ? { steps: 'all' } : {}), ...r }));
          return;
        }
        const k = o.iwae === undefined ? undefined : positiveInt('--iwae', o.iwae);
        const images = o.images === undefined ? undefined : positiveInt('--images', o.images);
        const progress = (done: number, total: number) => process.stderr.write(`\riwae: ${done}/${total} images`);
        const r = await userErrors(() =>
          evaluateCheckpoint(path, k ? { iwae: { k, images, onProgress: progress } } : {}),
        );
        if (k) process.stderr.write('\n');
        console.log(JSON.stringify(r));
      },
    );

  program
    .command('export')
    .description('export a checkpoint as an ONNX model for inference')
    .argument('<checkpoint>', 'checkpoint manifest (.json) or run directory')
    .option('--onnx <file>', 'output .onnx path (an inference model)')
    .option(
      '--safetensors <file>',
      'output .safetensors path (the weights alone, by module path, as state dicts have them)',
    )
    .option('--opset <n>', 'ONNX opset to emit, 17–21 (17 with IR 8 loads in ONNX 1.12 tools)', '21')
    .option('--no-fold-batchnorm', 'keep BatchNormalization nodes instead of folding them into the preceding conv')
    .action(async (path: string, o: { onnx?: string; safetensors?: string; opset: string; foldBatchnorm: boolean }) => {
      await userErrors(() => {
        if (!o.onnx && !o.safetensors) throw new CliError('give --onnx <file> and/or --safetensors <file>');
        const opset = Number(o.opset);
        if (!(Number.isInteger(opset) && opset >= 17 && opset <= 21))
          throw new CliError(`--opset: expected an integer from 17 to 21, got ${o.opset}`);
        const { model, inputs, metadata } = modelFromCheckpoint(path);
        if (o.onnx)
          exportModule(
            model,
            inputs.map((i) => ({ dtype: i.dtype, shape: ['batch', ...i.shape] })),
            { path: o.onnx, metadata, opset, inference: { foldBatchNorm: o.foldBatchnorm } },
          );
        if (o.safetensors) writeSafetensors(o.safetensors, model.stateDict(), metadata);
      });
      if (o.onnx) console.log(JSON.stringify({ event: 'exported', onnx: o.onnx }));
      if (o.safetensors) console.log(JSON.stringify({ event: 'exported', safetensors: o.safetensors }));
    });

  program
    .command('predict')
    .description(
      "run an ONNX model on an input file (.json array, IDX images, or an image), prepared as the model's metadata says",
    )
    .argument('<model>', '.onnx file or models:/name@alias (models:/name/<version>) from the registry')
    .argument('<input>', 'input file')
    .option('--top <k>', 'classes to print per row', '3')
    .option(
      '--mean <values>',
      'image normalisation mean, one per channel (comma-separated); overrides the model metadata',
    )
    .option(
      '--std <values>',
      'image normalisation std, one per channel (comma-separated); overrides the model metadata',
    )
    .option('--labels <file|list>', 'class names: a file with one per line, or a comma-separated list')
    .option('--output <kind>', 'what the model outputs: logits (softmax applied) or probabilities')
    .action(
      async (
        model: string,
        input: string,
        o: { top: string; mean?: string; std?: string; labels?: string; output?: string },
      ) => {
        const r = await userErrors(async () => {
          const nums = (flag: string, v: string | undefined) => {
            if (v === undefined) return undefined;
            const xs = v.split(',').map(Number);
            if (xs.some((x) => !Number.isFinite(x)))
              throw new CliError(`--${flag}: expected comma-separated numbers, got ${v}`);
            return xs;
          };
          if (o.output !== undefined && o.output !== 'logits' && o.output !== 'probabilities')
            throw new CliError(`--output: expected logits or probabilities, got ${o.output}`);
          const top = Number(o.top);
          if (!(Number.isInteger(top) && top >= 1))
            throw new CliError(`--top: expected a positive integer, got ${o.top}`);
          const labels =
            o.labels === undefined
              ? undefined
              : existsSync(o.labels)
                ? readFileSync(o.labels, 'utf8')
                    .split('\n')
                    .map((l) => l.trim())
                    .filter(Boolean)
                : o.labels.split(',');
          let path = model;
          if (model.startsWith('models:')) {
            const store = await openStore();
            try {
              path = (await resolveModelUri(model, store)).onnxPath;
            } finally {
              await store.close();
            }
          }
          return predictFile(path, input, {
            top,
            mean: nums('mean', o.mean),
            std: nums('std', o.std),
            classes: labels,
            output: o.output as 'logits' | 'probabilities' | undefined,
          });
        });
        for (const w of r.warnings) console.error(`lathe: warning: ${w}`);
        for (const p of r.predictions) console.log(JSON.stringify(p));
      },
    );

  program
    .command('quickstart')
    .description('train a small CNN on the bundled Fashion-MNIST subset, then export it to ONNX')
    .option('--output <dir>', 'run directory', 'runs/quickstart')
    .option('--json', 'JSON-lines progress even on a terminal')
    .action(async (o: { output: string; json?: boolean }) => {
      console.log(
        'lathe quickstart: training the two-conv CNN on the bundled Fashion-MNIST subset (7,200 train / 800 validation images; 2,000 test images, scored once at the end)',
      );
      const r = await userErrors(() => runTraining(quickstartConfig(o.output), { json: o.json, overwrite: true }));
      console.log(
        `\ntest accuracy ${(100 * (r.testAccuracy ?? 0)).toFixed(2)}% after ${r.epochs} epochs in ${r.seconds.toFixed(1)} s`,
      );
      console.log(`checkpoint: ${r.checkpoint}\nONNX model: ${r.onnxPath}`);
      console.log('\nnext:');
      console.log(
        `  npx lathe predict ${r.onnxPath} data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz   # classify images`,
      );
      console.log(
        `  npx lathe serve ${r.onnxPath}                                     # an inference server on 127.0.0.1`,
      );
      console.log(
        '  npx lathe train examples/fashion-cnn.yaml                          # full Fashion-MNIST (≥ 91.5%)',
      );
    });
}

/** One process of `lathe train`: a plain run, or one rank of a data-parallel group (rank 0 tracks and prints). */
async function trainOnce(
  cfg: TrainConfig,
  o: {
    resume?: string;
    json?: boolean;
    track?: string | boolean;
    register?: string;
    overwrite?: boolean;
    review?: boolean;
  },
  dist: { collective?: TcpCollective; threads?: number },
): Promise<void> {
  const lead = (dist.collective?.rank ?? 0) === 0;
  // tracked when asked (--track) or when a tracking URL is configured in the environment; rank 0 alone tracks
  const tracking =
    lead && (o.track || process.env.LATHE_TRACKING_URL)
      ? await openTracking(typeof o.track === 'string' ? o.track : undefined)
      : undefined;
  const run = tracking
    ? await tracking.startRun({
        experiment: cfg.name,
        params: { ...flatParams(cfg), ...(dist.collective ? { world_size: dist.collective.worldSize } : {}) },
        config: cfg,
        seed: cfg.seed,
        dataset: datasetLineage(cfg.data),
      })
    : undefined;
  try {
    const callbacks: Callback[] = run ? [trackingCallback(run, { everyBatches: 50, endRun: false })] : [];
    if (o.review) {
      const classes =
        cfg.loss === 'lm'
          ? (cfg.model.options as { vocab?: number }).vocab
          : datasetNames().includes(cfg.data.name)
            ? getDataset(cfg.data.name).classes?.length
            : undefined;
      callbacks.push(
        reviewCallback({
          classes,
          lm: cfg.loss === 'lm',
          ignore: cfg.review?.ignore,
          onFinding: (f) => run?.setTag(`review.${f.rule}`, `${f.severity}: ${f.message}`),
        }),
      );
    }
    const r = await userErrors(() =>
      runTraining(cfg, {
        resume: !!o.resume,
        overwrite: o.overwrite,
        json: o.json,
        callbacks,
        collective: dist.collective,
        threads: dist.threads,
        quiet: !lead,
      }),
    );
    if (run && tracking) {
      run.logMetrics(
        {
          test_accuracy: r.testAccuracy ?? NaN,
          test_loss: r.testLoss,
          ...Object.fromEntries(Object.entries(r.testMetrics ?? {}).map(([k, v]) => [`test_${k}`, v])),
        },
        r.epochs,
      );
      await run.logArtifact(r.onnxPath, { name: 'model.onnx' });
      await run.end('finished');
      if (o.register) {
        const v = await registerTrackedModel(tracking.store, {
          name: o.register,
          runId: run.id,
          onnx: 'model.onnx',
        });
        console.log(JSON.stringify({ event: 'registered', uri: `models:/${o.register}/${v.version}` }));
      }
    }
    if (!lead) console.log(JSON.stringify({ event: 'done', rank: r.rank, epochs: r.epochs, seconds: r.seconds }));
    else if (o.json || !process.stdout.isTTY)
      console.log(JSON.stringify({ event: 'done', ...r, ...(run ? { trackedRun: run.id } : {}) }));
    else {
      const acc = r.testAccuracy !== undefined ? `test accuracy ${(100 * r.testAccuracy).toFixed(2)}%, ` : '';
      console.log(`\n${acc}test loss ${r.testLoss.toFixed(4)} after ${r.epochs} epochs in ${r.seconds.toFixed(1)} s`);
      if (r.lm) {
        const unit = r.lm.tokenizer === 'byte' ? 'byte' : 'char';
        console.log(
          `test ${r.lm.testBitsPerToken.toFixed(3)} bits/${unit}, perplexity ${r.lm.testPerplexity.toFixed(2)} (the ${r.lm.scored === 'best' ? 'best-validation' : 'last'} checkpoint: step ${r.lm.step}, val_loss ${r.lm.valLoss.toFixed(4)})`,
        );
      }
      console.log(
        `run: ${r.runDir}\ncheckpoint: ${r.checkpoint}\nONNX model: ${r.onnxPath}${run ? `\ntracked run: ${run.id}` : ''}`,
      );
    }
  } catch (err) {
    if (run) await run.end('failed');
    throw err;
  } finally {
    await tracking?.close();
  }
}
