// Parameter-free layers: activations, pooling, flatten, dropout, and the Sequential container.
import { add, elu, gelu, leakyRelu, relu, sigmoid, silu, tanh, softplus } from '../../graph/ops/elementwise.js';
import { flatten } from '../../graph/ops/movement.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../../graph/ops/pool.js';
import { softmax } from '../../graph/ops/norm.js';
import { dropout } from '../../graph/ops/random.js';
import type { Tensor } from '../../graph/tensor.js';
import { layerStream, traceContext } from '../context.js';
import { Module } from '../module.js';

/** Wraps a tensor function as a module (activations and other stateless steps). */
export class Lambda extends Module {
  constructor(
    readonly name: string,
    private readonly fn: (x: Tensor) => Tensor,
  ) {
    super();
  }
  /** Applies the wrapped function to `x`; the output shape is whatever the function gives. */
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

/** Elementwise max(x, 0) as a parameter-free module; any shape, output has the input's shape. */
export const ReLU = () => new Lambda('ReLU', relu);
/**
 * Elementwise GELU, x·Φ(x); `approximate: 'tanh'` uses the tanh approximation (GPT-2's), default `'none'` is exact
 * (erf), as torch.nn.GELU.
 */
export const GELU = (approximate: 'none' | 'tanh' = 'none') => new Lambda('GELU', (x) => gelu(x, approximate));
/** Elementwise SiLU (swish), x·sigmoid(x), as a parameter-free module; shape preserved. */
export const SiLU = () => new Lambda('SiLU', silu);
/** Elementwise hyperbolic tangent as a parameter-free module; shape preserved. */
export const Tanh = () => new Lambda('Tanh', tanh);
/** Elementwise logistic sigmoid 1/(1 + e^−x) as a parameter-free module; shape preserved. */
export const Sigmoid = () => new Lambda('Sigmoid', sigmoid);
/** Elementwise softplus log(1 + e^x), computed in an overflow-free form; shape preserved. */
export const Softplus = () => new Lambda('Softplus', softplus);
/** Elementwise leaky ReLU: x for x > 0, `alpha`·x otherwise (default slope 0.01); shape preserved. */
export const LeakyReLU = (alpha = 0.01) => new Lambda('LeakyReLU', (x) => leakyRelu(x, alpha));
/** Elementwise ELU: x for x > 0, `alpha`·(e^x − 1) otherwise (default alpha 1); shape preserved. */
export const ELU = (alpha = 1) => new Lambda('ELU', (x) => elu(x, alpha));
/** Softmax along `axis` (default −1, the last), so each slice along that axis sums to 1; shape preserved. */
export const Softmax = (axis = -1) => new Lambda('Softmax', (x) => softmax(x, axis));
/**
 * Merges every dimension from `startDim` (default 1, keeping the batch) to the last into one, e.g.
 * [N, C, H, W] → [N, C·H·W].
 */
export const Flatten = (startDim = 1) => new Lambda('Flatten', (x) => flatten(x, startDim));
/** 2-D max pooling over [N, C, H, W] with a square `kernel`; `stride` defaults to the kernel size, `padding` to 0. */
export const MaxPool2d = (kernel: number, stride?: number, padding = 0) =>
  new Lambda('MaxPool2d', (x) => maxPool2d(x, kernel, { stride: stride ?? kernel, padding }));
/**
 * 2-D average pooling over [N, C, H, W] with a square `kernel`; `stride` defaults to the kernel size, `padding` to 0
 * (padded zeros count in the average, as PyTorch's default count_include_pad).
 */
export const AvgPool2d = (kernel: number, stride?: number, padding = 0) =>
  new Lambda('AvgPool2d', (x) => avgPool2d(x, kernel, { stride: stride ?? kernel, padding }));
/**
 * Average pooling of [N, C, H, W] to a fixed output [N, C, oh, ow] (`size` as one number for a square output),
 * with PyTorch's window boundaries even when the sizes don't divide.
 */
export const AdaptiveAvgPool2d = (size: number | readonly [number, number]) =>
  new Lambda('AdaptiveAvgPool2d', (x) => adaptiveAvgPool2d(x, size));

/** Inverted dropout; active only in training mode, with masks derived from the step's random key. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }
  /**
   * Zeroes each element with probability `p` and scales the rest by 1/(1 − p) in training mode; the identity in
   * evaluation mode. Throws when training without a random key in the trace context.
   */
  forward(x: Tensor): Tensor {
    const ctx = traceContext();
    const stream = layerStream();
    if (!this.training || !ctx.training || this.p === 0) return x;
    if (!ctx.key) throw new Error('Dropout: training mode needs a random key in the trace context');
    return dropout(x, this.p, ctx.key, { stream });
  }
}

/** Applies layers in order. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }
  /** Feeds `x` through each layer in order and returns the last layer's output. */
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l) => l.forward(h), x);
  }
}

/** y = x + f(x) (optionally through a projection on the skip path). */
export class Residual extends Module {
  constructor(
    readonly body: Module,
    readonly shortcut?: Module,
  ) {
    super();
  }
  /** Returns body(x) + shortcut(x) (or + x without a shortcut); the two must have broadcast-compatible shapes. */
  forward(x: Tensor): Tensor {
    const s = this.shortcut ? this.shortcut.forward(x) : x;
    return add(this.body.forward(x), s);
  }
}
