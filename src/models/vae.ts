// Variational autoencoder (Kingma & Welling 2014) with β-VAE weighting (Higgins et al. 2017): an encoder
// q(z|x) = N(μ(x), diag σ²(x)), the reparameterisation z = μ + σ·ε with ε drawn by the in-graph counter-based RNG, a
// decoder p(x|z) (Bernoulli logits for binary images, or a Gaussian with a learned per-pixel log-variance), and a
// standard normal prior. MLP (pytorch/examples' VAE: 784-400-20) or convolutional encoder/decoder.
//
// The training objective is the negative ELBO, −E_q[log p(x|z)] + β·KL(q(z|x) ‖ p(z)), per sample, in nats. Binary
// data are binarised dynamically in the graph (each pixel ~ Bernoulli(intensity), a fresh draw per step from the
// step's key). `forward(z)` is the inference function: the decoder's mean image, so an exported VAE samples images.
import { z } from 'zod';
import {
  add,
  clamp,
  exp,
  less,
  cast,
  mul,
  neg,
  relu,
  sigmoid,
  softplus,
  square,
  sub,
} from '../graph/ops/elementwise.js';
import { scalar } from '../graph/ops/leaf.js';
import { reshape, split } from '../graph/ops/movement.js';
import { randomNormal, randomUniform } from '../graph/ops/random.js';
import { sum, mean } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';
import { Conv2d, ConvTranspose2d, Linear, Module } from '../nn/index.js';
import { traceContext } from '../nn/context.js';
import { registerModel, type ModelObjective } from './registry.js';

/**
 * Zod schema of the `vae` model's options (architecture, image size, hidden widths, latent size, likelihood); parsing
 * fills the defaults and names the field at fault in its error.
 */
export const vaeOptions = z
  .object({
    /** 'mlp': pixels → hidden layers → (μ, log σ²); 'conv': two stride-2 4×4 convs (32, 64) → hidden → (μ, log σ²). */
    arch: z.enum(['mlp', 'conv']).default('mlp'),
    /** Image channels and size (square). */
    channels: z.number().int().positive().default(1),
    size: z.number().int().positive().default(28),
    /** Hidden widths of the MLP encoder (the decoder mirrors them); the conv arch uses the first as its dense width. */
    hidden: z.array(z.number().int().positive()).min(1).default([400]),
    /** Latent dimensions. */
    latent: z.number().int().positive().default(20),
    /** 'bernoulli': binary pixels (logits out); 'gaussian': real pixels in [0, 1] (mean and log-variance out). */
    likelihood: z.enum(['bernoulli', 'gaussian']).default('bernoulli'),
    /** Weight of the KL term (β-VAE); 1 is the ELBO. */
    beta: z.number().positive().default(1),
    /** Bernoulli likelihood: binarise training images in the graph (pixel ~ Bernoulli(intensity), fresh each step). */
    binarize: z.boolean().default(true),
  })
  .strict();
/**
 * Options of {@link VAE} as written in a config or passed to the constructor (every field optional); see {@link
 * vaeOptions}.
 */
export type VAEOptions = z.input<typeof vaeOptions>;
type Cfg = z.output<typeof vaeOptions>;

const LOG_2PI = Math.log(2 * Math.PI);

/** Encoder: x [B, C, H, W] → (μ, log σ²), each [B, latent]. */
class Encoder extends Module {
  readonly convs: Conv2d[];
  readonly layers: Linear[];
  readonly head: Linear;
  constructor(c: Cfg) {
    super();
    const px = c.channels * c.size * c.size;
    if (c.arch === 'conv') {
      this.convs = [
        new Conv2d(c.channels, 32, 4, { stride: 2, padding: 1 }),
        new Conv2d(32, 64, 4, { stride: 2, padding: 1 }),
      ];
      this.layers = [new Linear(64 * (c.size / 4) ** 2, c.hidden[0])];
    } else {
      this.convs = [];
      this.layers = c.hidden.map((h, i) => new Linear(i === 0 ? px : c.hidden[i - 1], h));
    }
    this.head = new Linear(this.layers[this.layers.length - 1].outFeatures, 2 * c.latent);
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const conv of this.convs) h = relu(conv.forward(h)); // [B, 32, H/2, W/2] → [B, 64, H/4, W/4]
    h = reshape(h, [-1, this.layers[0].inFeatures]); // [B, features]
    for (const l of this.layers) h = relu(l.forward(h));
    return this.head.forward(h); // [B, 2·latent]: μ then log σ²
  }
}

