// ResNet (He et al. 2015) with basic or bottleneck blocks and configurable depth, for small images (a 3×3 stem
// without max-pooling, as on CIFAR/Fashion-MNIST) or ImageNet-style inputs (7×7 stride-2 stem + max-pool).
import { z } from 'zod';
import { add, relu, relu6 } from '../graph/ops/elementwise.js';
import { adaptiveAvgPool2d, maxPool2d } from '../graph/ops/pool.js';
import { flatten } from '../graph/ops/movement.js';
import type { Tensor } from '../graph/tensor.js';
import { type BatchNorm, BatchNorm2d, Conv2d, Linear, Module } from '../nn/index.js';
import { kaimingNormal, zeros } from '../nn/init.js';
import { initGenerator } from '../nn/module.js';
import { registerModel } from './registry.js';

/** conv → BN (→ ReLU): the unit every block is made of. */
export class ConvBN extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;
  constructor(
    cin: number,
    cout: number,
    k: number,
    readonly opts: { stride?: number; groups?: number; act?: 'relu' | 'relu6' | 'none'; zeroGamma?: boolean } = {},
  ) {
    super();
    this.conv = new Conv2d(cin, cout, k, {
      stride: opts.stride ?? 1,
      padding: (k - 1) / 2,
      groups: opts.groups ?? 1,
      bias: false,
    });
    this.conv.weight.data = kaimingNormal(0, 'fanOut')(this.conv.weight.data.shape, initGenerator());
    this.bn = new BatchNorm2d(cout);
    if (opts.zeroGamma) this.bn.weight!.data = zeros([cout], initGenerator());
  }
  /**
   * conv → BN (→ ReLU or ReLU6): [B, cin, H, W] → [B, cout, H/stride, W/stride] (padding (k − 1)/2 keeps the size at
   * stride 1).
   */
  forward(x: Tensor): Tensor {
    const y = this.bn.forward(this.conv.forward(x));
    const act = this.opts.act ?? 'relu';
    return act === 'relu' ? relu(y) : act === 'relu6' ? relu6(y) : y;
  }
}

/**
 * ResNet's basic block: 3×3 conv-BN-ReLU with `stride` → 3×3 conv-BN (last BN zero-initialised), added to the input
 * or to a 1×1 strided projection of it when the stride or width changes, then ReLU.
 */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly a: ConvBN;
  readonly b: ConvBN;
  readonly down?: ConvBN;
  constructor(cin: number, width: number, stride: number) {
    super();
    this.a = new ConvBN(cin, width, 3, { stride });
    this.b = new ConvBN(width, width, 3, { act: 'none', zeroGamma: true });
    if (stride !== 1 || cin !== width) this.down = new ConvBN(cin, width, 1, { stride, act: 'none' });
  }
  /** relu(b(a(x)) + shortcut(x)): [B, cin, H, W] → [B, width, H/stride, W/stride]. */
  forward(x: Tensor): Tensor {
    return relu(add(this.b.forward(this.a.forward(x)), this.down ? this.down.forward(x) : x));
  }
}

/**
 * ResNet's bottleneck block: 1×1 conv to `width` → 3×3 conv with `stride` → 1×1 conv to 4·width (last BN
 * zero-initialised), added to the input or to a 1×1 strided projection of it, then ReLU.
 */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly a: ConvBN;
  readonly b: ConvBN;
  readonly c: ConvBN;
  readonly down?: ConvBN;
  constructor(cin: number, width: number, stride: number) {
    super();
    const out = width * 4;
    this.a = new ConvBN(cin, width, 1);
    this.b = new ConvBN(width, width, 3, { stride });
    this.c = new ConvBN(width, out, 1, { act: 'none', zeroGamma: true });
    if (stride !== 1 || cin !== out) this.down = new ConvBN(cin, out, 1, { stride, act: 'none' });
  }
  /** relu(c(b(a(x))) + shortcut(x)): [B, cin, H, W] → [B, 4·width, H/stride, W/stride]. */
  forward(x: Tensor): Tensor {
    return relu(add(this.c.forward(this.b.forward(this.a.forward(x))), this.down ? this.down.forward(x) : x));
  }
}

