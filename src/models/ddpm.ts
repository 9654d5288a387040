// Denoising diffusion (Ho et al. 2020) on the zoo's U-Net with its timestep embedding: a forward process
// q(x_t | x_0) = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I) over a linear or cosine schedule (models/noise-schedule.ts), a network
// that predicts the noise ε or the velocity v = √ᾱ_t·ε − √(1 − ᾱ_t)·x_0 (Salimans & Ho 2022), and class
// conditioning with label dropout (Ho & Salimans 2022): with probability `pUncond` a label is replaced by the null
// class `classes`, so one network is both conditional and unconditional and sampling can use classifier-free guidance.
//
// `forward(x_t, t, y)` is the denoiser that export writes and each sampling step runs once (models/diffusion-sampler.ts).
import { z } from 'zod';
import { ndarray } from '../graph/ndarray.js';
import { add, cast, floor, less, mul, square, sub, where } from '../graph/ops/elementwise.js';
import { constant, scalar } from '../graph/ops/leaf.js';
import { gather } from '../graph/ops/indexing.js';
import { reshape } from '../graph/ops/movement.js';
import { randomNormal, randomUniform } from '../graph/ops/random.js';
import { mean } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';
import { Embedding, Module } from '../nn/index.js';
import { traceContext } from '../nn/context.js';
import { noiseSchedule, type NoiseSchedule } from './noise-schedule.js';
import { registerModel, type ModelObjective } from './registry.js';
import { UNet } from './unet.js';

/**
 * Zod schema of the `ddpm` model's options (image size, U-Net widths, timestep embedding, diffusion steps, schedule);
 * parsing fills the defaults and names the field at fault in its error.
 */
export const ddpmOptions = z
  .object({
    /** Image channels and size (square; must divide by 2^depth). */
    channels: z.number().int().positive().default(1),
    size: z.number().int().positive().default(28),
    /** U-Net widths: level i has base·2^i channels; `depth` 2× downsamplings; GroupNorm groups. */
    base: z.number().int().positive().default(32),
    depth: z.number().int().min(1).default(2),
    groups: z.number().int().positive().default(8),
    /** Width of the timestep (and class) embedding. */
    timeEmbed: z.number().int().positive().default(128),
    /** Diffusion steps T. */
    timesteps: z.number().int().min(2).default(1000),
    schedule: z.enum(['linear', 'cosine']).default('linear'),
    /** What the network predicts: the noise ('eps') or the velocity ('v'). */
    prediction: z.enum(['eps', 'v']).default('eps'),
    /** Classes for conditional training (0: unconditional). Label `classes` is the null (unconditional) label. */
    classes: z.number().int().min(0).default(0),
    /** Label dropout: probability of training a sample with the null label (classifier-free guidance). */
    pUncond: z.number().min(0).max(1).default(0.1),
  })
  .strict();
/**
 * Options of {@link DDPM} as written in a config or passed to the constructor (every field optional); see {@link
 * ddpmOptions}.
 */
export type DDPMOptions = z.input<typeof ddpmOptions>;
type Cfg = z.output<typeof ddpmOptions>;

/** The diffusion model: a U-Net denoiser with timestep and (optionally) class embeddings. */
export class DDPM extends Module {
  readonly cfg: Cfg;
  readonly unet: UNet;
  readonly classEmbed?: Embedding;
  readonly schedule: NoiseSchedule;
  constructor(opts: DDPMOptions = {}) {
    super();
    const c = ddpmOptions.parse(opts);
    this.cfg = c;
    this.unet = new UNet({
      inChannels: c.channels,
      outChannels: c.channels,
      base: c.base,
      depth: c.depth,
      groups: c.groups,
      timeEmbed: c.timeEmbed,
      size: c.size,
    });
    if (c.classes > 0) this.classEmbed = new Embedding(c.classes + 1, c.timeEmbed);
    this.schedule = noiseSchedule(c.schedule, c.timesteps);
  }

