import type { NDArray } from '../graph/ndarray.js';
import type { Tensor } from '../graph/tensor.js';
import { formatShape } from '../graph/shape.js';

/**
 * A named piece of model state. `data` holds the host value; while a graph is being traced, `t` is the symbolic
 * tensor that stands for it. Buffers (`trainable: false`, e.g. BatchNorm running statistics) are state that the
 * forward pass may update but gradients never touch.
 */
export class Parameter {
  private traced: Tensor | undefined;
  /** A buffer's new value computed by the traced forward pass (e.g. BatchNorm running statistics). */
  pending: Tensor | undefined;
  constructor(
    public data: NDArray,
    readonly kind: 'param' | 'buffer' = 'param',
    public frozen = false,
  ) {}

  get shape(): readonly number[] {
    return this.data.shape;
  }

  /** The traced tensor for this parameter (only while a model is being traced). */
  get t(): Tensor {
    if (!this.traced)
      throw new Error(
        `parameter of shape ${formatShape(this.data.shape)} used outside a trace: call the model inside compile()/Trainer, or bind it with bindParameters()`,
      );
    return this.traced;
  }

  /** @internal set by bindParameters() */
  bind(t: Tensor | undefined): void {
    this.traced = t;
    this.pending = undefined;
  }
}
