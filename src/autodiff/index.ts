export { grad, valueAndGrad, vjp, gradients, type TracedFn } from './grad.js';
export { vjpGraph, sumTo } from './vjp.js';
export {
  customVjp,
  stopGradient,
  detach,
  type CustomVjpForward,
  type CustomVjpRule,
} from '../graph/ops/differentiation.js';
