// Pooling: maxPool2d (forward with Indices, backward with MaxUnpool — exact, ties broken like PyTorch),
// avgPool2d (backward as a depthwise ConvTranspose), adaptive and global average pooling. A graph without the
// backward never reads the Indices, and the emitter drops them (onnx/prune.ts): ORT's MaxPool with Indices runs a
// scalar kernel, 3–5× slower per exported CNN than the plain one.
import { ndarray } from '../ndarray.js';
import { primitive } from '../primitive.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { div, mul, relu } from './elementwise.js';
import { constant } from './leaf.js';
import { convTranspose2dRaw } from './conv.js';
import { gather } from './indexing.js';
import { matmul } from './linalg.js';
import { expandAs, reshape, reshapeLike, slice } from './movement.js';
import { mean, reducedCount } from './reduce.js';

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/**
 * Resolved attributes of a 2-D pooling primitive (ONNX MaxPool/AveragePool): kernel [kh, kw], strides [sh, sw], and
 * pads [top, left, bottom, right].
 */
export interface Pool2dAttrs {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  /** Kernel dilations (ONNX `dilations`); [1, 1] when absent. */
  readonly dilations?: readonly [number, number];
  /** ONNX `ceil_mode`: the output size rounds up (a last window may start in the padding-free tail). */
  readonly ceilMode?: boolean;
}

/** Output size along one axis, as ONNX Runtime computes it (a ceil-mode window must start inside input + head pad). */
function poolOutSize(inp: number, k: number, s: number, pb: number, pe: number, d: number, ceil: boolean): number {
  const span = inp + pb + pe - (d * (k - 1) + 1);
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= inp + pb) out--;
  return out;
}

