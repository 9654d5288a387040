// Reproducible randomness derived in-graph: a counter-based hash of (key, stream, element index).
// ORT's own random ops are stateful per session (a seeded Dropout changes on every run), so lathe never uses them.
// All arithmetic is int64 on values below 2^32 with multipliers below 2^31, so no product overflows; the hash is
// Wellons' "prospector" 32-bit integer hash (two xorshift-multiply rounds).
import { ndarray } from '../ndarray.js';
import { primitive, type LowerCtx } from '../primitive.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast, cos, div, greaterOrEqual, less, log, mul, sqrt, where } from './elementwise.js';
import { scalar } from './leaf.js';

const MASK = 0xffffffff;

function hashLowered(ctx: LowerCtx, x: string): string {
  if (ctx.opset < 18)
    throw new Error(
      `in-graph randomness needs opset ≥ 18 (BitwiseXor/BitwiseAnd), not ${ctx.opset}: export in eval mode (dropout removed) or choose opset ≥ 18`,
    );
  const c = (v: number) => ctx.constant(ndarray('int64', [], [v]));
  const xorshift = (v: string, s: number) => ctx.emit('BitwiseXor', [v, ctx.emit('Div', [v, c(2 ** s)])[0]])[0];
  const mulmask = (v: string, m: number) => ctx.emit('BitwiseAnd', [ctx.emit('Mul', [v, c(m)])[0], c(MASK)])[0];
  let h = xorshift(x, 16);
  h = mulmask(h, 0x21f0aaad);
  h = xorshift(h, 15);
  h = mulmask(h, 0x735a2d97);
  return xorshift(h, 15);
}

/** JS twin of the in-graph hash (used to derive keys on the host and to test the graph). */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x21f0aaad) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x735a2d97) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}

const randomBitsPrim = primitive<{ shape: Shape; stream: number }>({
  name: 'randomBits',
  infer: ([key, like], a) => {
    if (key.dtype !== 'int64' || key.rank !== 0) throw new Error(`random: the key must be an int64 scalar, got ${key}`);
    return [{ dtype: 'int64', shape: like ? like.shape : a.shape }];
  },
  lower: (ctx, n, [key]) => {
    const dims = n.inputs[1] ? ctx.shapeOf(n.inputs[1]) : ctx.dims(n.attrs.shape);
    const size = ctx.emit('ReduceProd', [dims], { keepdims: 0 })[0];
    const counter = ctx.emit('Range', [ctx.scalar(0, 'int64'), size, ctx.scalar(1, 'int64')])[0];
    const k0 = ctx.emit('BitwiseAnd', [
      ctx.emit('Add', [key, ctx.constant(ndarray('int64', [], [hash32(n.attrs.stream + 0x9e3779b9) >>> 1]))])[0],
      ctx.constant(ndarray('int64', [], [MASK])),
    ])[0];
    const k = hashLowered(ctx, k0);
    const mixed = ctx.emit('BitwiseAnd', [
      ctx.emit('Add', [counter, k])[0],
      ctx.constant(ndarray('int64', [], [MASK])),
    ])[0];
    const h1 = hashLowered(ctx, mixed);
    const h2 = hashLowered(ctx, ctx.emit('BitwiseXor', [h1, k])[0]);
    return ctx.emit('Reshape', [h2, dims]);
  },
  vjp: 'none',
});

let streamCounter = 0;
/** A fresh stream id per call site in trace order (so one traced graph's random ops never share bits). */
export const nextStream = (): number => streamCounter++;

/** Options of the keyed random ops: the stream id, and the output dtype (float32 by default). */
export interface RandomOptions {
  /** Separates independent draws under one key; default: a fresh id per call (in trace order). */
  readonly stream?: number;
  readonly dtype?: 'float32' | 'float64';
}

/** Uniform 32-bit integers in [0, 2^32) as int64, a pure function of (key, stream, position). */
export function randomBits(key: Tensor, shapeOrLike: Shape | Tensor, stream: number = nextStream()): Tensor {
  const like = Array.isArray(shapeOrLike) ? undefined : (shapeOrLike as Tensor);
  return randomBitsPrim(like ? [key, like] : [key], { shape: like ? [] : (shapeOrLike as Shape), stream })[0];
}

/** Uniform floats in (0, 1): 24 random bits, offset by half a step so log() is always finite. */
export function randomUniform(key: Tensor, shapeOrLike: Shape | Tensor, opts: RandomOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const bits = randomBits(key, shapeOrLike, opts.stream ?? nextStream());
  const top = cast(div(bits, scalar(256, 'int64')), dtype);
  return mul(add(top, 0.5), 2 ** -24);
}

/** Standard normal samples by Box–Muller over two independent uniform streams. */
export function randomNormal(key: Tensor, shapeOrLike: Shape | Tensor, opts: RandomOptions = {}): Tensor {
  const s = opts.stream ?? nextStream();
  const u1 = randomUniform(key, shapeOrLike, { ...opts, stream: s * 2 + 1_000_003 });
  const u2 = randomUniform(key, shapeOrLike, { ...opts, stream: s * 2 + 1_000_004 });
  return mul(sqrt(mul(log(u1), -2)), cos(mul(u2, 2 * Math.PI)));
}

/** Bernoulli(p) samples as a bool tensor. */
export function randomBernoulli(
  key: Tensor,
  p: number | Tensor,
  shapeOrLike: Shape | Tensor,
  opts: RandomOptions = {},
): Tensor {
  const u = randomUniform(key, shapeOrLike, opts);
  return less(u, typeof p === 'number' ? scalar(p, u.dtype) : p);
}

/** Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p: number, key: Tensor, opts: { stream?: number } = {}): Tensor {
  if (p < 0 || p >= 1) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const u = randomUniform(key, x, { stream: opts.stream, dtype: x.dtype === 'float64' ? 'float64' : 'float32' });
  const keep = greaterOrEqual(cast(u, x.dtype), scalar(p, x.dtype));
  return where(keep, mul(x, 1 / (1 - p)), 0);
}

/** Derives an int64 key from a seed and a step (both int64 scalar tensors), e.g. the training step counter. */
export function foldKey(seed: Tensor, step: Tensor): Tensor {
  return add(mul(seed, scalar(1_000_003, 'int64')), step);
}
