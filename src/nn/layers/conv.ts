import { conv1d, conv2d, convTranspose2d } from '../../graph/ops/conv.js';
import type { Tensor } from '../../graph/tensor.js';
import { biasUniform, kaimingUniform } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Options of {@link Conv2d}; a pair is [height, width], a number applies to both. */
export interface Conv2dConfig {
  /** Step between windows (default 1). */
  readonly stride?: Pair;
  /** Zero padding per side (default 0, same as `'valid'`); `'same'` keeps H×W and needs stride 1. */
  readonly padding?: Pair | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  readonly dilation?: Pair;
  /** Channel groups (default 1); both channel counts must be divisible by it, `groups = inChannels` is depthwise. */
  readonly groups?: number;
  /** Whether to learn a bias [outChannels] (default true). */
  readonly bias?: boolean;
}

/** 2-D convolution layer, weight [out, in/groups, kh, kw] (torch.nn.Conv2d layout and init). */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernel: Pair,
    readonly cfg: Conv2dConfig = {},
  ) {
    super();
    const [kh, kw] = pair(kernel);
    const groups = cfg.groups ?? 1;
    if (inChannels % groups || outChannels % groups)
      throw new Error(`Conv2d: channels ${inChannels}→${outChannels} must divide by groups=${groups}`);
    this.weight = this.param([outChannels, inChannels / groups, kh, kw], kaimingUniform(Math.sqrt(5)));
    if (cfg.bias ?? true) this.bias = this.param([outChannels], biasUniform((inChannels / groups) * kh * kw));
  }
  /**
   * Convolves x [N, inChannels, H, W] to [N, outChannels, H', W'] with the configured stride, padding, dilation and
   * groups.
   */
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight.t, this.bias?.t, {
      stride: this.cfg.stride,
      padding: this.cfg.padding,
      dilation: this.cfg.dilation,
      groups: this.cfg.groups,
    });
  }
}

/** 1-D convolution layer, weight [out, in/groups, k]. */
export class Conv1d extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernel: number,
    readonly cfg: {
      stride?: number;
      padding?: number | 'same' | 'valid';
      dilation?: number;
      groups?: number;
      bias?: boolean;
    } = {},
  ) {
    super();
    const groups = cfg.groups ?? 1;
    this.weight = this.param([outChannels, inChannels / groups, kernel], kaimingUniform(Math.sqrt(5)));
    if (cfg.bias ?? true) this.bias = this.param([outChannels], biasUniform((inChannels / groups) * kernel));
  }
  /** Convolves x [N, inChannels, L] to [N, outChannels, L']; throws unless `x` has rank 3. */
  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight.t, this.bias?.t, this.cfg);
  }
}

/** Transposed 2-D convolution, weight [in, out/groups, kh, kw]. */
export class ConvTranspose2d extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernel: Pair,
    readonly cfg: {
      stride?: Pair;
      padding?: Pair;
      outputPadding?: Pair;
      dilation?: Pair;
      groups?: number;
      bias?: boolean;
    } = {},
  ) {
    super();
    const [kh, kw] = pair(kernel);
    const groups = cfg.groups ?? 1;
    this.weight = this.param([inChannels, outChannels / groups, kh, kw], kaimingUniform(Math.sqrt(5)));
    if (cfg.bias ?? true) this.bias = this.param([outChannels], biasUniform((outChannels / groups) * kh * kw));
  }
  /**
   * Upsamples x [N, inChannels, H, W] to [N, outChannels, H', W'] with
   * H' = (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1 (likewise W'), as torch.nn.ConvTranspose2d.
   */
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight.t, this.bias?.t, this.cfg);
  }
}
