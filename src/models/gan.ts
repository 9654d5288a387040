// Generative adversarial networks for small images: a DCGAN-style generator and discriminator/critic for 28×28
// (Radford et al. 2016; the WGAN-GP paper's MNIST networks, Gulrajani et al. 2017), trained with two objectives that
// alternate (the Trainer's `phases`): DCGAN's non-saturating binary cross-entropy, or WGAN-GP's Wasserstein loss with
// the gradient penalty λ·(‖∇D(x̂)‖₂ − 1)² computed by grad-of-grad inside the critic's training graph.
//
// `forward(z)` is the generator (latents [B, latent] → images [B, C, H, W] in [−1, 1]), so an exported GAN samples
// images. The critic/discriminator is `model.critic`. No BatchNorm anywhere (the WGAN-GP critic must not have it, and
// a generator without it keeps the two phases' state to parameters only).
import { z } from 'zod';
import { gradients } from '../autodiff/index.js';
import { detach } from '../graph/ops/differentiation.js';
import { add, leakyRelu, mul, neg, relu, sqrt, square, sub, tanh } from '../graph/ops/elementwise.js';
import { full, reshape, sliceAxis } from '../graph/ops/movement.js';
import { randomNormal, randomUniform } from '../graph/ops/random.js';
import { mean, sum } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';
import { bceWithLogits } from '../nn/losses.js';
import { Conv2d, ConvTranspose2d, Linear, Module } from '../nn/index.js';
import { traceContext } from '../nn/context.js';
import { registerModel, type ModelObjective } from './registry.js';

/**
 * Zod schema of the `gan` model's options (DCGAN-style generator and critic); parsing fills the defaults and names the
 * field at fault in its error.
 */
export const ganOptions = z
  .object({
    /** Image channels and size (square, divisible by 4). */
    channels: z.number().int().positive().default(1),
    size: z
      .number()
      .int()
      .positive()
      .refine((s) => s % 4 === 0, 'size must be divisible by 4')
      .default(28),
    /** Latent dimensions (z ~ N(0, I)). */
    latent: z.number().int().positive().default(128),
    /** Base width: the generator's last hidden and the critic's first conv have `width` channels, the next 2·width. */
    width: z.number().int().positive().default(64),
    /** 'bce': DCGAN's (non-saturating) loss; 'wgan-gp': Wasserstein loss with gradient penalty. */
    loss: z.enum(['bce', 'wgan-gp']).default('wgan-gp'),
    /** Gradient-penalty weight λ (wgan-gp). */
    lambda: z.number().nonnegative().default(10),
    /** Critic (discriminator) steps per generator step. */
    nCritic: z.number().int().positive().default(5),
    /** Adam of both players: learning rate and betas (WGAN-GP's defaults: 1e-4, (0, 0.9)). */
    lr: z.number().positive().default(1e-4),
    betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0, 0.9]),
  })
  .strict();
/**
 * Options of {@link GAN} as written in a config or passed to the constructor (every field optional); see {@link
 * ganOptions}.
 */
export type GANOptions = z.input<typeof ganOptions>;
type Cfg = z.output<typeof ganOptions>;

/** Generator: z [B, latent] → Linear → [B, 2w, S/4, S/4] → ReLU → ConvT 4×4/2 → [B, w, S/2, S/2] → ReLU → ConvT 4×4/2 → tanh. */
export class Generator extends Module {
  readonly fc: Linear;
  readonly up1: ConvTranspose2d;
  readonly up2: ConvTranspose2d;
  constructor(private readonly c: Cfg) {
    super();
    this.fc = new Linear(c.latent, 2 * c.width * (c.size / 4) ** 2);
    this.up1 = new ConvTranspose2d(2 * c.width, c.width, 4, { stride: 2, padding: 1 });
    this.up2 = new ConvTranspose2d(c.width, c.channels, 4, { stride: 2, padding: 1 });
  }
  forward(zs: Tensor): Tensor {
    const s = this.c.size / 4;
    let h = reshape(relu(this.fc.forward(zs)), [-1, 2 * this.c.width, s, s]);
    h = relu(this.up1.forward(h)); // [B, w, S/2, S/2]
    return tanh(this.up2.forward(h)); // [B, C, S, S]
  }
}

