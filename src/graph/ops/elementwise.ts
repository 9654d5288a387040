// Elementwise primitives: one block per op — shape/dtype rule, ONNX lowering, VJP — and composites built on them.
import { isFloat, ONNX_DTYPE, sameDType, type DType } from '../dtype.js';
import { primitive, type VjpRule } from '../primitive.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { lift, type TensorLike } from './leaf.js';

type NoAttrs = Record<string, never>;
const none: NoAttrs = {};

function requireFloat(op: string, x: Tensor): void {
  if (!isFloat(x.dtype)) throw new Error(`${op}: needs a floating-point tensor, got ${x.dtype}`);
}

// ---- unary -------------------------------------------------------------------------------------

function unary(name: string, onnx: string, vjp: VjpRule<NoAttrs> | 'none', floatOnly = true) {
  const f = primitive<NoAttrs>({
    name,
    infer: ([x]) => {
      if (floatOnly) requireFloat(name, x);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    lower: (ctx, _n, [x]) => ctx.emit(onnx, [x]),
    vjp,
  });
  return (x: Tensor): Tensor => f([x], none)[0];
}

/** −x elementwise (ONNX Neg); any numeric dtype, same shape. */
export const neg = unary('neg', 'Neg', (_n, [g]) => [g && neg(g)], false);
/** |x| elementwise (ONNX Abs); any numeric dtype, same shape; the gradient is sign(x)·g (0 at x = 0). */
export const abs = unary('abs', 'Abs', (n, [g]) => [g && mul(g, sign(n.inputs[0]))], false);
/** −1, 0 or 1 by the sign of x (ONNX Sign); same dtype and shape; no gradient. */
export const sign = unary('sign', 'Sign', 'none', false);
/** Rounds down elementwise (ONNX Floor); float tensors only (throws otherwise); no gradient. */
export const floor = unary('floor', 'Floor', 'none');
/** Rounds up elementwise (ONNX Ceil); float tensors only (throws otherwise); no gradient. */
export const ceil = unary('ceil', 'Ceil', 'none');
/** Rounds to the nearest integer, halves to even (ONNX Round); float tensors only (throws otherwise); no gradient. */
export const round = unary('round', 'Round', 'none');
/** e^x elementwise (ONNX Exp); float tensors only (throws otherwise), same shape. */
export const exp = unary('exp', 'Exp', (n, [g]) => [g && mul(g, n.outputs[0])]);
/**
 * Natural logarithm elementwise (ONNX Log); float tensors only (throws otherwise), same shape; −inf at 0, NaN below.
 */
export const log = unary('log', 'Log', (n, [g]) => [g && div(g, n.inputs[0])]);
/** Square root elementwise (ONNX Sqrt); float tensors only (throws otherwise), same shape; NaN below 0. */
export const sqrt = unary('sqrt', 'Sqrt', (n, [g]) => [g && div(mul(g, 0.5), n.outputs[0])]);
/** 1/x elementwise (ONNX Reciprocal); float tensors only (throws otherwise), same shape. */
export const reciprocal = unary('reciprocal', 'Reciprocal', (n, [g]) => {
  const y = n.outputs[0];
  return [g && neg(mul(g, mul(y, y)))];
});
/** Sine of x in radians (ONNX Sin); float tensors only (throws otherwise), same shape. */
export const sin = unary('sin', 'Sin', (n, [g]) => [g && mul(g, cos(n.inputs[0]))]);
/** Cosine of x in radians (ONNX Cos); float tensors only (throws otherwise), same shape. */
export const cos = unary('cos', 'Cos', (n, [g]) => [g && neg(mul(g, sin(n.inputs[0])))]);
/**
 * Hyperbolic tangent elementwise (ONNX Tanh); float tensors only (throws otherwise), same shape; the gradient uses the
 * output (1 − y²).
 */
export const tanh = unary('tanh', 'Tanh', (n, [g]) => {
  const y = n.outputs[0];
  return [g && mul(g, sub(1, mul(y, y)))];
});
/** Logistic sigmoid 1/(1 + e^−x) elementwise (ONNX Sigmoid); float tensors only (throws otherwise), same shape. */
export const sigmoid = unary('sigmoid', 'Sigmoid', (n, [g]) => {
  const y = n.outputs[0];
  return [g && mul(g, mul(y, sub(1, y)))];
});
/** max(x, 0) elementwise (ONNX Relu); any numeric dtype, same shape; the gradient is 0 at x ≤ 0. */
export const relu = unary('relu', 'Relu', (n, [g]) => [g && where(greater(n.inputs[0], 0), g, 0)], false);
/** The Gauss error function elementwise (ONNX Erf); float tensors only (throws otherwise), same shape. */
export const erf = unary('erf', 'Erf', (n, [g]) => {
  const x = n.inputs[0];
  return [g && mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))];
});

