// Convolutions: conv (2-D, with 1-D as a 1×k special case) and convTranspose, with fast exact backward lowerings:
//  - dX: stride 1 → a Conv over the flipped kernel, each group's transposed; otherwise ConvTranspose.
//  - dW: im2col by Gather on the padded NHWC input with a constant index table, then one Gemm (batch folded
//        into the contraction), as measured fastest on ORT's CPU provider (DESIGN.md); depthwise convs (one
//        input channel per group) instead as one grouped Conv of x by dY (depthwiseWeightGrad).
import { ndarray } from '../ndarray.js';
import { primitive } from '../primitive.js';
import { formatShape, type Dim } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { constant } from './leaf.js';
import { cast } from './elementwise.js';
import { autocastTarget } from '../autocast.js';
import { matmul } from './linalg.js';
import { pad, reshape, slice, squeeze, transpose, unsqueeze } from './movement.js';
import { gather } from './indexing.js';
import { sum } from './reduce.js';

/**
 * Attributes of the conv2d primitive (ONNX Conv): strides, pads, dilations per spatial axis [h, w], and the group
 * count.
 */
export interface Conv2dAttrs {
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right] (ONNX order). */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly group: number;
}

function spatial(op: string, x: Tensor): [number, number] {
  const [h, w] = [x.shape[2], x.shape[3]];
  if (typeof h !== 'number' || typeof w !== 'number')
    throw new Error(`${op}: spatial dims must be static, got ${formatShape(x.shape)}`);
  return [h, w];
}

function convOutSize(inp: number, k: number, s: number, pb: number, pe: number, d: number): number {
  return Math.floor((inp + pb + pe - d * (k - 1) - 1) / s) + 1;
}

