export { grad, valueAndGrad, vjp, gradients, type TracedFn } from './grad.js';
export { vjpGraph, sumTo } from './vjp.js';
export { customVjp, type CustomVjpForward, type CustomVjpRule } from './custom-vjp.js';
export { stopGradient, detach } from '../graph/ops/misc.js';
