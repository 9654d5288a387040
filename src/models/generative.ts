// What sampling needs to know about a generative model, stored in its exported ONNX file's metadata_props (key
// `lathe.generative`, JSON) next to `lathe.inference`: `lathe sample` reads it from model.onnx, so a file alone is
// enough to draw images from it.
import type { ModelProto } from '../onnx/proto.js';
import type { ScheduleKind } from './noise-schedule.js';

/** Key of the ONNX metadata property that holds a generative model's {@link GenerativeInfo} as JSON. */
export const GENERATIVE_METADATA_KEY = 'lathe.generative';

/**
 * What sampling needs to know about an exported generative model (VAE decoder, GAN generator or diffusion denoiser):
 * its inputs, image shape and, for diffusion, schedule, prediction and classes.
 */
export type GenerativeInfo =
  /** A VAE: forward(z [N, latent]) → images [N, C, H, W] in [0, 1]. */
  | { readonly kind: 'vae'; readonly channels: number; readonly size: number; readonly latent: number }
  /** A GAN generator: forward(z [N, latent]) → images [N, C, H, W] in [−1, 1]. */
  | { readonly kind: 'gan'; readonly channels: number; readonly size: number; readonly latent: number }
  /**
   * A diffusion denoiser: forward(x_t [N, C, H, W], t [N] float32, y [N] int64 when classes > 0) → ε or v; images in
   * [−1, 1]; label `classes` is the null label.
   */
  | {
      readonly kind: 'diffusion';
      readonly channels: number;
      readonly size: number;
      readonly timesteps: number;
      readonly schedule: ScheduleKind;
      readonly prediction: 'eps' | 'v';
      readonly classes: number;
    };

/**
 * The ONNX metadata properties that record `g` on an exported model: one entry, {@link GENERATIVE_METADATA_KEY} → JSON.
 */
export function generativeMetadataProps(g: GenerativeInfo): Record<string, string> {
  return { [GENERATIVE_METADATA_KEY]: JSON.stringify(g) };
}

/** The generative metadata of a model, or undefined when it has none. */
export function readGenerativeMetadata(model: ModelProto, source = 'model'): GenerativeInfo | undefined {
  const raw = model.metadataProps?.find((p) => p.key === GENERATIVE_METADATA_KEY)?.value;
  if (raw === undefined) return undefined;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Error(`${source}: metadata ${GENERATIVE_METADATA_KEY} is not JSON`);
  }
  const posInt = (k: string) => {
    if (!(Number.isInteger(v[k]) && (v[k] as number) > 0))
      throw new Error(`${source}: metadata ${GENERATIVE_METADATA_KEY}: ${k} must be a positive integer`);
  };
  posInt('channels');
  posInt('size');
  if (v.kind === 'vae' || v.kind === 'gan') posInt('latent');
  else if (v.kind === 'diffusion') {
    posInt('timesteps');
    if (v.schedule !== 'linear' && v.schedule !== 'cosine')
      throw new Error(`${source}: metadata ${GENERATIVE_METADATA_KEY}: schedule must be linear or cosine`);
    if (v.prediction !== 'eps' && v.prediction !== 'v')
      throw new Error(`${source}: metadata ${GENERATIVE_METADATA_KEY}: prediction must be eps or v`);
    if (!(Number.isInteger(v.classes) && (v.classes as number) >= 0))
      throw new Error(`${source}: metadata ${GENERATIVE_METADATA_KEY}: classes must be an integer ≥ 0`);
  } else
    throw new Error(
      `${source}: metadata ${GENERATIVE_METADATA_KEY}: kind ${JSON.stringify(v.kind)} is not vae, gan or diffusion`,
    );
  return v as unknown as GenerativeInfo;
}
