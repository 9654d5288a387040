// Identity-like primitives that steer differentiation.
import { primitive } from '../primitive.js';
import type { Tensor } from '../tensor.js';

const stopGradientPrim = primitive<Record<string, never>>({
  name: 'stopGradient',
  infer: ([x]) => [{ dtype: x.dtype, shape: x.shape }],
  lower: (ctx, _n, [x]) => ctx.emit('Identity', [x]),
  vjp: () => [null],
});
/** The same values, but no gradient flows through (torch's `detach`). */
export const stopGradient = (x: Tensor): Tensor => stopGradientPrim([x], {})[0];
export const detach = stopGradient;