/** 1/√x elementwise, composed as reciprocal(sqrt(x)) (ONNX Sqrt then Reciprocal); float tensors only. */
export const rsqrt = (x: Tensor): Tensor => reciprocal(sqrt(x));
/** x² elementwise, composed as x·x (ONNX Mul); same dtype and shape. */
export const square = (x: Tensor): Tensor => mul(x, x);

const leakyReluPrim = primitive<{ alpha: number }>({
  name: 'leakyRelu',
  infer: ([x]) => (requireFloat('leakyRelu', x), [{ dtype: x.dtype, shape: x.shape }]),
  lower: (ctx, n, [x]) => ctx.emit('LeakyRelu', [x], { alpha: { float: n.attrs.alpha } }),
  vjp: (n, [g]) => [g && where(greater(n.inputs[0], 0), g, mul(g, n.attrs.alpha))],
});
/**
 * Leaky ReLU: x for x > 0, alpha·x otherwise (ONNX LeakyRelu); `alpha` defaults to 0.01; float tensors only (throws
 * otherwise).
 */
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => leakyReluPrim([x], { alpha })[0];

const eluPrim = primitive<{ alpha: number }>({
  name: 'elu',
  infer: ([x]) => (requireFloat('elu', x), [{ dtype: x.dtype, shape: x.shape }]),
  lower: (ctx, n, [x]) => ctx.emit('Elu', [x], { alpha: { float: n.attrs.alpha } }),
  vjp: (n, [g]) => [g && where(greater(n.inputs[0], 0), g, mul(g, add(n.outputs[0], n.attrs.alpha)))],
});
/**
 * ELU: x for x > 0, alpha·(e^x − 1) otherwise (ONNX Elu); `alpha` defaults to 1; float tensors only (throws otherwise).
 */
export const elu = (x: Tensor, alpha = 1): Tensor => eluPrim([x], { alpha })[0];

/**
 * GELU as ONNX's Gelu op (opset 20): one fused kernel forward; the VJP is written out. Below opset 20 it lowers to
 * its formula: 0.5·x·(1 + erf(x/√2)), or with tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 */
const geluPrim = primitive<{ approximate: 'none' | 'tanh' }>({
  name: 'gelu',
  infer: ([x]) => (requireFloat('gelu', x), [{ dtype: x.dtype, shape: x.shape }]),
  lower: (ctx, n, [x]) => {
    if (ctx.opset >= 20) return ctx.emit('Gelu', [x], { approximate: n.attrs.approximate });
    const dt = n.inputs[0].dtype;
    const c = (v: number) => ctx.scalar(v, dt);
    const inner =
      n.attrs.approximate === 'none'
        ? ctx.emit('Erf', [ctx.emit('Mul', [x, c(Math.SQRT1_2)])[0]])[0]
        : ctx.emit('Tanh', [
            ctx.emit('Mul', [
              ctx.emit('Add', [
                x,
                ctx.emit('Mul', [ctx.emit('Mul', [ctx.emit('Mul', [x, x])[0], x])[0], c(0.044715)])[0],
              ])[0],
              c(Math.sqrt(2 / Math.PI)),
            ])[0],
          ])[0];
    return ctx.emit('Mul', [ctx.emit('Mul', [x, c(0.5)])[0], ctx.emit('Add', [inner, c(1)])[0]]);
  },
  vjp: (n, [g]) => {
    if (!g) return [null];
    const x = n.inputs[0];
    if (n.attrs.approximate === 'none') {
      const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
      const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return [mul(g, add(cdf, mul(x, pdf)))];
    }
    const k = Math.sqrt(2 / Math.PI);
    const t = tanh(mul(add(x, mul(mul(mul(x, x), x), 0.044715)), k));
    const dudx = mul(add(mul(mul(x, x), 3 * 0.044715), 1), k);
    const d = add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), dudx));
    return [mul(g, d)];
  },
});
/**
 * GELU, exact (`'none'`, the default: 0.5·x·(1 + erf(x/√2))) or the tanh approximation; lowers to ONNX Gelu at opset ≥
 * 20, to its formula below; float tensors only.
 */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => geluPrim([x], { approximate })[0];

