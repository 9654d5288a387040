// Method chaining (x.matmul(w).relu().sum()) added to Tensor by module augmentation; the ops stay free functions.
import * as op from './ops/index.js';
import type { DType } from './dtype.js';
import type { Dim } from './shape.js';
import { Tensor } from './tensor.js';

type TL = op.TensorLike;
type Axes = number | readonly number[];

declare module './tensor.js' {
  interface Tensor {
    /** `x.add(y)` is `add(x, y)`: x + y with numpy broadcasting (ONNX Add); a number takes x's dtype. */
    add(y: TL): Tensor;
    /** `x.sub(y)` is `sub(x, y)`: x − y with numpy broadcasting (ONNX Sub); a number takes x's dtype. */
    sub(y: TL): Tensor;
    /** `x.mul(y)` is `mul(x, y)`: x · y with numpy broadcasting (ONNX Mul); a number takes x's dtype. */
    mul(y: TL): Tensor;
    /** `x.div(y)` is `div(x, y)`: x / y with numpy broadcasting (ONNX Div); a number takes x's dtype. */
    div(y: TL): Tensor;
    /** `x.pow(y)` is `pow(x, y)`: x^y with numpy broadcasting (ONNX Pow); float tensors only. */
    pow(y: TL): Tensor;
    /** `x.neg()` is `neg(x)`: −x elementwise (ONNX Neg). */
    neg(): Tensor;
    /** `x.abs()` is `abs(x)`: |x| elementwise (ONNX Abs). */
    abs(): Tensor;
    /** `x.exp()` is `exp(x)`: e^x elementwise (ONNX Exp); float tensors only. */
    exp(): Tensor;
    /** `x.log()` is `log(x)`: natural logarithm elementwise (ONNX Log); float tensors only. */
    log(): Tensor;
    /** `x.sqrt()` is `sqrt(x)`: √x elementwise (ONNX Sqrt); float tensors only. */
    sqrt(): Tensor;
    /** `x.rsqrt()` is `rsqrt(x)`: 1/√x elementwise; float tensors only. */
    rsqrt(): Tensor;
    /** `x.square()` is `square(x)`: x·x elementwise. */
    square(): Tensor;
    /** `x.sigmoid()` is `sigmoid(x)`: 1/(1 + e^−x) elementwise (ONNX Sigmoid); float tensors only. */
    sigmoid(): Tensor;
    /** `x.tanh()` is `tanh(x)`: hyperbolic tangent elementwise (ONNX Tanh); float tensors only. */
    tanh(): Tensor;
    /** `x.relu()` is `relu(x)`: max(x, 0) elementwise (ONNX Relu). */
    relu(): Tensor;
    /**
     * `x.gelu(approximate)` is `gelu(x, approximate)`: exact GELU by default, or the tanh approximation; float tensors
     * only.
     */
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    /** `x.silu()` is `silu(x)`: x·sigmoid(x) elementwise; float tensors only. */
    silu(): Tensor;
    /** `x.softmax(axis)` is `softmax(x, axis)`: softmax along `axis` (default −1; ONNX Softmax). */
    softmax(axis?: number): Tensor;
    /** `x.logSoftmax(axis)` is `logSoftmax(x, axis)`: log-softmax along `axis` (default −1; ONNX LogSoftmax). */
    logSoftmax(axis?: number): Tensor;
    /** `x.sum(axes, keepdim)` is `sum(x, axes, keepdim)`: sums over `axes` (default: all; ONNX ReduceSum). */
    sum(axes?: Axes, keepdim?: boolean): Tensor;
    /** `x.mean(axes, keepdim)` is `mean(x, axes, keepdim)`: the mean over `axes` (default: all; ONNX ReduceMean). */
    mean(axes?: Axes, keepdim?: boolean): Tensor;
    /** `x.max(axes, keepdim)` is `max(x, axes, keepdim)`: the maximum over `axes` (default: all; ONNX ReduceMax). */
    max(axes?: Axes, keepdim?: boolean): Tensor;
    /** `x.min(axes, keepdim)` is `min(x, axes, keepdim)`: the minimum over `axes` (default: all; ONNX ReduceMin). */
    min(axes?: Axes, keepdim?: boolean): Tensor;
    /**
     * `x.argmax(axis, keepdim)` is `argmax(x, axis, keepdim)`: int64 index of the largest value along `axis` (default
     * −1).
     */
    argmax(axis?: number, keepdim?: boolean): Tensor;
    /**
     * `x.matmul(y)` is `matmul(x, y)`: matrix product over the last two dims with broadcast batch dims (ONNX MatMul).
     */
    matmul(y: Tensor): Tensor;
    /**
     * `x.reshape(shape)` is `reshape(x, shape)`: one dim may be −1, symbolic dims resolve at run time (ONNX Reshape).
     */
    reshape(shape: readonly Dim[]): Tensor;
    /**
     * `x.flatten(startDim, endDim)` is `flatten(x, startDim, endDim)`: merges dims startDim..endDim (defaults 0 and −1)
     * into one.
     */
    flatten(startDim?: number, endDim?: number): Tensor;
    /**
     * `x.transpose(perm)` is `transpose(x, perm)`: permutes axes, reversing them when `perm` is omitted (ONNX
     * Transpose).
     */
    transpose(perm?: readonly number[]): Tensor;
    /** `x.squeeze(axes)` is `squeeze(x, axes)`: drops the given size-1 axes (all size-1 axes when omitted). */
    squeeze(axes?: Axes): Tensor;
    /** `x.unsqueeze(axes)` is `unsqueeze(x, axes)`: inserts size-1 axes at the given output positions. */
    unsqueeze(axes: Axes): Tensor;
    /** `x.cast(to)` is `cast(x, to)`: converts to dtype `to` (ONNX Cast); x itself when it already has it. */
    cast(to: DType): Tensor;
    /** `x.detach()` is `detach(x)`: the same values with no gradient flowing back to x. */
    detach(): Tensor;
    /** `x.eq(y)` is `equal(x, y)`: x == y as a bool tensor, with numpy broadcasting (ONNX Equal). */
    eq(y: TL): Tensor;
    /** `x.lt(y)` is `less(x, y)`: x < y as a bool tensor, with numpy broadcasting (ONNX Less). */
    lt(y: TL): Tensor;
    /** `x.gt(y)` is `greater(x, y)`: x > y as a bool tensor, with numpy broadcasting (ONNX Greater). */
    gt(y: TL): Tensor;
  }
}