/** Decoder: z [B, latent] → distribution parameters [B, k·C, H, W] (k = 1 logits, or 2: mean and log-variance). */
class Decoder extends Module {
  readonly layers: Linear[];
  readonly deconvs: ConvTranspose2d[];
  constructor(private readonly c: Cfg) {
    super();
    const k = c.likelihood === 'gaussian' ? 2 : 1;
    const px = c.channels * c.size * c.size;
    if (c.arch === 'conv') {
      this.layers = [new Linear(c.latent, c.hidden[0]), new Linear(c.hidden[0], 64 * (c.size / 4) ** 2)];
      this.deconvs = [
        new ConvTranspose2d(64, 32, 4, { stride: 2, padding: 1 }),
        new ConvTranspose2d(32, k * c.channels, 4, { stride: 2, padding: 1 }),
      ];
    } else {
      const widths = [...c.hidden].reverse();
      this.layers = [
        ...widths.map((h, i) => new Linear(i === 0 ? c.latent : widths[i - 1], h)),
        new Linear(widths[widths.length - 1], k * px),
      ];
      this.deconvs = [];
    }
  }
  forward(z: Tensor): Tensor {
    const c = this.c;
    const k = c.likelihood === 'gaussian' ? 2 : 1;
    let h = z;
    this.layers.forEach((l, i) => {
      h = l.forward(h);
      if (i < this.layers.length - 1 || this.deconvs.length) h = relu(h);
    });
    if (!this.deconvs.length) return reshape(h, [-1, k * c.channels, c.size, c.size]); // [B, k·C, H, W]
    h = reshape(h, [-1, 64, c.size / 4, c.size / 4]); // [B, 64, H/4, W/4]
    h = relu(this.deconvs[0].forward(h)); // [B, 32, H/2, W/2]
    return this.deconvs[1].forward(h); // [B, k·C, H, W]
  }
}

/** The VAE. `forward(z)` decodes latents to mean images; `encode`, `decode` and `logLikelihood` serve the bounds. */
export class VAE extends Module {
  readonly cfg: Cfg;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  constructor(opts: VAEOptions = {}) {
    super();
    const c = vaeOptions.parse(opts);
    if (c.arch === 'conv' && c.size % 4)
      throw new Error(`VAE: the conv arch needs a size divisible by 4, got ${c.size}`);
    this.cfg = c;
    this.encoder = new Encoder(c);
    this.decoder = new Decoder(c);
  }

  /** q(z|x): μ and log σ², each [B, latent]. */
  encode(x: Tensor): { mu: Tensor; logvar: Tensor } {
    const [mu, logvar] = split(this.encoder.forward(x), [this.cfg.latent, this.cfg.latent], 1);
    return { mu, logvar };
  }

  /** Decoder output: Bernoulli logits [B, C, H, W], or Gaussian mean and log-variance stacked on channels [B, 2C, H, W]. */
  decode(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }

  /** log p(x|z) per sample [B] of decoder output `params` for images x [B, C, H, W]. */
  logLikelihood(params: Tensor, x: Tensor): Tensor {
    const c = this.cfg;
    if (c.likelihood === 'bernoulli') {
      // log Bernoulli(x; σ(l)) = x·l − softplus(l)
      return sum(sub(mul(x, params), softplus(params)), [1, 2, 3]);
    }
    const [m, lv0] = split(params, [c.channels, c.channels], 1);
    const lv = clamp(lv0, -8, 4); // keeps the variance away from 0 on saturated pixels
    // log N(x; m, e^lv) = −½(log 2π + lv + (x − m)²·e^(−lv))
    return mul(sum(add(add(lv, LOG_2PI), mul(square(sub(x, m)), exp(neg(lv)))), [1, 2, 3]), -0.5);
  }