  /** The network's prediction (ε or v) [B, C, H, W] for x_t [B, C, H, W], timesteps t [B] (float32) and labels y [B] (int64). */
  forward(x: Tensor, t: Tensor, y?: Tensor): Tensor {
    if (this.classEmbed && !y)
      throw new Error('DDPM: a class-conditional model needs labels y [B] (use the null label for unconditional)');
    return this.unet.forward(x, t, this.classEmbed && y ? this.classEmbed.forward(y) : undefined);
  }
}

/**
 * The denoising objective: t ~ U{0, …, T−1}, ε ~ N(0, I), x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, loss = mean (pred − target)²
 * with target ε or v; labels dropped to the null class with probability pUncond. Images in `batch.x` in [−1, 1],
 * labels in `batch.y`; randomness from the trace context's key.
 */
export function ddpmObjective(
  model: Module,
  batch: Readonly<Record<string, Tensor>>,
): { loss: Tensor; metrics: Record<string, Tensor> } {
  if (!(model instanceof DDPM)) throw new Error('ddpmObjective: the model is not a DDPM');
  const key = traceContext().key;
  if (!key) throw new Error('ddpmObjective: needs a random key in the trace context (the Trainer sets one)');
  const x0 = batch.x;
  if (!x0) throw new Error(`ddpmObjective: the batch has no "x" (its keys are ${Object.keys(batch).join(', ')})`);
  const c = model.cfg;
  const perSample = reshape(x0, [-1, c.channels * c.size * c.size]); // [B, C·H·W]
  const t = cast(
    floor(mul(randomUniform(key, gather(perSample, scalar(0, 'int64'), 1), { stream: 11 }), c.timesteps)),
    'int64',
  ); // [B]
  const table = (f: (ab: number) => number) =>
    constant(ndarray('float32', [c.timesteps], Array.from(model.schedule.alphaBars, f)));
  const sa = reshape(gather(table(Math.sqrt), t), [-1, 1, 1, 1]); // √ᾱ_t [B, 1, 1, 1]
  const s1 = reshape(
    gather(
      table((ab) => Math.sqrt(1 - ab)),
      t,
    ),
    [-1, 1, 1, 1],
  ); // √(1 − ᾱ_t)
  const eps = randomNormal(key, x0, { stream: 12 });
  const xt = add(mul(sa, x0), mul(s1, eps));
  let y: Tensor | undefined;
  if (c.classes > 0) {
    const labels = batch.y;
    if (!labels) throw new Error('ddpmObjective: a class-conditional model needs labels in batch.y');
    y =
      c.pUncond > 0
        ? where(less(randomUniform(key, labels, { stream: 13 }), scalar(c.pUncond)), scalar(c.classes, 'int64'), labels)
        : labels;
  }
  const pred = model.forward(xt, cast(t, 'float32'), y);
  const target = c.prediction === 'eps' ? eps : sub(mul(sa, eps), mul(s1, x0));
  const loss = mean(square(sub(pred, target)));
  return { loss, metrics: { mse: loss } };
}

registerModel({
  name: 'ddpm',
  description:
    'denoising diffusion on the U-Net: linear/cosine schedule, ε- or v-prediction, class conditioning with label dropout; forward(x_t, t, y) is the denoiser',
  options: ddpmOptions,
  inputShape: (o) => [o.channels, o.size, o.size],
  inputs: (o) => [
    { name: 'x', dtype: 'float32', shape: [o.channels, o.size, o.size] },
    { name: 'timesteps', dtype: 'float32', shape: [] },
    ...(o.classes > 0 ? [{ name: 'labels', dtype: 'int64' as const, shape: [] as number[] }] : []),
  ],
  create: (o) => new DDPM(o),
  objective: (o): ModelObjective => ({
    objective: ddpmObjective,
    pixels: 'symmetric',
    monitor: { metric: 'val_loss', mode: 'min' },
    generative: {
      kind: 'diffusion',
      channels: o.channels,
      size: o.size,
      timesteps: o.timesteps,
      schedule: o.schedule,
      prediction: o.prediction,
      classes: o.classes,
    },
  }),
});
