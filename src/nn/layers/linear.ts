import { linear } from '../../graph/ops/linalg.js';
import type { Tensor } from '../../graph/tensor.js';
import { biasUniform, kaimingUniform } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

/** y = x·Wᵀ + b, weight [out, in], initialised as torch.nn.Linear. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    this.weight = this.param([outFeatures, inFeatures], kaimingUniform(Math.sqrt(5)));
    if (opts.bias ?? true) this.bias = this.param([outFeatures], biasUniform(inFeatures));
  }
  /**
   * Maps x [..., inFeatures] to [..., outFeatures] (x·Wᵀ + b over the last axis); throws when the last dim of `x`
   * is not `inFeatures`.
   */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight.t, this.bias?.t);
  }
}
