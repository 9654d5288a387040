// MobileNetV2-style network (Sandler et al. 2018): inverted residual blocks — 1×1 expansion, 3×3 depthwise
// convolution, linear 1×1 projection — with ReLU6, for edge targets.
import { z } from 'zod';
import { add } from '../graph/ops/elementwise.js';
import { adaptiveAvgPool2d } from '../graph/ops/pool.js';
import { flatten } from '../graph/ops/movement.js';
import type { Tensor } from '../graph/tensor.js';
import { Dropout, Linear, Module } from '../nn/index.js';
import { ConvBN } from './resnet.js';
import { registerModel } from './registry.js';

/**
 * MobileNetV2's inverted residual block: 1×1 expansion by `ratio` (skipped when 1) → 3×3 depthwise conv with `stride` →
 * linear 1×1 projection to `cout`, each with BatchNorm (ReLU6 after the first two); adds the input when stride is 1 and
 * cin = cout.
 */
export class InvertedResidual extends Module {
  readonly expand?: ConvBN;
  readonly dw: ConvBN;
  readonly project: ConvBN;
  readonly residual: boolean;
  constructor(cin: number, cout: number, stride: number, ratio: number) {
    super();
    const hidden = Math.round(cin * ratio);
    if (ratio !== 1) this.expand = new ConvBN(cin, hidden, 1, { act: 'relu6' });
    this.dw = new ConvBN(hidden, hidden, 3, { stride, groups: hidden, act: 'relu6' });
    this.project = new ConvBN(hidden, cout, 1, { act: 'none' });
    this.residual = stride === 1 && cin === cout;
  }
  /** [B, cin, H, W] → [B, cout, H/stride, W/stride] (plus x when the block is residual). */
  forward(x: Tensor): Tensor {
    const h = this.project.forward(this.dw.forward(this.expand ? this.expand.forward(x) : x));
    return this.residual ? add(x, h) : h;
  }
}

const divisible = (v: number, d = 8): number => Math.max(d, Math.floor((v + d / 2) / d) * d);

/**
 * Options of the registered 'mobilenetv2' model (zod schema, strict): the stage table, width multiplier (default 1),
 * stem and last widths, input channels and size (default 1 × 28), classes (default 10), dropout (default 0.2) and stem
 * stride.
 */
export const mobilenetOptions = z
  .object({
    /** Stages as [expansion t, channels c, repeats n, stride s] (MobileNetV2's table; default: a 28-px variant). */
    stages: z
      .array(
        z.tuple([
          z.number().positive(),
          z.number().int().positive(),
          z.number().int().positive(),
          z.number().int().positive(),
        ]),
      )
      .default([
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 2, 1],
        [6, 96, 2, 1],
      ]),
    widthMult: z.number().positive().default(1),
    stemWidth: z.number().int().positive().default(32),
    lastWidth: z.number().int().positive().default(640),
    channels: z.number().int().positive().default(1),
    size: z.number().int().positive().default(28),
    classes: z.number().int().positive().default(10),
    dropout: z.number().min(0).max(0.9).default(0.2),
    /** Stride of the stem conv (2 in the ImageNet network, 1 for 28-px images). */
    stemStride: z.number().int().positive().default(1),
  })
  .strict();
export type MobileNetOptions = z.input<typeof mobilenetOptions>;

/**
 * MobileNetV2-style classifier (Sandler et al. 2018): a 3×3 conv-BN-ReLU6 stem, stages of inverted residual blocks
 * (channels rounded to multiples of 8 after the width multiplier), a 1×1 conv to the last width, global average
 * pooling, dropout and a linear head; throws (zod) on invalid options.
 */
export class MobileNetV2 extends Module {
  readonly stem: ConvBN;
  readonly blocks: InvertedResidual[];
  readonly head: ConvBN;
  readonly drop: Dropout;
  readonly fc: Linear;
  constructor(opts: MobileNetOptions = {}) {
    super();
    const c = mobilenetOptions.parse(opts);
    let cin = divisible(c.stemWidth * c.widthMult);
    this.stem = new ConvBN(c.channels, cin, 3, { stride: c.stemStride, act: 'relu6' });
    this.blocks = [];
    for (const [t, ch, n, s] of c.stages) {
      const cout = divisible(ch * c.widthMult);
      for (let i = 0; i < n; i++) {
        this.blocks.push(new InvertedResidual(cin, cout, i === 0 ? s : 1, t));
        cin = cout;
      }
    }
    const last = divisible(c.lastWidth * Math.max(1, c.widthMult));
    this.head = new ConvBN(cin, last, 1, { act: 'relu6' });
    this.drop = new Dropout(c.dropout);
    this.fc = new Linear(last, c.classes);
  }
  /** Class logits [B, classes] for images x [B, channels, size, size] (float32). */
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    h = flatten(adaptiveAvgPool2d(this.head.forward(h), 1), 1);
    return this.fc.forward(this.drop.forward(h));
  }
}

registerModel({
  name: 'mobilenetv2',
  description:
    'MobileNetV2-style: inverted residual blocks (1×1 expand, 3×3 depthwise, linear 1×1 project), ReLU6, width multiplier',
  options: mobilenetOptions,
  inputShape: (o) => [o.channels, o.size, o.size],
  create: (o) => new MobileNetV2(o),
});
