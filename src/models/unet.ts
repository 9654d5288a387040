// U-Net (Ronneberger et al. 2015): a convolutional encoder/decoder whose decoder concatenates the encoder's feature
// map of the same resolution (skip connections). Configurable depth and base width, GroupNorm or BatchNorm,
// transposed-convolution or nearest-neighbour upsampling, and an optional timestep input (sinusoidal embedding →
// MLP → a per-block channel bias, as in DDPM) so a diffusion model can reuse the network unchanged.
import { z } from 'zod';
import { ndarray } from '../graph/ndarray.js';
import { add, cos, mul, relu, silu, sin } from '../graph/ops/elementwise.js';
import { constant } from '../graph/ops/leaf.js';
import { concat, reshape, tile, unsqueeze } from '../graph/ops/movement.js';
import { maxPool2d } from '../graph/ops/pool.js';
import type { Tensor } from '../graph/tensor.js';
import { BatchNorm2d, Conv2d, ConvTranspose2d, GroupNorm, Linear, Module } from '../nn/index.js';
import { registerModel } from './registry.js';

/**
 * Options of the registered 'unet' model (zod schema, strict): in/out channels (default 1), base width (default 32),
 * depth (default 2), normalisation, GroupNorm groups, upsampling mode, timestep embedding width, activation and input
 * size.
 */
export const unetOptions = z
  .object({
    inChannels: z.number().int().positive().default(1),
    outChannels: z.number().int().positive().default(1),
    /** Channels of the first level; level i has base·2^i. */
    base: z.number().int().positive().default(32),
    /** Number of 2× downsamplings (the input size must divide by 2^depth). */
    depth: z.number().int().min(1).default(2),
    norm: z.enum(['group', 'batch']).default('group'),
    /** Groups of GroupNorm (must divide every level's channels). */
    groups: z.number().int().positive().default(8),
    /** 'transpose': ConvTranspose2d k2 s2; 'nearest': nearest-neighbour 2× then a 3×3 conv. */
    upsample: z.enum(['transpose', 'nearest']).default('transpose'),
    /** Width of the timestep embedding; 0 (default) = no timestep input. With > 0, forward takes (x, t [B] float32). */
    timeEmbed: z.number().int().min(0).default(0),
    act: z.enum(['silu', 'relu']).default('silu'),
    /** Input size (square) for export and summaries. */
    size: z.number().int().positive().default(28),
  })
  .strict();
/** Options of {@link UNet} as accepted (every field optional, defaults from {@link unetOptions}). */
export type UNetOptions = z.input<typeof unetOptions>;
type Cfg = z.output<typeof unetOptions>;

const activation =
  (c: Cfg) =>
  (x: Tensor): Tensor =>
    c.act === 'silu' ? silu(x) : relu(x);
const normLayer = (c: Cfg, ch: number): Module =>
  c.norm === 'group' ? new GroupNorm(Math.min(c.groups, ch), ch) : new BatchNorm2d(ch);

/** conv3×3 → norm → act (+ timestep bias) → conv3×3 → norm → act. */
export class DoubleConv extends Module {
  readonly conv1: Conv2d;
  readonly norm1: Module;
  readonly conv2: Conv2d;
  readonly norm2: Module;
  readonly time?: Linear;
  private readonly act: (x: Tensor) => Tensor;
  constructor(cin: number, cout: number, c: Cfg) {
    super();
    this.conv1 = new Conv2d(cin, cout, 3, { padding: 1, bias: false });
    this.norm1 = normLayer(c, cout);
    this.conv2 = new Conv2d(cout, cout, 3, { padding: 1, bias: false });
    this.norm2 = normLayer(c, cout);
    if (c.timeEmbed > 0) this.time = new Linear(c.timeEmbed, cout);
    this.act = activation(c);
  }
  /**
   * x [B, cin, H, W] → [B, cout, H, W]; `temb` [B, timeEmbed] adds a per-channel bias after the first conv when the
   * block has a timestep projection.
   */
  forward(x: Tensor, temb?: Tensor): Tensor {
    let h = this.act(this.norm1.forward(this.conv1.forward(x)));
    if (this.time && temb) h = add(h, unsqueeze(unsqueeze(this.time.forward(temb), 2), 3)); // + [B, C, 1, 1]
    return this.act(this.norm2.forward(this.conv2.forward(h)));
  }
}

/** Nearest-neighbour 2× upsampling: [B, C, H, W] → [B, C, 2H, 2W] (a reshape and a Tile). */
export function upsampleNearest2x(x: Tensor): Tensor {
  const [, c, h, w] = x.shape as [unknown, number, number, number];
  const t = tile(reshape(x, [-1, c, h, 1, w, 1]), [1, 1, 1, 2, 1, 2]); // [B, C, H, 2, W, 2]
  return reshape(t, [-1, c, 2 * h, 2 * w]); // [B, C, 2H, 2W]
}