function checkConv(op: string, x: Tensor, w: Tensor, b: Tensor | undefined, cin: Dim, a: Conv2dAttrs): void {
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got ${formatShape(x.shape)}`);
  if (w.rank !== 4) throw new Error(`${op}: weight must be 4-D, got ${formatShape(w.shape)}`);
  if (x.dtype !== w.dtype) throw new Error(`${op}: input dtype ${x.dtype} vs weight dtype ${w.dtype}`);
  if (x.shape[1] !== cin)
    throw new Error(
      `${op}: input has ${x.shape[1]} channels, weight ${formatShape(w.shape)} with groups=${a.group} expects ${cin}`,
    );
  if (b && b.rank !== 1) throw new Error(`${op}: bias must be 1-D, got ${formatShape(b.shape)}`);
}

const convPrim = primitive<Conv2dAttrs>({
  name: 'conv2d',
  infer: ([x, w, b], a) => {
    const cin = (w.shape[1] as number) * a.group;
    checkConv('conv2d', x, w, b, cin, a);
    if ((w.shape[0] as number) % a.group !== 0)
      throw new Error(`conv2d: ${w.shape[0]} output channels do not split into groups=${a.group}`);
    const [h, wd] = spatial('conv2d', x);
    const [kh, kw] = [w.shape[2] as number, w.shape[3] as number];
    const oh = convOutSize(h, kh, a.strides[0], a.pads[0], a.pads[2], a.dilations[0]);
    const ow = convOutSize(wd, kw, a.strides[1], a.pads[1], a.pads[3], a.dilations[1]);
    if (oh <= 0 || ow <= 0)
      throw new Error(
        `conv2d: kernel [${kh},${kw}] does not fit input ${formatShape(x.shape)} with these pads/dilations`,
      );
    return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0], oh, ow] }];
  },
  lower: (ctx, n, ins) => {
    const a = n.attrs;
    const w = n.inputs[1];
    return ctx.emit('Conv', ins, {
      strides: a.strides,
      pads: a.pads,
      dilations: a.dilations,
      group: a.group,
      kernel_shape: [w.shape[2] as number, w.shape[3] as number],
    });
  },
  vjp: (n, [g]) => {
    if (!g) return n.inputs.map(() => null);
    const [x, w, b] = n.inputs;
    const a = n.attrs;
    const [kh, kw] = [w.shape[2] as number, w.shape[3] as number];
    const [h, wd] = spatial('conv2d', x);
    // dX
    let dx: Tensor;
    const full = [a.dilations[0] * (kh - 1), a.dilations[1] * (kw - 1)];
    const tp = [full[0] - a.pads[0], full[1] - a.pads[1], full[0] - a.pads[2], full[1] - a.pads[3]] as const;
    if (a.strides[0] === 1 && a.strides[1] === 1 && tp.every((p) => p >= 0)) {
      const wt = slice(groupTransposed(w, a.group), {
        axes: [2, 3],
        starts: [-1, -1],
        ends: [-Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
        steps: [-1, -1],
      });
      dx = conv2dRaw(g, wt, undefined, {
        strides: [1, 1],
        pads: [tp[0], tp[1], tp[2], tp[3]],
        dilations: a.dilations,
        group: a.group,
      });
    } else {
      const [oh, ow] = [g.shape[2] as number, g.shape[3] as number];
      const op = [
        h - (a.strides[0] * (oh - 1) + a.dilations[0] * (kh - 1) + 1 - a.pads[0] - a.pads[2]),
        wd - (a.strides[1] * (ow - 1) + a.dilations[1] * (kw - 1) + 1 - a.pads[1] - a.pads[3]),
      ] as const;
      dx = convTranspose2dRaw(g, w, undefined, { ...a, outputPadding: [op[0], op[1]] });
    }
    // dW: correlate dY with im2col(x)
    const dw = w.shape[1] === 1 && a.group > 1 ? depthwiseWeightGrad(g, x, [kh, kw], a) : correlate(g, x, [kh, kw], a);
    const db = b ? sum(g, [0, 2, 3]) : null;
    return b ? [dx, dw, db] : [dx, dw];
  },
});

/** [Cout, Cin/g, kh, kw] → [Cin, Cout/g, kh, kw]: each group's kernel transposed (the adjoint's weight layout). */
function groupTransposed(w: Tensor, g: number): Tensor {
  if (g === 1) return transpose(w, [1, 0, 2, 3]);
  const [co, cig, kh, kw] = w.shape as number[];
  if (cig === 1 && co === g) return w; // depthwise: every group is 1×1
  return reshape(transpose(reshape(w, [g, co / g, cig, kh, kw]), [0, 2, 1, 3, 4]), [cig * g, co / g, kh, kw]);
}

/**
 * Weight gradient of a conv whose groups each see one input channel (depthwise, any channel multiplier), as ONE
 * grouped Conv: input x laid out [1, C·N, H, W] (channel-major), kernel dY laid out [Cout, N, OH, OW], groups C,
 * the forward's stride as dilation and its dilation as stride. ORT's Conv then correlates each channel's batch
 * in cache-sized pieces; the generic im2col path would build and transpose a [N, OH·OW·kh·kw, C] tensor (9×
 * the activation for a 3×3 kernel) instead.
 */
const depthwiseWeightGradPrim = primitive<Conv2dAttrs & { readonly kernel: readonly [number, number] }>({
  name: 'depthwiseConvWeightGrad',
  infer: ([dy, x], a) => [{ dtype: x.dtype, shape: [dy.shape[1], 1, a.kernel[0], a.kernel[1]] }],
  lower: (ctx, n, [dy, x]) => {
    const a = n.attrs;
    const [h, w] = spatial('conv2d backward', n.inputs[1]);
    const [oh, ow] = spatial('conv2d backward', n.inputs[0]);
    const xt = ctx.emit('Reshape', [ctx.emit('Transpose', [x], { perm: [1, 0, 2, 3] })[0], ctx.i64([1, -1, h, w])])[0];
    const dyt = ctx.emit('Transpose', [dy], { perm: [1, 0, 2, 3] })[0];
    const full = ctx.emit('Conv', [xt, dyt], {
      strides: a.dilations,
      dilations: a.strides,
      pads: a.pads,
      group: a.group,
      kernel_shape: [oh, ow],
    })[0];
    const fh = Math.floor((h + a.pads[0] + a.pads[2] - a.strides[0] * (oh - 1) - 1) / a.dilations[0]) + 1;
    const fw = Math.floor((w + a.pads[1] + a.pads[3] - a.strides[1] * (ow - 1) - 1) / a.dilations[1]) + 1;
    const out =
      fh === a.kernel[0] && fw === a.kernel[1]
        ? full
        : ctx.emit('Slice', [full, ctx.i64([0, 0]), ctx.i64([a.kernel[0], a.kernel[1]]), ctx.i64([2, 3])])[0];
    return [ctx.emit('Reshape', [out, ctx.i64([-1, 1, a.kernel[0], a.kernel[1]])])[0]];
  },
  vjp: () => {
    throw new Error('conv2d: second-order gradients through a depthwise convolution are not supported');
  },
});
const depthwiseWeightGrad = (dy: Tensor, x: Tensor, kernel: readonly [number, number], a: Conv2dAttrs): Tensor =>
  depthwiseWeightGradPrim([dy, x], { ...a, kernel: [kernel[0], kernel[1]] })[0];

/**
 * Σ_n Σ_l A[n, ca, l] · im2col(B)[n, l, k, cb] per group → [Ca, Cb/group, kh, kw]: the weight gradient of
 * conv2d (A = dY, B = x) and of convTranspose2d (A = x, B = dY). Spatial positions l run over A's H×W; the
 * window of position (oy, ox) in padded B starts at (oy·s, ox·s) and steps by the dilation.
 */
function correlate(A: Tensor, B: Tensor, [kh, kw]: readonly [number, number], a: Conv2dAttrs): Tensor {
  const [oh, ow] = spatial('conv2d backward', A);
  const [hb, wb] = spatial('conv2d backward', B);
  const [hp, wp] = [hb + a.pads[0] + a.pads[2], wb + a.pads[1] + a.pads[3]];
  const ca = A.shape[1] as number;
  const cb = B.shape[1] as number;
  const g = a.group;
  const K = kh * kw;
  const L = oh * ow;
  const idx = new Array<number>(L * K);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const y = oy * a.strides[0] + ky * a.dilations[0];
          const xx = ox * a.strides[1] + kx * a.dilations[1];
          idx[((oy * ow + ox) * kh + ky) * kw + kx] = y < hp && xx < wp ? y * wp + xx : 0;
        }
  const padded = a.pads.some((p) => p !== 0) ? pad(B, [0, 0, a.pads[0], a.pads[1], 0, 0, a.pads[2], a.pads[3]]) : B;
  const nhwc = reshape(transpose(padded, [0, 2, 3, 1]), [-1, hp * wp, cb]); // [N, Hp·Wp, Cb]
  const cols = gather(nhwc, constant(ndarray('int64', [L * K], idx)), 1); // [N, L·K, Cb]
  if (g === 1) {
    const cols2 = reshape(cols, [-1, K * cb]); // [N·L, K·Cb]
    const at = reshape(transpose(reshape(A, [-1, ca, L]), [1, 0, 2]), [ca, -1]); // [Ca, N·L]
    const out = matmul(at, cols2); // [Ca, K·Cb]
    return transpose(reshape(out, [ca, kh, kw, cb]), [0, 3, 1, 2]);
  }
  const cbg = cb / g;
  const cag = ca / g;
  const colsG = reshape(transpose(reshape(cols, [-1, L, K, g, cbg]), [3, 0, 1, 2, 4]), [g, -1, K * cbg]); // [g, N·L, K·cbg]
  const aG = reshape(transpose(reshape(A, [-1, g, cag, L]), [1, 2, 0, 3]), [g, cag, -1]); // [g, cag, N·L]
  const out = matmul(aG, colsG); // [g, cag, K·cbg]
  return transpose(reshape(out, [ca, kh, kw, cbg]), [0, 3, 1, 2]);
}

/**
 * Attributes of the transposed conv2d primitive (ONNX ConvTranspose): Conv's attributes plus the extra output
 * rows/columns `outputPadding` [h, w] added at the bottom/right.
 */
export interface ConvTranspose2dAttrs extends Conv2dAttrs {
  readonly outputPadding: readonly [number, number];
}

const convTransposePrim = primitive<ConvTranspose2dAttrs>({
  name: 'convTranspose2d',
  infer: ([x, w, b], a) => {
    checkConv('convTranspose2d', x, w, b, w.shape[0], a);
    const [h, wd] = spatial('convTranspose2d', x);
    const [kh, kw] = [w.shape[2] as number, w.shape[3] as number];
    const oh = a.strides[0] * (h - 1) + a.outputPadding[0] + a.dilations[0] * (kh - 1) + 1 - a.pads[0] - a.pads[2];
    const ow = a.strides[1] * (wd - 1) + a.outputPadding[1] + a.dilations[1] * (kw - 1) + 1 - a.pads[1] - a.pads[3];
    return [{ dtype: x.dtype, shape: [x.shape[0], (w.shape[1] as number) * a.group, oh, ow] }];
  },
  lower: (ctx, n, ins) => {
    const a = n.attrs;
    const w = n.inputs[1];
    return ctx.emit('ConvTranspose', ins, {
      strides: a.strides,
      pads: a.pads,
      dilations: a.dilations,
      group: a.group,
      output_padding: a.outputPadding,
      kernel_shape: [w.shape[2] as number, w.shape[3] as number],
    });
  },
  vjp: (n, [g]) => {
    if (!g) return n.inputs.map(() => null);
    const [x, w, b] = n.inputs;
    const a = n.attrs;
    const conv: Conv2dAttrs = { strides: a.strides, pads: a.pads, dilations: a.dilations, group: a.group };
    // the adjoint of a transposed convolution is the convolution itself (crop any output_padding rows)
    let dx = conv2dRaw(g, w, undefined, conv);
    const [h, wd] = spatial('convTranspose2d', x);
    if (dx.shape[2] !== h || dx.shape[3] !== wd) dx = slice(dx, { axes: [2, 3], starts: [0, 0], ends: [h, wd] });
    const dw = correlate(x, g, [w.shape[2] as number, w.shape[3] as number], conv);
    return b ? [dx, dw, sum(g, [0, 2, 3])] : [dx, dw];
  },
});

/**
 * conv2d with fully resolved ONNX attributes, lowered to ONNX Conv: x [N, Cin, H, W], w [Cout, Cin/group, kh, kw],
 * optional b [Cout] → [N, Cout, OH, OW]; under autocast it computes in float16/bfloat16 and casts back.
 */
export function conv2dRaw(x: Tensor, w: Tensor, b: Tensor | undefined, a: Conv2dAttrs): Tensor {
  const low = autocastTarget(x.dtype);
  if (low)
    return cast(convPrim(b ? [cast(x, low), cast(w, low), cast(b, low)] : [cast(x, low), cast(w, low)], a)[0], x.dtype);
  return convPrim(b ? [x, w, b] : [x, w], a)[0];
}
/**
 * Transposed 2-D convolution with resolved attributes, lowered to ONNX ConvTranspose: x [N, Cin, H, W], w [Cin,
 * Cout/group, kh, kw], optional b → [N, Cout, OH, OW] with OH = s·(H−1) + outputPadding + d·(kh−1) + 1 − padTop −
 * padBottom.
 */
export const convTranspose2dRaw = (x: Tensor, w: Tensor, b: Tensor | undefined, a: ConvTranspose2dAttrs): Tensor =>
  convTransposePrim(b ? [x, w, b] : [x, w], a)[0];

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/**
 * Options of {@link conv2d} (PyTorch-style): stride (default 1), padding (default 0), dilation (default 1) and groups
 * (default 1); a number applies to both spatial axes.
 */
export interface Conv2dOptions {
  readonly stride?: Pair;
  /** Symmetric padding per axis, or 'same' (stride 1; odd extra padding goes bottom/right, as PyTorch). */
  readonly padding?: Pair | 'same' | 'valid';
  readonly dilation?: Pair;
  readonly groups?: number;
}

/** 2-D convolution, x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw] (PyTorch layout). */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const strides = pair(opts.stride ?? 1);
  const dilations = pair(opts.dilation ?? 1);
  let pads: [number, number, number, number];
  if (opts.padding === 'same') {
    if (strides[0] !== 1 || strides[1] !== 1) throw new Error("conv2d: padding 'same' needs stride 1");
    const th = dilations[0] * ((w.shape[2] as number) - 1);
    const tw = dilations[1] * ((w.shape[3] as number) - 1);
    pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  } else {
    const [ph, pw] = opts.padding === 'valid' || opts.padding === undefined ? [0, 0] : pair(opts.padding);
    pads = [ph, pw, ph, pw];
  }
  return conv2dRaw(x, w, b, { strides, pads, dilations, group: opts.groups ?? 1 });
}

/** 1-D convolution, x [N, Cin, L], weight [Cout, Cin/groups, k]: a conv2d over a 1×L image. */
export function conv1d(
  x: Tensor,
  w: Tensor,
  b?: Tensor,
  opts: { stride?: number; padding?: number | 'same' | 'valid'; dilation?: number; groups?: number } = {},
): Tensor {
  if (x.rank !== 3) throw new Error(`conv1d: input must be [N, C, L], got ${formatShape(x.shape)}`);
  if (w.rank !== 3) throw new Error(`conv1d: weight must be [Cout, Cin/groups, k], got ${formatShape(w.shape)}`);
  const p = opts.padding;
  const y = conv2d(unsqueeze(x, 2), unsqueeze(w, 2), b, {
    stride: [1, opts.stride ?? 1],
    dilation: [1, opts.dilation ?? 1],
    groups: opts.groups,
    padding: p === 'same' ? 'same' : p === 'valid' || p === undefined ? 0 : [0, p],
  });
  return squeeze(y, 2);
}

/** Transposed 2-D convolution, weight [Cin, Cout/groups, kh, kw] (PyTorch layout). */
export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  b?: Tensor,
  opts: { stride?: Pair; padding?: Pair; outputPadding?: Pair; dilation?: Pair; groups?: number } = {},
): Tensor {
  const [ph, pw] = pair(opts.padding ?? 0);
  return convTranspose2dRaw(x, w, b, {
    strides: pair(opts.stride ?? 1),
    pads: [ph, pw, ph, pw],
    dilations: pair(opts.dilation ?? 1),
    group: opts.groups ?? 1,
    outputPadding: pair(opts.outputPadding ?? 0),
  });
}