  /** Mean images [B, C, H, W] of latents z [B, latent]: σ(logits), or the Gaussian mean clamped to [0, 1]. */
  forward(z: Tensor): Tensor {
    const out = this.decode(z);
    if (this.cfg.likelihood === 'bernoulli') return sigmoid(out);
    return clamp(split(out, [this.cfg.channels, this.cfg.channels], 1)[0], 0, 1);
  }
}

/** Draws a binary image: each pixel 1 with probability equal to its intensity in [0, 1] (dynamic binarisation). */
export function binarize(x: Tensor, key: Tensor, stream: number): Tensor {
  return cast(less(randomUniform(key, x, { stream }), x), x.dtype);
}

/**
 * The per-sample ELBO terms of images x [B, C, H, W] (intensities in [0, 1], already binarised for Bernoulli):
 * reconstruction −log p(x|z) with one z ~ q(z|x) drawn from `key`, and the analytic KL(q(z|x) ‖ N(0, I)), each [B].
 */
export function vaeTerms(model: VAE, x: Tensor, key: Tensor): { rec: Tensor; kl: Tensor } {
  const { mu, logvar } = model.encode(x);
  const eps = randomNormal(key, mu, { stream: 2 });
  const zs = add(mu, mul(exp(mul(logvar, 0.5)), eps)); // reparameterisation: z = μ + σ·ε
  const rec = neg(model.logLikelihood(model.decode(zs), x));
  // KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − 1 − log σ²)
  const kl = mul(sum(sub(add(square(mu), exp(logvar)), add(logvar, 1)), [1]), 0.5);
  return { rec, kl };
}

/**
 * The training objective: mean over the batch of rec + β·KL, with the ELBO (nats, higher is better), the
 * reconstruction and the KL as metrics. Reads images from `batch.x` in [0, 1] and the key from the trace context.
 */
export function vaeObjective(
  model: Module,
  batch: Readonly<Record<string, Tensor>>,
): { loss: Tensor; metrics: Record<string, Tensor> } {
  if (!(model instanceof VAE)) throw new Error('vaeObjective: the model is not a VAE');
  const key = traceContext().key;
  if (!key) throw new Error('vaeObjective: needs a random key in the trace context (the Trainer sets one)');
  let x = batch.x;
  if (!x) throw new Error(`vaeObjective: the batch has no "x" (its keys are ${Object.keys(batch).join(', ')})`);
  if (model.cfg.likelihood === 'bernoulli' && model.cfg.binarize) x = binarize(x, key, 1);
  const { rec, kl } = vaeTerms(model, x, key);
  const negElbo = mean(add(rec, kl));
  const loss = model.cfg.beta === 1 ? negElbo : mean(add(rec, mul(kl, scalar(model.cfg.beta))));
  return { loss, metrics: { elbo: neg(negElbo), rec: mean(rec), kl: mean(kl) } };
}

registerModel({
  name: 'vae',
  description:
    'variational autoencoder: MLP or conv encoder/decoder, Bernoulli or Gaussian likelihood, β, in-graph reparameterisation; forward(z) decodes latents',
  options: vaeOptions,
  inputShape: (o) => [o.latent],
  inputs: (o) => [{ name: 'z', dtype: 'float32', shape: [o.latent] }],
  create: (o) => new VAE(o),
  objective: (o): ModelObjective => ({
    objective: vaeObjective,
    pixels: 'unit',
    monitor: { metric: 'val_elbo', mode: 'max' },
    binaryEval: o.likelihood === 'bernoulli' && o.binarize,
    generative: { kind: 'vae', channels: o.channels, size: o.size, latent: o.latent },
  }),
});