const methods: Record<string, (this: Tensor, ...args: never[]) => Tensor> = {
  add(y: TL) {
    return op.add(this, y);
  },
  sub(y: TL) {
    return op.sub(this, y);
  },
  mul(y: TL) {
    return op.mul(this, y);
  },
  div(y: TL) {
    return op.div(this, y);
  },
  pow(y: TL) {
    return op.pow(this, y);
  },
  neg() {
    return op.neg(this);
  },
  abs() {
    return op.abs(this);
  },
  exp() {
    return op.exp(this);
  },
  log() {
    return op.log(this);
  },
  sqrt() {
    return op.sqrt(this);
  },
  rsqrt() {
    return op.rsqrt(this);
  },
  square() {
    return op.square(this);
  },
  sigmoid() {
    return op.sigmoid(this);
  },
  tanh() {
    return op.tanh(this);
  },
  relu() {
    return op.relu(this);
  },
  gelu(a?: 'none' | 'tanh') {
    return op.gelu(this, a);
  },
  silu() {
    return op.silu(this);
  },
  softmax(axis?: number) {
    return op.softmax(this, axis);
  },
  logSoftmax(axis?: number) {
    return op.logSoftmax(this, axis);
  },
  sum(axes?: Axes, keep?: boolean) {
    return op.sum(this, axes, keep);
  },
  mean(axes?: Axes, keep?: boolean) {
    return op.mean(this, axes, keep);
  },
  max(axes?: Axes, keep?: boolean) {
    return op.max(this, axes, keep);
  },
  min(axes?: Axes, keep?: boolean) {
    return op.min(this, axes, keep);
  },
  argmax(axis?: number, keep?: boolean) {
    return op.argmax(this, axis, keep);
  },
  matmul(y: Tensor) {
    return op.matmul(this, y);
  },
  reshape(shape: readonly Dim[]) {
    return op.reshape(this, shape);
  },
  flatten(s?: number, e?: number) {
    return op.flatten(this, s, e);
  },
  transpose(perm?: readonly number[]) {
    return op.transpose(this, perm);
  },
  squeeze(axes?: Axes) {
    return op.squeeze(this, axes);
  },
  unsqueeze(axes: Axes) {
    return op.unsqueeze(this, axes);
  },
  cast(to: DType) {
    return op.cast(this, to);
  },
  detach() {
    return op.stopGradient(this);
  },
  eq(y: TL) {
    return op.equal(this, y);
  },
  lt(y: TL) {
    return op.less(this, y);
  },
  gt(y: TL) {
    return op.greater(this, y);
  },
};
Object.assign(Tensor.prototype, methods);