/**
 * Options of the registered 'resnet' model (zod schema, strict): block type, blocks and width per stage, strides, input
 * channels and size (default 1 × 28), classes (default 10) and the stem.
 */
export const resnetOptions = z
  .object({
    block: z.enum(['basic', 'bottleneck']).default('basic'),
    /** Blocks per stage ([2,2,2,2] = ResNet-18, [3,4,6,3] = ResNet-34/50). */
    layers: z.array(z.number().int().positive()).min(1).default([2, 2, 2, 2]),
    /** Base width per stage (bottleneck stages output 4× this). */
    widths: z.array(z.number().int().positive()).min(1).default([64, 128, 256, 512]),
    /** Stride of each stage's first block (default 1 for the first stage, 2 after: [1, 2, 2, 2]). */
    strides: z.array(z.number().int().positive()).min(1).optional(),
    channels: z.number().int().positive().default(1),
    size: z.number().int().positive().default(28),
    classes: z.number().int().positive().default(10),
    /** 'small': 3×3 stride-1 stem, no max-pool (28–32 px images); 'imagenet': 7×7 stride-2 stem + 3×3 max-pool. */
    stem: z.enum(['small', 'imagenet']).default('small'),
  })
  .strict();
export type ResNetOptions = z.input<typeof resnetOptions>;

/**
 * ResNet (He et al. 2015): a conv-BN-ReLU stem (3×3 for small images, or 7×7 stride 2 + max-pool), stages of basic or
 * bottleneck blocks, global average pooling and a linear head; throws if `widths` or `strides` do not have one entry
 * per stage.
 */
export class ResNet extends Module {
  readonly cfg: z.output<typeof resnetOptions>;
  readonly stem: ConvBN;
  readonly blocks: Module[];
  readonly fc: Linear;
  constructor(opts: ResNetOptions = {}) {
    super();
    const c = resnetOptions.parse(opts);
    if (c.widths.length !== c.layers.length)
      throw new Error(`ResNet: ${c.layers.length} stages but ${c.widths.length} widths`);
    if (c.strides && c.strides.length !== c.layers.length)
      throw new Error(`ResNet: ${c.layers.length} stages but ${c.strides.length} strides`);
    this.cfg = c;
    const stemW = c.widths[0];
    this.stem = new ConvBN(c.channels, stemW, c.stem === 'small' ? 3 : 7, { stride: c.stem === 'small' ? 1 : 2 });
    const Block = c.block === 'basic' ? BasicBlock : Bottleneck;
    this.blocks = [];
    let cin = stemW;
    c.layers.forEach((n, s) => {
      for (let i = 0; i < n; i++) {
        const stride = c.strides ? c.strides[s] : s > 0 ? 2 : 1;
        this.blocks.push(new Block(cin, c.widths[s], i === 0 ? stride : 1));
        cin = c.widths[s] * Block.expansion;
      }
    });
    this.fc = new Linear(cin, c.classes);
  }
  /** Class logits [B, classes] for images x [B, channels, size, size] (float32). */
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x);
    if (this.cfg.stem === 'imagenet') h = maxPool2d(h, 3, { stride: 2, padding: 1 });
    for (const b of this.blocks) h = b.forward(h);
    return this.fc.forward(flatten(adaptiveAvgPool2d(h, 1), 1));
  }
}

registerModel({
  name: 'resnet',
  description:
    'ResNet: conv-BN stem, stages of basic or bottleneck residual blocks (stride-2 downsampling), global average pool, linear',
  options: resnetOptions,
  inputShape: (o) => [o.channels, o.size, o.size],
  create: (o) => new ResNet(o),
});
