export { grad, valueAndGrad, vjp, gradients, type TracedFn } from './grad.js';
export { vjpGraph, sumTo } from './vjp.js';
export { stopGradient, detach } from '../graph/ops/misc.js';
