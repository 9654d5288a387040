// Drawing images from an exported generative model (the model.onnx of a `vae` or `ddpm` run, or any ONNX file with
// `lathe.generative` metadata): VAEs decode z ~ N(0, I) in one run; diffusion models run the denoiser once per step
// (models/diffusion-sampler.ts). Images come back in [0, 1].
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import { decodeModel } from '../onnx/decode.js';
import { createSession } from '../runtime/session.js';
import { mixSeed, normal, Rng } from '../util/random.js';
import { UserError } from '../util/errors.js';
import { sampleDiffusion, sessionDenoiser, type DiffusionSampleOptions } from './diffusion-sampler.js';
import { readGenerativeMetadata, type GenerativeInfo } from './generative.js';

/**
 * Options of {@link sampleImages}: the diffusion sampling options (only `n` and `seed` matter for a VAE or GAN) and the
 * ONNX Runtime thread count.
 */
export interface SampleImagesOptions extends DiffusionSampleOptions {
  readonly threads?: number;
}

/** What {@link sampleImages} returns: the images, the model's generative metadata and the sampling time in seconds. */
export interface SampledImages {
  /** [n, C, H, W] in [0, 1]. */
  readonly images: NDArray<'float32'>;
  readonly info: GenerativeInfo;
  /** Wall time of sampling alone (session created before). */
  readonly seconds: number;
}

/** Samples images from an ONNX model (path or bytes) that carries `lathe.generative` metadata. */
export async function sampleImages(model: string | Uint8Array, opts: SampleImagesOptions): Promise<SampledImages> {
  const name = typeof model === 'string' ? model : 'model';
  const bytes = typeof model === 'string' ? readFileSync(model) : model;
  const info = readGenerativeMetadata(decodeModel(bytes), name);
  if (!info)
    throw new UserError(
      `${name}: not a generative model (no lathe.generative metadata; train a vae or ddpm with lathe train)`,
    );
  const session = await createSession(bytes, opts.threads ? { threads: opts.threads } : {});
  try {
    const t0 = performance.now();
    const images =
      info.kind === 'vae'
        ? await sampleVae(session, info, opts)
        : info.kind === 'gan'
          ? unit(await sampleVae(session, info, opts))
          : unit(await sampleDiffusion(sessionDenoiser(session, info), info, opts));
    return { images, info, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await session.release();
  }
}

async function sampleVae(
  session: ort.InferenceSession,
  info: Extract<GenerativeInfo, { kind: 'vae' | 'gan' }>,
  opts: SampleImagesOptions,
): Promise<NDArray<'float32'>> {
  if (opts.guidance || opts.labels !== undefined)
    throw new UserError(`sample: a ${info.kind === 'gan' ? 'GAN' : 'VAE'} is unconditional (no --class or --guidance)`);
  const rng = new Rng(mixSeed(opts.seed ?? 0, 0x7661));
  const z = Float32Array.from({ length: opts.n * info.latent }, () => normal(rng.stream));
  const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', z, [opts.n, info.latent]) });
  const out = r[session.outputNames[0]] as ort.Tensor;
  return { dtype: 'float32', shape: [opts.n, info.channels, info.size, info.size], data: out.data as Float32Array };
}

/** [−1, 1] → [0, 1]. */
function unit(a: NDArray<'float32'>): NDArray<'float32'> {
  return { ...a, data: (a.data as Float32Array).map((v) => (v + 1) / 2) };
}