/**
 * hardtanh(x, lo, hi): ONNX Clip with constant bounds, one pass forward. Its gradient passes where lo < x < hi
 * (PyTorch's hardtanh/relu6), read off the output so the input need not be kept.
 */
const hardtanhPrim = primitive<{ lo: number; hi: number }>({
  name: 'hardtanh',
  infer: ([x], a) => {
    requireFloat('hardtanh', x);
    if (!(a.lo < a.hi)) throw new Error(`hardtanh: lower bound ${a.lo} must be below upper bound ${a.hi}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  lower: (ctx, n, [x]) =>
    ctx.emit('Clip', [x, ctx.scalar(n.attrs.lo, n.inputs[0].dtype), ctx.scalar(n.attrs.hi, n.inputs[0].dtype)]),
  vjp: (n, [g]) => {
    if (!g) return [null];
    const y = n.outputs[0];
    return [where(logicalAnd(greater(y, n.attrs.lo), less(y, n.attrs.hi)), g, 0)];
  },
});
/**
 * Clamps x to [lo, hi] (defaults −1 and 1) via ONNX Clip; the gradient passes only strictly inside the bounds; throws
 * unless lo < hi, or for non-float x.
 */
export const hardtanh = (x: Tensor, lo = -1, hi = 1): Tensor => hardtanhPrim([x], { lo, hi })[0];
/** min(max(x, 0), 6) (MobileNet's activation). */
export const relu6 = (x: Tensor): Tensor => hardtanh(x, 0, 6);

/** SiLU (swish): x·sigmoid(x), composed from ONNX Sigmoid and Mul; float tensors only. */
export const silu = (x: Tensor): Tensor => mul(x, sigmoid(x));
/** softplus(x) = relu(x) + log(1 + exp(-|x|)): never overflows, and its gradient has no inf·0. */
export const softplus = (x: Tensor): Tensor => add(relu(x), log(add(exp(neg(abs(x))), 1)));

// ---- binary ------------------------------------------------------------------------------------

function binary(
  name: string,
  onnx: string,
  vjp: VjpRule<NoAttrs> | 'none',
  out?: (d: DType) => DType,
  floatOnly = false,
) {
  const f = primitive<NoAttrs>({
    name,
    infer: ([a, b]) => {
      const dt = sameDType(name, a.dtype, b.dtype);
      if (floatOnly) requireFloat(name, a);
      return [{ dtype: out ? out(dt) : dt, shape: broadcastShapes(name, a.shape, b.shape) }];
    },
    lower: (ctx, _n, [a, b]) => ctx.emit(onnx, [a, b]),
    vjp,
  });
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = typeof a === 'number' ? [lift(a, b as Tensor), b as Tensor] : [a, lift(b, a)];
    return f([x, y], none)[0];
  };
}

/**
 * a + b elementwise (ONNX Add) with numpy broadcasting; a JS number becomes a scalar of the other operand's dtype;
 * throws if the dtypes differ or the shapes do not broadcast.
 */
export const add = binary('add', 'Add', (_n, [g]) => [g, g]);
/**
 * a − b elementwise (ONNX Sub) with numpy broadcasting; a JS number becomes a scalar of the other operand's dtype;
 * throws if the dtypes differ or the shapes do not broadcast.
 */
export const sub = binary('sub', 'Sub', (_n, [g]) => [g, g && neg(g)]);
/**
 * a · b elementwise (ONNX Mul) with numpy broadcasting; a JS number becomes a scalar of the other operand's dtype;
 * throws if the dtypes differ or the shapes do not broadcast.
 */
export const mul = binary('mul', 'Mul', (n, [g]) => {
  const [a, b] = n.inputs;
  return [g && mul(g, b), g && mul(g, a)];
});
/**
 * a / b elementwise (ONNX Div) with numpy broadcasting; a JS number becomes a scalar of the other operand's dtype;
 * throws if the dtypes differ or the shapes do not broadcast.
 */
export const div = binary('div', 'Div', (n, [g]) => {
  const [, b] = n.inputs;
  const y = n.outputs[0];
  return [g && div(g, b), g && neg(div(mul(g, y), b))];
});
/**
 * a^b elementwise (ONNX Pow) with numpy broadcasting; float tensors only; a JS number becomes a scalar of the other
 * operand's dtype; throws on mismatched dtypes or shapes.
 */
export const pow = binary(
  'pow',
  'Pow',
  (n, [g]) => {
    const [a, b] = n.inputs;
    const y = n.outputs[0];
    return [g && mul(g, mul(b, pow(a, sub(b, 1)))), g && mul(g, mul(y, log(a)))];
  },
  undefined,
  true,
);
/**
 * Elementwise maximum (ONNX Max) with numpy broadcasting; on ties the gradient goes to `a`; throws if the dtypes differ
 * or the shapes do not broadcast.
 */
export const maximum = binary('maximum', 'Max', (n, [g]) => {
  const [a, b] = n.inputs;
  const pick = greaterOrEqual(a, b);
  return [g && where(pick, g, 0), g && where(pick, 0, g)];
});
/**
 * Elementwise minimum (ONNX Min) with numpy broadcasting; on ties the gradient goes to `a`; throws if the dtypes differ
 * or the shapes do not broadcast.
 */
export const minimum = binary('minimum', 'Min', (n, [g]) => {
  const [a, b] = n.inputs;
  const pick = lessOrEqual(a, b);
  return [g && where(pick, g, 0), g && where(pick, 0, g)];
});

const modPrim = primitive<{ fmod: boolean }>({
  name: 'mod',
  infer: ([a, b], attrs) => {
    const dt = sameDType('mod', a.dtype, b.dtype);
    if (isFloat(dt) && !attrs.fmod)
      throw new Error('mod: a floating-point remainder needs fmod=true (the sign of the dividend, as C fmod)');
    return [{ dtype: dt, shape: broadcastShapes('mod', a.shape, b.shape) }];
  },
  lower: (ctx, n, [a, b]) => ctx.emit('Mod', [a, b], { fmod: n.attrs.fmod ? 1 : 0 }),
  // y = a − q·b with q piecewise constant: dy/da = 1, dy/db = −q = (y − a)/b
  vjp: (n, [g]) => {
    const [a, b] = n.inputs;
    return [g, g && mul(g, div(sub(n.outputs[0], a), b))];
  },
});
/**
 * Remainder of a / b, as ONNX Mod: with `fmod` the sign of the dividend (C fmod, required for floats), else the
 * sign of the divisor (Python %, integers only).
 */
export function mod(a: TensorLike, b: TensorLike, fmod = false): Tensor {
  const [x, y] = typeof a === 'number' ? [lift(a, b as Tensor), b as Tensor] : [a, lift(b, a)];
  return modPrim([x, y], { fmod })[0];
}

const toBool = (): DType => 'bool';
/**
 * a == b elementwise as a bool tensor (ONNX Equal) with numpy broadcasting; throws if the dtypes differ or the shapes
 * do not broadcast.
 */
export const equal = binary('equal', 'Equal', 'none', toBool);
/**
 * a < b elementwise as a bool tensor (ONNX Less) with numpy broadcasting; throws if the dtypes differ or the shapes do
 * not broadcast.
 */
export const less = binary('less', 'Less', 'none', toBool);
/**
 * a > b elementwise as a bool tensor (ONNX Greater) with numpy broadcasting; throws if the dtypes differ or the shapes
 * do not broadcast.
 */
export const greater = binary('greater', 'Greater', 'none', toBool);
/**
 * a ≤ b elementwise as a bool tensor (ONNX LessOrEqual) with numpy broadcasting; throws if the dtypes differ or the
 * shapes do not broadcast.
 */
export const lessOrEqual = binary('lessOrEqual', 'LessOrEqual', 'none', toBool);
/**
 * a ≥ b elementwise as a bool tensor (ONNX GreaterOrEqual) with numpy broadcasting; throws if the dtypes differ or the
 * shapes do not broadcast.
 */
export const greaterOrEqual = binary('greaterOrEqual', 'GreaterOrEqual', 'none', toBool);
/**
 * a ≠ b elementwise as a bool tensor (ONNX Equal then Not) with numpy broadcasting; throws if the dtypes differ or the
 * shapes do not broadcast.
 */
export const notEqual = (a: TensorLike, b: TensorLike): Tensor => logicalNot(equal(a, b));

function logical(name: string, onnx: string) {
  const f = primitive<NoAttrs>({
    name,
    infer: ([a, b]) => {
      if (a.dtype !== 'bool' || b.dtype !== 'bool')
        throw new Error(`${name}: needs bool tensors, got ${a.dtype} and ${b.dtype}`);
      return [{ dtype: 'bool', shape: broadcastShapes(name, a.shape, b.shape) }];
    },
    lower: (ctx, _n, [a, b]) => ctx.emit(onnx, [a, b]),
    vjp: 'none',
  });
  return (a: Tensor, b: Tensor): Tensor => f([a, b], none)[0];
}
/** Elementwise AND of two bool tensors (ONNX And) with numpy broadcasting; throws if either is not bool. */
export const logicalAnd = logical('logicalAnd', 'And');
/** Elementwise OR of two bool tensors (ONNX Or) with numpy broadcasting; throws if either is not bool. */
export const logicalOr = logical('logicalOr', 'Or');
/** Elementwise XOR of two bool tensors (ONNX Xor) with numpy broadcasting; throws if either is not bool. */
export const logicalXor = logical('logicalXor', 'Xor');
const notPrim = primitive<NoAttrs>({
  name: 'logicalNot',
  infer: ([a]) => {
    if (a.dtype !== 'bool') throw new Error(`logicalNot: needs a bool tensor, got ${a.dtype}`);
    return [{ dtype: 'bool', shape: a.shape }];
  },
  lower: (ctx, _n, [a]) => ctx.emit('Not', [a]),
  vjp: 'none',
});
/** Elementwise NOT of a bool tensor (ONNX Not), same shape; throws if `a` is not bool. */
export const logicalNot = (a: Tensor): Tensor => notPrim([a], none)[0];

// ---- where, clamp, cast ------------------------------------------------------------------------

const wherePrim = primitive<NoAttrs>({
  name: 'where',
  infer: ([c, a, b]) => {
    if (c.dtype !== 'bool') throw new Error(`where: condition must be bool, got ${c.dtype}`);
    const dt = sameDType('where', a.dtype, b.dtype);
    return [{ dtype: dt, shape: broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape) }];
  },
  lower: (ctx, _n, ins) => ctx.emit('Where', ins),
  vjp: (n, [g]) => {
    const c = n.inputs[0];
    return [null, g && where(c, g, 0), g && where(c, 0, g)];
  },
});
/**
 * Picks `a` where `cond` is true and `b` elsewhere (ONNX Where); cond must be bool, the three shapes broadcast together
 * (numpy rules), and a number branch takes the other branch's dtype; throws if both branches are numbers.
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = typeof a === 'number' ? (b as Tensor) : a;
  if (typeof a === 'number' && typeof b === 'number') throw new Error('where: at least one branch must be a Tensor');
  return wherePrim([cond, lift(a, like), lift(b, like)], none)[0];
}

/** clamp(x, lo, hi) = min(max(x, lo), hi); either bound may be omitted. */
export function clamp(x: Tensor, lo?: TensorLike, hi?: TensorLike): Tensor {
  let y = x;
  if (lo !== undefined) y = maximum(y, lo);
  if (hi !== undefined) y = minimum(y, hi);
  return y;
}

const castPrim = primitive<{ to: DType }>({
  name: 'cast',
  infer: ([x], a) => [{ dtype: a.to, shape: x.shape }],
  lower: (ctx, n, [x]) => ctx.emit('Cast', [x], { to: onnxCode(n.attrs.to) }),
  vjp: (n, [g]) => {
    const x = n.inputs[0];
    return [g && isFloat(x.dtype) && isFloat(n.attrs.to) ? cast(g, x.dtype) : null];
  },
});
/**
 * Converts x to dtype `to` (ONNX Cast; returns x itself when it already has that dtype); gradients flow only between
 * float dtypes.
 */
export const cast = (x: Tensor, to: DType): Tensor => (x.dtype === to ? x : castPrim([x], { to })[0]);

const onnxCode = (d: DType): number => ONNX_DTYPE[d];
