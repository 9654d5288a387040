import { embedding } from '../../graph/ops/indexing.js';
import type { Tensor } from '../../graph/tensor.js';
import { normal } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

/** Lookup table [vocab, dim] (N(0, 1) init as torch.nn.Embedding). */
export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(
    readonly vocab: number,
    readonly dim: number,
  ) {
    super();
    this.weight = this.param([vocab, dim], normal(1));
  }
  /** Looks up the rows of the table at integer `ids` of any shape, giving float32 [...ids.shape, dim]. */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight.t);
  }
}