/** Decoder step: upsample (channels halve), concatenate the skip, DoubleConv. */
export class UpBlock extends Module {
  readonly up: ConvTranspose2d | Conv2d;
  readonly conv: DoubleConv;
  constructor(
    cin: number,
    cout: number,
    readonly mode: Cfg['upsample'],
    c: Cfg,
  ) {
    super();
    this.up =
      mode === 'transpose'
        ? new ConvTranspose2d(cin, cout, 2, { stride: 2 })
        : new Conv2d(cin, cout, 3, { padding: 1 });
    this.conv = new DoubleConv(2 * cout, cout, c);
  }
  /**
   * Upsamples x [B, cin, H/2, W/2] to [B, cout, H, W], concatenates `skip` [B, cout, H, W] (required) on channels and
   * applies the DoubleConv → [B, cout, H, W].
   */
  forward(x: Tensor, skip?: Tensor, temb?: Tensor): Tensor {
    const u = this.mode === 'transpose' ? this.up.forward(x) : this.up.forward(upsampleNearest2x(x));
    return this.conv.forward(concat([skip!, u], 1), temb); // [B, 2·cout, H, W]
  }
}

/** Sinusoidal timestep features [B, dim] of float timesteps t [B] (the Transformer / DDPM table). */
export function timestepFeatures(t: Tensor, dim: number): Tensor {
  const half = Math.floor(dim / 2);
  const freqs = ndarray(
    'float32',
    [1, half],
    Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / Math.max(1, half - 1))),
  );
  const a = mul(unsqueeze(t, 1), constant(freqs)); // [B, half]
  return concat([sin(a), cos(a)], 1); // [B, 2·half]
}

/** U-Net: x [B, inChannels, H, W] (and t [B] with `timeEmbed`) → [B, outChannels, H, W]. */
export class UNet extends Module {
  readonly cfg: Cfg;
  readonly down: DoubleConv[];
  readonly mid: DoubleConv;
  readonly up: UpBlock[];
  readonly head: Conv2d;
  readonly t1?: Linear;
  readonly t2?: Linear;
  constructor(opts: UNetOptions = {}) {
    super();
    const c = unetOptions.parse(opts);
    if (c.size % 2 ** c.depth) throw new Error(`UNet: size ${c.size} must divide by 2^depth = ${2 ** c.depth}`);
    if (c.norm === 'group')
      for (let i = 0; i <= c.depth; i++)
        if ((c.base << i) % Math.min(c.groups, c.base << i))
          throw new Error(`UNet: GroupNorm groups ${c.groups} must divide ${c.base << i} channels`);
    this.cfg = c;
    const width = (i: number): number => c.base * 2 ** i;
    if (c.timeEmbed > 0) {
      this.t1 = new Linear(c.timeEmbed, c.timeEmbed);
      this.t2 = new Linear(c.timeEmbed, c.timeEmbed);
    }
    this.down = Array.from(
      { length: c.depth },
      (_, i) => new DoubleConv(i === 0 ? c.inChannels : width(i - 1), width(i), c),
    );
    this.mid = new DoubleConv(width(c.depth - 1), width(c.depth), c);
    this.up = Array.from({ length: c.depth }, (_, k) => {
      const i = c.depth - 1 - k; // level the block returns to
      return new UpBlock(width(i + 1), width(i), c.upsample, c);
    });
    this.head = new Conv2d(width(0), c.outChannels, 1);
  }

  /** The timestep embedding [B, timeEmbed] that every block adds (as a per-channel bias) after its first conv. */
  embedTime(t: Tensor): Tensor {
    return this.t2!.forward(silu(this.t1!.forward(timestepFeatures(t, this.cfg.timeEmbed))));
  }

  /**
   * x [B, inChannels, H, W] (float32, H and W divisible by 2^depth) → [B, outChannels, H, W]; `t` [B] (float32
   * timesteps) is required when built with timeEmbed > 0 (throws otherwise) and ignored when not; `cond`
   * [B, timeEmbed] (e.g. a class embedding) is added to the timestep embedding.
   */
  forward(x: Tensor, t?: Tensor, cond?: Tensor): Tensor {
    if (this.cfg.timeEmbed > 0 && !t)
      throw new Error('UNet: built with timeEmbed > 0, so forward needs timesteps t [B]');
    let temb = t && this.cfg.timeEmbed > 0 ? this.embedTime(t) : undefined;
    if (cond && temb) temb = add(temb, cond); // [B, timeEmbed]
    const skips: Tensor[] = [];
    let h = x;
    for (const d of this.down) {
      h = d.forward(h, temb); // [B, base·2^i, H/2^i, W/2^i]
      skips.push(h);
      h = maxPool2d(h, 2, { stride: 2 });
    }
    h = this.mid.forward(h, temb); // [B, base·2^depth, H/2^depth, W/2^depth]
    for (const u of this.up) h = u.forward(h, skips.pop()!, temb);
    return this.head.forward(h); // [B, outChannels, H, W]
  }
}

registerModel({
  name: 'unet',
  description:
    'U-Net: conv encoder/decoder with concatenated skip connections, GroupNorm/BatchNorm, transposed-conv or nearest upsampling, optional timestep input',
  options: unetOptions,
  inputShape: (o) => [o.inChannels, o.size, o.size],
  inputs: (o) => [
    { name: 'input', dtype: 'float32', shape: [o.inChannels, o.size, o.size] },
    ...(o.timeEmbed > 0 ? [{ name: 'timesteps', dtype: 'float32' as const, shape: [] as number[] }] : []),
  ],
  create: (o) => new UNet(o),
});
