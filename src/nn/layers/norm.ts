import { ndarray } from '../../graph/ndarray.js';
import { batchNorm, groupNorm, layerNorm, rmsNorm } from '../../graph/ops/norm.js';
import type { Tensor } from '../../graph/tensor.js';
import { traceContext } from '../context.js';
import { ones, zeros } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

/**
 * Batch normalisation over channels (axis 1) for [N, C] and [N, C, ...] inputs. In training the forward pass
 * returns updated running statistics, which the Trainer writes back (PyTorch's unbiased running variance).
 */
export class BatchNorm extends Module {
  readonly weight?: Parameter;
  readonly bias?: Parameter;
  readonly runningMean: Parameter;
  readonly runningVar: Parameter;
  constructor(
    readonly numFeatures: number,
    readonly cfg: { eps?: number; momentum?: number; affine?: boolean } = {},
  ) {
    super();
    if (cfg.affine ?? true) {
      this.weight = this.param([numFeatures], ones);
      this.bias = this.param([numFeatures], zeros);
    }
    this.runningMean = this.buffer(ndarray('float32', [numFeatures]));
    this.runningVar = this.buffer(ndarray('float32', [numFeatures], new Float32Array(numFeatures).fill(1)));
  }
  /**
   * Normalizes x [N, C] or [N, C, ...] per channel: with batch statistics while training (and records the updated
   * running mean/variance, momentum default 0.1), with the running statistics in evaluation mode; eps default 1e-5.
   */
  forward(x: Tensor): Tensor {
    const training = this.training && traceContext().training;
    const r = batchNorm(x, this.weight?.t, this.bias?.t, this.runningMean.t, this.runningVar.t, {
      training,
      momentum: this.cfg.momentum,
      eps: this.cfg.eps,
    });
    if (training) {
      // the Trainer writes these back as buffer updates of the step graph
      this.runningMean.pending = r.runningMean;
      this.runningVar.pending = r.runningVar;
    }
    return r.y;
  }
}
/** Alias of {@link BatchNorm} for [N, C] or [N, C, L] inputs (PyTorch's name). */
export const BatchNorm1d = BatchNorm;
/** Alias of {@link BatchNorm} for [N, C, H, W] inputs (PyTorch's name). */
export const BatchNorm2d = BatchNorm;

/**
 * Layer normalisation over the trailing dims given by `shape` (a number for the last axis alone), with a learned
 * scale (init 1) and, unless `cfg.bias` is false, a shift (init 0); `cfg.eps` defaults to 1e-5.
 */
export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  constructor(
    readonly shape: number | readonly number[],
    readonly cfg: { eps?: number; bias?: boolean } = {},
  ) {
    super();
    const s = typeof shape === 'number' ? [shape] : [...shape];
    this.weight = this.param(s, ones);
    if (cfg.bias ?? true) this.bias = this.param(s, zeros);
  }
  /**
   * Normalizes x [..., ...shape] to zero mean and unit variance over its trailing `shape` dims, then scales and shifts.
   */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight.t, this.bias?.t, { eps: this.cfg.eps });
  }
}

/**
 * RMS normalisation over the last axis of size `dim`: x / √(mean(x²) + eps) · weight, weight initialized to 1;
 * eps defaults to 1e-6.
 */
export class RMSNorm extends Module {
  readonly weight: Parameter;
  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.param([dim], ones);
  }
  /** Scales x [..., dim] by the reciprocal root-mean-square of its last axis, then by the learned weight. */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight.t, this.eps);
  }
}

/**
 * Group normalisation: the `channels` of [N, C, ...] inputs are split into `groups` groups, each normalized over its
 * channels and spatial positions, then scaled and shifted per channel (init 1 and 0); eps defaults to 1e-5.
 */
export class GroupNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(
    readonly groups: number,
    readonly channels: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param([channels], ones);
    this.bias = this.param([channels], zeros);
  }
  /** Normalizes x [N, C, ...] per sample and group; throws when C is not divisible by `groups`. */
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, this.weight.t, this.bias.t, this.eps);
  }
}
