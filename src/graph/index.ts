import './methods.js';
export * from './ops/index.js';
export { Tensor, Node, isTensor } from './tensor.js';
export type { DType, TypedArrayOf } from './dtype.js';
export { isFloat } from './dtype.js';
export { type Dim, type Shape, formatShape, broadcastShapes } from './shape.js';
export { ndarray, float32, float64, int32, int64, toNumbers, type NDArray } from './ndarray.js';
export { primitive, primitiveNames, type Primitive, type LowerCtx, type VjpRule, type AttrValue } from './primitive.js';
export { withAutocast } from './autocast.js';
