// Sample quality of a generative run: draws n images from its model (EMA weights when kept) and scores them against
// the test split with FID-FMNIST and precision/recall (train/fid.ts); for class-conditional models also the share of
// images the FID-FMNIST classifier assigns to the requested class (class agreement). Behind `lathe eval --fid n`.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NDArray } from '../graph/ndarray.js';
import { sampleImages, type SampleImagesOptions } from '../models/sample.js';
import { exportModule } from '../nn/export.js';
import { getDataset } from '../data/catalog.js';
import { toPixelRange } from '../data/pixels.js';
import { ConfigError } from './config.js';
import { classAgreement, fmnistFeatures, scoreGenerated, type GenerativeScores } from './fid.js';
import { modelFromCheckpoint } from './run.js';

/**
 * What {@link evaluateGenerative} reports: the scores, the seconds spent sampling, the number of reference test images
 * and, for conditional models, the class agreement.
 */
export interface GenerativeEvalResult extends GenerativeScores {
  /** Share of samples the FID-FMNIST classifier assigns to their requested class (conditional models). */
  readonly classAgreement?: number;
  readonly sampleSeconds: number;
  readonly reference: number;
}

/** ONNX bytes of a run's (or checkpoint's) generative model with its EMA weights when saved, and its dataset. */
export function generativeModelBytes(path: string): { bytes: Uint8Array; dataset: string; root?: string } {
  const manifest = existsSync(path) && statSync(path).isDirectory() ? join(path, 'last.json') : path;
  const { model, inputs, metadata, objective, cfg } = modelFromCheckpoint(manifest, { ema: true });
  if (!objective) throw new ConfigError(`${path}: ${cfg.model.name} is not a generative model`);
  const bytes = exportModule(
    model,
    inputs.map((i) => ({ dtype: i.dtype, shape: ['batch', ...i.shape] })),
    { metadata, inputNames: inputs.map((i) => i.name) },
  );
  return { bytes, dataset: cfg.data.name, root: cfg.data.root };
}

/** Samples `opts.n` images from the run at `path` and scores them against (up to `reference`) test images. */
export async function evaluateGenerative(
  path: string,
  opts: SampleImagesOptions & { reference?: number; prSamples?: number },
): Promise<GenerativeEvalResult> {
  const { bytes, dataset, root } = generativeModelBytes(path);
  const ds = getDataset(dataset);
  if (!ds.normalization) throw new ConfigError(`${path}: dataset ${dataset} has no image normalisation`);
  const test = ds.load({ root, limit: 1 }).test;
  const m = Math.min(opts.reference ?? test.x.shape[0], test.x.shape[0]);
  const ref: NDArray = toPixelRange(
    { ...test.x, shape: [m, ...test.x.shape.slice(1)], data: (test.x.data as Float32Array).subarray(0, m * 784) },
    ds.normalization,
    'unit',
  );
  const s = await sampleImages(bytes, opts);
  const scores = await scoreGenerated(s.images, ref, { threads: opts.threads, prSamples: opts.prSamples });
  let agreement: number | undefined;
  if (s.info.kind === 'diffusion' && s.info.classes > 0) {
    const classes = s.info.classes;
    const labels = Array.from({ length: opts.n }, (_, i) =>
      typeof opts.labels === 'number' ? opts.labels : opts.labels ? opts.labels[i] : i % classes,
    );
    agreement = classAgreement(await fmnistFeatures(s.images, { threads: opts.threads }), labels);
  }
  return {
    ...scores,
    ...(agreement !== undefined ? { classAgreement: agreement } : {}),
    sampleSeconds: s.seconds,
    reference: m,
  };
}