function poolOut(op: string, x: Tensor, a: Pool2dAttrs): [number, number] {
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got ${formatShape(x.shape)}`);
  const [h, w] = [x.shape[2], x.shape[3]];
  if (typeof h !== 'number' || typeof w !== 'number')
    throw new Error(`${op}: spatial dims must be static, got ${formatShape(x.shape)}`);
  const d = a.dilations ?? [1, 1];
  const oh = poolOutSize(h, a.kernel[0], a.strides[0], a.pads[0], a.pads[2], d[0], a.ceilMode ?? false);
  const ow = poolOutSize(w, a.kernel[1], a.strides[1], a.pads[1], a.pads[3], d[1], a.ceilMode ?? false);
  if (oh <= 0 || ow <= 0)
    throw new Error(`${op}: kernel ${formatShape(a.kernel)} does not fit ${formatShape(x.shape)}`);
  return [oh, ow];
}

/** The ONNX attributes of a pool node: dilations and ceil_mode only when they differ from the defaults. */
function poolOnnxAttrs(a: Pool2dAttrs): Record<string, readonly number[] | number> {
  const out: Record<string, readonly number[] | number> = { kernel_shape: a.kernel, strides: a.strides, pads: a.pads };
  if (a.dilations && (a.dilations[0] !== 1 || a.dilations[1] !== 1)) out.dilations = a.dilations;
  if (a.ceilMode) out.ceil_mode = 1;
  return out;
}

/** Whether a pool's windows are plain (no dilation, no ceil-mode tail) and never overlap. */
const plainDisjoint = (a: Pool2dAttrs): boolean =>
  !a.ceilMode &&
  (a.dilations ?? [1, 1]).every((d) => d === 1) &&
  a.strides[0] >= a.kernel[0] &&
  a.strides[1] >= a.kernel[1];

const maxUnpoolPrim = primitive<Record<string, never>>({
  name: 'maxUnpool',
  infer: ([g, , like]) => [{ dtype: g.dtype, shape: like.shape }],
  lower: (ctx, n, [g, idx, like]) => {
    const pool = n.inputs[1].node.attrs as Pool2dAttrs;
    const shape = ctx.shapeOf(n.inputs[2]);
    if (plainDisjoint(pool)) {
      // windows do not overlap: each input element receives at most one gradient, MaxUnpool places it exactly
      return ctx.emit('MaxUnpool', [g, idx, shape], {
        kernel_shape: pool.kernel,
        strides: pool.strides,
        pads: pool.pads,
      });
    }
    // overlapping windows can pick the same element twice (MaxUnpool would overwrite): accumulate instead
    const flat = ctx.i64([-1]);
    const zeros = ctx.emit('ConstantOfShape', [ctx.emit('Unsqueeze', [ctx.emit('Size', [like])[0], ctx.i64([0])])[0]], {
      value: { tensor: ndarray(n.inputs[0].dtype, [1], [0]) },
    })[0];
    const acc = ctx.emit(
      'ScatterElements',
      [zeros, ctx.emit('Reshape', [idx, flat])[0], ctx.emit('Reshape', [g, flat])[0]],
      { axis: 0, reduction: 'add' },
    )[0];
    return ctx.emit('Reshape', [acc, shape]);
  },
  // MaxUnpool is linear in g; its transpose gathers the cotangent at the (flattened N·C·H·W) indices
  vjp: (n, [c]) => [c && reshapeLike(gather(reshape(c, [-1]), n.inputs[1], 0), n.inputs[0]), null, null],
});

const maxPoolPrim = primitive<Pool2dAttrs>({
  name: 'maxPool2d',
  infer: ([x], a) => {
    const [oh, ow] = poolOut('maxPool2d', x, a);
    const shape = [x.shape[0], x.shape[1], oh, ow];
    return [
      { dtype: x.dtype, shape },
      { dtype: 'int64', shape },
    ];
  },
  lower: (ctx, n, [x]) => ctx.emit('MaxPool', [x], poolOnnxAttrs(n.attrs), 2),
  vjp: (n, [g]) => [g && maxUnpoolPrim([g, n.outputs[1], n.inputs[0]], {})[0]],
});

/**
 * Max pooling (padding counts as -inf, as PyTorch). maxPool(relu(x)) is traced as relu(maxPool(x)) — equal values
 * and equal gradients (both are monotone; where they differ in tie-breaking the ReLU gradient is zero) — so the
 * ReLU and its backward mask run on the pooled tensor, a quarter of the size for 2×2 pools. Inference exports turn
 * Conv → MaxPool → Relu back into Conv → Relu → MaxPool, which ORT fuses (onnx/inference.ts).
 */
export function maxPool2d(x: Tensor, kernel: Pair, opts: { stride?: Pair; padding?: Pair } = {}): Tensor {
  const k = pair(kernel);
  const [ph, pw] = pair(opts.padding ?? 0);
  const attrs: Pool2dAttrs = { kernel: k, strides: pair(opts.stride ?? k), pads: [ph, pw, ph, pw] };
  if (x.node.prim.name === 'relu' && ph === 0 && pw === 0) return relu(maxPoolPrim([x.node.inputs[0]], attrs)[0]);
  return maxPoolPrim([x], attrs)[0];
}
/** Max pooling that also returns the flattened (N·C·H·W) argmax indices. */
export function maxPool2dWithIndices(
  x: Tensor,
  kernel: Pair,
  opts: { stride?: Pair; padding?: Pair } = {},
): [Tensor, Tensor] {
  const k = pair(kernel);
  const [ph, pw] = pair(opts.padding ?? 0);
  const [y, i] = maxPoolPrim([x], { kernel: k, strides: pair(opts.stride ?? k), pads: [ph, pw, ph, pw] });
  return [y, i];
}

type AvgAttrs = Pool2dAttrs & { countIncludePad: boolean };

/** 1/(number of elements averaged) for each output position: a constant [oh, ow]. */
function inverseCounts(h: number, w: number, oh: number, ow: number, a: AvgAttrs): number[] {
  const out: number[] = [];
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++) {
      if (a.countIncludePad) {
        const y0 = i * a.strides[0] - a.pads[0],
          x0 = j * a.strides[1] - a.pads[1];
        const y1 = Math.min(y0 + a.kernel[0], h + a.pads[2]),
          x1 = Math.min(x0 + a.kernel[1], w + a.pads[3]);
        out.push(1 / ((y1 - y0) * (x1 - x0)));
      } else {
        const y0 = Math.max(i * a.strides[0] - a.pads[0], 0),
          x0 = Math.max(j * a.strides[1] - a.pads[1], 0);
        const y1 = Math.min(i * a.strides[0] - a.pads[0] + a.kernel[0], h),
          x1 = Math.min(j * a.strides[1] - a.pads[1] + a.kernel[1], w);
        out.push(1 / ((y1 - y0) * (x1 - x0)));
      }
    }
  return out;
}

const avgPoolPrim = primitive<AvgAttrs>({
  name: 'avgPool2d',
  infer: ([x], a) => {
    const [oh, ow] = poolOut('avgPool2d', x, a);
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], oh, ow] }];
  },
  lower: (ctx, n, [x]) =>
    ctx.emit('AveragePool', [x], { ...poolOnnxAttrs(n.attrs), count_include_pad: n.attrs.countIncludePad ? 1 : 0 }),
  vjp: (n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    const a = n.attrs;
    if (a.ceilMode || (a.dilations ?? [1, 1]).some((d) => d !== 1)) {
      throw new Error('avgPool2d: the gradient of average pooling with dilations or ceil_mode is not implemented');
    }
    const [h, w] = [x.shape[2] as number, x.shape[3] as number];
    const [oh, ow] = [g.shape[2] as number, g.shape[3] as number];
    const scaled = mul(g, constant(ndarray(g.dtype, [oh, ow], inverseCounts(h, w, oh, ow, a))));
    const ones = constant(
      ndarray(g.dtype, [1, 1, a.kernel[0], a.kernel[1]], new Array<number>(a.kernel[0] * a.kernel[1]).fill(1)),
    );
    const op: [number, number] = [
      h - (a.strides[0] * (oh - 1) + a.kernel[0] - a.pads[0] - a.pads[2]),
      w - (a.strides[1] * (ow - 1) + a.kernel[1] - a.pads[1] - a.pads[3]),
    ];
    // windows that overhang the bottom/right never reach some input rows: ConvTranspose can't produce a
    // negative output_padding, so produce more and crop
    const extra: [number, number] = [Math.max(0, -op[0]), Math.max(0, -op[1])];
    const outPad: [number, number] = [Math.max(0, op[0]), Math.max(0, op[1])];
    let dx = convTranspose2dRaw(reshape(scaled, [-1, 1, oh, ow]), ones, undefined, {
      strides: a.strides,
      pads: a.pads,
      dilations: [1, 1],
      group: 1,
      outputPadding: outPad,
    });
    if (extra[0] || extra[1]) dx = slice(dx, { axes: [2, 3], starts: [0, 0], ends: [h, w] });
    return [reshapeLike(dx, x)];
  },
});

/** Average pooling; `countIncludePad` as PyTorch's count_include_pad (default true). */
export function avgPool2d(
  x: Tensor,
  kernel: Pair,
  opts: { stride?: Pair; padding?: Pair; countIncludePad?: boolean } = {},
): Tensor {
  const k = pair(kernel);
  const [ph, pw] = pair(opts.padding ?? 0);
  return avgPoolPrim([x], {
    kernel: k,
    strides: pair(opts.stride ?? k),
    pads: [ph, pw, ph, pw],
    countIncludePad: opts.countIncludePad ?? true,
  })[0];
}

/** Averaging matrix [out, in] with PyTorch's adaptive windows [floor(i·in/out), ceil((i+1)·in/out)). */
function adaptiveMatrix(inp: number, out: number): number[] {
  const m = new Array<number>(out * inp).fill(0);
  for (let i = 0; i < out; i++) {
    const s = Math.floor((i * inp) / out);
    const e = Math.ceil(((i + 1) * inp) / out);
    for (let j = s; j < e; j++) m[i * inp + j] = 1 / (e - s);
  }
  return m;
}

/** Adaptive average pooling to [oh, ow] (exact PyTorch windows, also when sizes don't divide). */
export function adaptiveAvgPool2d(x: Tensor, size: Pair): Tensor {
  const [oh, ow] = pair(size);
  if (x.rank !== 4) throw new Error(`adaptiveAvgPool2d: input must be [N, C, H, W], got ${formatShape(x.shape)}`);
  const [h, w] = [x.shape[2], x.shape[3]];
  if (typeof h !== 'number' || typeof w !== 'number')
    throw new Error(`adaptiveAvgPool2d: spatial dims must be static, got ${formatShape(x.shape)}`);
  if (oh === 1 && ow === 1) return globalAvgPool(x);
  if (h % oh === 0 && w % ow === 0) return avgPool2d(x, [h / oh, w / ow]);
  const ph = constant(ndarray(x.dtype, [oh, h], adaptiveMatrix(h, oh)));
  const pwT = constant(ndarray(x.dtype, [w, ow], transposeFlat(adaptiveMatrix(w, ow), ow, w)));
  return matmul(matmul(ph, x), pwT);
}

function transposeFlat(m: number[], rows: number, cols: number): number[] {
  const t = new Array<number>(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
  return t;
}

// GlobalAveragePool rather than ReduceMean over [2, 3]: it is the node a hand-written graph has, and ORT runs it in
// the blocked (NCHWc) layout of the convolutions before it, where ReduceMean first reorders back to NCHW.
const globalAvgPoolPrim = primitive<Record<string, never>>({
  name: 'globalAvgPool',
  infer: ([x]) => [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], 1, 1] }],
  lower: (ctx, _n, [x]) => ctx.emit('GlobalAveragePool', [x]),
  vjp: (n, [g]) => [g && div(expandAs(g, n.inputs[0]), reducedCount(n.inputs[0], [2, 3], g.dtype))],
});

/** Mean over H and W, keeping [N, C, 1, 1]. */
export const globalAvgPool = (x: Tensor): Tensor =>
  x.rank === 4 ? globalAvgPoolPrim([x], {})[0] : mean(x, [2, 3], true);

/**
 * Max pooling with every ONNX attribute explicit (kernel, strides, [top, left, bottom, right] pads, dilations,
 * ceil_mode), as imported models need; returns the output and the flattened (N·C·H·W) argmax indices.
 */
export function maxPool2dRaw(x: Tensor, attrs: Pool2dAttrs): [Tensor, Tensor] {
  const [y, i] = maxPoolPrim([x], attrs);
  return [y, i];
}

/** Average pooling with every ONNX attribute explicit (see {@link maxPool2dRaw}). */
export function avgPool2dRaw(x: Tensor, attrs: Pool2dAttrs & { readonly countIncludePad: boolean }): Tensor {
  return avgPoolPrim([x], attrs)[0];
}
