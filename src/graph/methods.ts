// Method chaining (x.matmul(w).relu().sum()) added to Tensor by module augmentation; the ops stay free functions.
import * as op from './ops/index.js';
import type { DType } from './dtype.js';
import type { Dim } from './shape.js';
import { Tensor } from './tensor.js';

type TL = op.TensorLike;
type Axes = number | readonly number[];

declare module './tensor.js' {
  interface Tensor {
    add(y: TL): Tensor;
    sub(y: TL): Tensor;
    mul(y: TL): Tensor;
    div(y: TL): Tensor;
    pow(y: TL): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    square(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    relu(): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    silu(): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    sum(axes?: Axes, keepdim?: boolean): Tensor;
    mean(axes?: Axes, keepdim?: boolean): Tensor;
    max(axes?: Axes, keepdim?: boolean): Tensor;
    min(axes?: Axes, keepdim?: boolean): Tensor;
    argmax(axis?: number, keepdim?: boolean): Tensor;
    matmul(y: Tensor): Tensor;
    reshape(shape: readonly Dim[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    transpose(perm?: readonly number[]): Tensor;
    squeeze(axes?: Axes): Tensor;
    unsqueeze(axes: Axes): Tensor;
    cast(to: DType): Tensor;
    detach(): Tensor;
    eq(y: TL): Tensor;
    lt(y: TL): Tensor;
    gt(y: TL): Tensor;
  }
}

const methods: Record<string, (this: Tensor, ...args: never[]) => Tensor> = {
  add(y: TL) { return op.add(this, y); },
  sub(y: TL) { return op.sub(this, y); },
  mul(y: TL) { return op.mul(this, y); },
  div(y: TL) { return op.div(this, y); },
  pow(y: TL) { return op.pow(this, y); },
  neg() { return op.neg(this); },
  abs() { return op.abs(this); },
  exp() { return op.exp(this); },
  log() { return op.log(this); },
  sqrt() { return op.sqrt(this); },
  rsqrt() { return op.rsqrt(this); },
  square() { return op.square(this); },
  sigmoid() { return op.sigmoid(this); },
  tanh() { return op.tanh(this); },
  relu() { return op.relu(this); },
  gelu(a?: 'none' | 'tanh') { return op.gelu(this, a); },
  silu() { return op.silu(this); },
  softmax(axis?: number) { return op.softmax(this, axis); },
  logSoftmax(axis?: number) { return op.logSoftmax(this, axis); },
  sum(axes?: Axes, keep?: boolean) { return op.sum(this, axes, keep); },
  mean(axes?: Axes, keep?: boolean) { return op.mean(this, axes, keep); },
  max(axes?: Axes, keep?: boolean) { return op.max(this, axes, keep); },
  min(axes?: Axes, keep?: boolean) { return op.min(this, axes, keep); },
  argmax(axis?: number, keep?: boolean) { return op.argmax(this, axis, keep); },
  matmul(y: Tensor) { return op.matmul(this, y); },
  reshape(shape: readonly Dim[]) { return op.reshape(this, shape); },
  flatten(s?: number, e?: number) { return op.flatten(this, s, e); },
  transpose(perm?: readonly number[]) { return op.transpose(this, perm); },
  squeeze(axes?: Axes) { return op.squeeze(this, axes); },
  unsqueeze(axes: Axes) { return op.unsqueeze(this, axes); },
  cast(to: DType) { return op.cast(this, to); },
  detach() { return op.stopGradient(this); },
  eq(y: TL) { return op.equal(this, y); },
  lt(y: TL) { return op.less(this, y); },
  gt(y: TL) { return op.greater(this, y); },
};
Object.assign(Tensor.prototype, methods);