/** Critic / discriminator: conv 4×4/2 → LeakyReLU 0.2 → conv 4×4/2 → LeakyReLU 0.2 → Linear → [B, 1] (a score or a logit). */
export class Critic extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly head: Linear;
  constructor(c: Cfg) {
    super();
    this.conv1 = new Conv2d(c.channels, c.width, 4, { stride: 2, padding: 1 });
    this.conv2 = new Conv2d(c.width, 2 * c.width, 4, { stride: 2, padding: 1 });
    this.head = new Linear(2 * c.width * (c.size / 4) ** 2, 1);
  }
  forward(x: Tensor): Tensor {
    let h = leakyRelu(this.conv1.forward(x), 0.2);
    h = leakyRelu(this.conv2.forward(h), 0.2);
    return this.head.forward(reshape(h, [-1, this.head.inFeatures]));
  }
}

/** A GAN: `generator` and `critic`; `forward(z)` generates. */
export class GAN extends Module {
  readonly cfg: Cfg;
  readonly generator: Generator;
  readonly critic: Critic;
  constructor(opts: GANOptions = {}) {
    super();
    this.cfg = ganOptions.parse(opts);
    this.generator = new Generator(this.cfg);
    this.critic = new Critic(this.cfg);
  }
  forward(zs: Tensor): Tensor {
    return this.generator.forward(zs);
  }
}

/** Latents z ~ N(0, I) [B, latent], one row per image of x [B, …] (B may be symbolic). */
function latents(x: Tensor, latent: number, key: Tensor, stream: number): Tensor {
  const rows = sliceAxis(reshape(x, [-1, x.shape.slice(1).reduce<number>((a, b) => a * (b as number), 1)]), 1, 0, 1); // [B, 1]
  return randomNormal(key, add(mul(rows, 0), full([1, latent], 0)), { stream });
}

/**
 * WGAN-GP's gradient penalty λ·mean_i (‖∇_x̂ D(x̂_i)‖₂ − 1)² at x̂ = α·real + (1 − α)·fake (α [B, 1, 1, 1]): the
 * gradient with respect to x̂ is taken inside the graph, so differentiating the penalty again (the critic's update)
 * is grad-of-grad.
 */
export function gradientPenalty(critic: Module, real: Tensor, fake: Tensor, alpha: Tensor, lambda: number): Tensor {
  const xHat = add(mul(alpha, real), mul(sub(1, alpha), fake));
  const [g] = gradients(sum(critic.forward(xHat)), [xHat]); // [B, C, H, W]
  const norm = sqrt(
    sum(square(reshape(g, [-1, g.shape.slice(1).reduce<number>((a, b) => a * (b as number), 1)])), [1]),
  ); // [B]
  return mul(mean(square(sub(norm, 1))), lambda);
}

function gan(model: Module, batch: Readonly<Record<string, Tensor>>, who: string): { m: GAN; x: Tensor; key: Tensor } {
  if (!(model instanceof GAN)) throw new Error(`${who}: the model is not a GAN`);
  const key = traceContext().key;
  if (!key) throw new Error(`${who}: needs a random key in the trace context (the Trainer sets one)`);
  const x = batch.x;
  if (!x) throw new Error(`${who}: the batch has no "x" (its keys are ${Object.keys(batch).join(', ')})`);
  return { m: model, x, key };
}

/**
 * The critic's (discriminator's) objective on real images `batch.x` in [−1, 1] and fakes G(z) (z from the step's key;
 * the generator is not differentiated). WGAN-GP: mean D(fake) − mean D(real) + gradient penalty (α ~ U(0, 1) per
 * image); metrics `wdist` (mean D(real) − mean D(fake), the Wasserstein estimate) and `gp`. BCE: −log σ(D(real)) −
 * log(1 − σ(D(fake))); metrics `d_real`, `d_fake` (mean probabilities).
 */
