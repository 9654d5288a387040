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
  constructor(readonly name: string, private readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export const ReLU = () => new Lambda('ReLU', relu);
export const GELU = (approximate: 'none' | 'tanh' = 'none') => new Lambda('GELU', (x) => gelu(x, approximate));
export const SiLU = () => new Lambda('SiLU', silu);
export const Tanh = () => new Lambda('Tanh', tanh);
export const Sigmoid = () => new Lambda('Sigmoid', sigmoid);
export const Softplus = () => new Lambda('Softplus', softplus);
export const LeakyReLU = (alpha = 0.01) => new Lambda('LeakyReLU', (x) => leakyRelu(x, alpha));
export const ELU = (alpha = 1) => new Lambda('ELU', (x) => elu(x, alpha));
export const Softmax = (axis = -1) => new Lambda('Softmax', (x) => softmax(x, axis));
export const Flatten = (startDim = 1) => new Lambda('Flatten', (x) => flatten(x, startDim));
export const MaxPool2d = (kernel: number, stride?: number, padding = 0) => new Lambda('MaxPool2d', (x) => maxPool2d(x, kernel, { stride: stride ?? kernel, padding }));
export const AvgPool2d = (kernel: number, stride?: number, padding = 0) => new Lambda('AvgPool2d', (x) => avgPool2d(x, kernel, { stride: stride ?? kernel, padding }));
export const AdaptiveAvgPool2d = (size: number | readonly [number, number]) => new Lambda('AdaptiveAvgPool2d', (x) => adaptiveAvgPool2d(x, size));

/** Inverted dropout; active only in training mode, with masks derived from the step's random key. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }
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
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l) => l.forward(h), x);
  }
}

/** y = x + f(x) (optionally through a projection on the skip path). */
export class Residual extends Module {
  constructor(readonly body: Module, readonly shortcut?: Module) {
    super();
  }
  forward(x: Tensor): Tensor {
    const s = this.shortcut ? this.shortcut.forward(x) : x;
    return add(this.body.forward(x), s);
  }
}