export function criticObjective(
  model: Module,
  batch: Readonly<Record<string, Tensor>>,
): { loss: Tensor; metrics: Record<string, Tensor> } {
  const { m, x, key } = gan(model, batch, 'criticObjective');
  const fake = detach(m.generator.forward(latents(x, m.cfg.latent, key, 21)));
  const dReal = m.critic.forward(x);
  const dFake = m.critic.forward(fake);
  if (m.cfg.loss === 'bce') {
    const loss = add(bceWithLogits(dReal, add(mul(dReal, 0), 1)), bceWithLogits(dFake, mul(dFake, 0)));
    return { loss, metrics: { d_real: mean(sigmoidOf(dReal)), d_fake: mean(sigmoidOf(dFake)) } };
  }
  const alpha = randomUniform(key, sliceAxis(sliceAxis(sliceAxis(x, 1, 0, 1), 2, 0, 1), 3, 0, 1), { stream: 22 }); // [B, 1, 1, 1]
  const gp = gradientPenalty(m.critic, x, fake, alpha, m.cfg.lambda);
  const wdist = sub(mean(dReal), mean(dFake));
  return { loss: add(neg(wdist), gp), metrics: { wdist, gp } };
}

/**
 * The generator's objective: fakes G(z) scored by the critic. WGAN-GP: −mean D(G(z)); BCE (non-saturating):
 * −log σ(D(G(z))). Metric `g_score` (mean D(G(z))).
 */
export function generatorObjective(
  model: Module,
  batch: Readonly<Record<string, Tensor>>,
): { loss: Tensor; metrics: Record<string, Tensor> } {
  const { m, x, key } = gan(model, batch, 'generatorObjective');
  const dFake = m.critic.forward(m.generator.forward(latents(x, m.cfg.latent, key, 23)));
  const loss = m.cfg.loss === 'bce' ? bceWithLogits(dFake, add(mul(dFake, 0), 1)) : neg(mean(dFake));
  return { loss, metrics: { g_score: mean(dFake) } };
}

function sigmoidOf(t: Tensor): Tensor {
  return mul(add(tanh(mul(t, 0.5)), 1), 0.5);
}

/** The two phases of GAN training: `nCritic` critic steps, then one generator step, each with its own Adam. */
export function ganPhases(c: Cfg): NonNullable<ModelObjective['phases']> {
  const adam = { lr: c.lr, beta1: c.betas[0], beta2: c.betas[1] };
  return [
    { name: 'critic', objective: criticObjective, parameters: ['critic.'], steps: c.nCritic, optimizer: adam },
    { name: 'generator', objective: generatorObjective, parameters: ['generator.'], steps: 1, optimizer: adam },
  ];
}

function entry(name: 'dcgan' | 'wgan-gp', loss: Cfg['loss'], description: string) {
  const schema = ganOptions
    .extend({
      loss: z.enum(['bce', 'wgan-gp']).default(loss),
      nCritic: z
        .number()
        .int()
        .positive()
        .default(loss === 'bce' ? 1 : 5),
      lr: z
        .number()
        .positive()
        .default(loss === 'bce' ? 2e-4 : 1e-4),
      betas: z
        .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
        .default(loss === 'bce' ? [0.5, 0.999] : [0, 0.9]),
    })
    .strict();
  registerModel({
    name,
    description,
    options: schema,
    inputShape: (o) => [o.latent],
    inputs: (o) => [{ name: 'z', dtype: 'float32', shape: [o.latent] }],
    create: (o) => new GAN(o),
    objective: (o): ModelObjective => ({
      objective: criticObjective,
      phases: ganPhases(o),
      pixels: 'symmetric',
      monitor: { metric: 'val_loss', mode: 'min' },
      generative: { kind: 'gan', channels: o.channels, size: o.size, latent: o.latent },
    }),
  });
}

entry(
  'dcgan',
  'bce',
  'DCGAN for 28×28 images: conv-transpose generator, conv discriminator, non-saturating BCE, Adam(2e-4, (0.5, 0.999)); forward(z) generates',
);
entry(
  'wgan-gp',
  'wgan-gp',
  'WGAN-GP for 28×28 images: DCGAN networks, Wasserstein loss + gradient penalty (λ 10, grad-of-grad), n_critic 5, Adam(1e-4, (0, 0.9)); forward(z) generates',
);
