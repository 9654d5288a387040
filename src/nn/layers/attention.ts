// Multi-head attention (self and cross), with causal and key-padding masks, grouped-query heads, rotary position
// embeddings and a key/value cache for incremental decoding. Lowered with MatMul + Transpose only (never Einsum,
// 4× slower in ORT here); softmax backward is the fused P·(dP − ΣdP·P) of graph/ops/norm.ts.
import { ndarray } from '../../graph/ndarray.js';
import { add, cast, greater, mul, where } from '../../graph/ops/elementwise.js';
import { causalMask, cumsum, gather } from '../../graph/ops/indexing.js';
import { constant, scalar } from '../../graph/ops/leaf.js';
import { linear, matmul } from '../../graph/ops/linalg.js';
import {
  concat,
  onesLike,
  reshape,
  sliceAxis,
  split,
  swapAxes,
  tile,
  transpose,
  unsqueeze,
} from '../../graph/ops/movement.js';
import { softmax } from '../../graph/ops/norm.js';
import { dropout } from '../../graph/ops/random.js';
import { formatShape, type Dim } from '../../graph/shape.js';
import type { Tensor } from '../../graph/tensor.js';
import { layerStream, traceContext } from '../context.js';
import { biasUniform, kaimingUniform } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

/** A large negative number for masked scores: exp underflows to 0, and a fully masked row stays finite (no NaN). */
const MASKED = -1e9;

/** Configuration of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionConfig {
  /** Number of query heads; must divide the model width. */
  readonly heads: number;
  /** Key/value heads for grouped-query attention (divides `heads`; default = heads; 1 = multi-query). */
  readonly kvHeads?: number;
  /** Bias on the projections (default true). */
  readonly bias?: boolean;
  /** Dropout on the attention probabilities (training only). */
  readonly dropout?: number;
  /** Rotary position embeddings on queries and keys, with tables for positions < maxLen. */
  readonly rope?: { readonly maxLen: number; readonly base?: number };
  /** Cross-attention: keys/values come from a second sequence of width `kvDim` (default: the model width). */
  readonly cross?: boolean;
  /** Width of the memory sequence for cross-attention (default: the model width). */
  readonly kvDim?: number;
}

/** Masks, cache and positions for one {@link MultiHeadAttention.attend} call; all optional (no mask by default). */
export interface AttendOptions {
  /** Mask future keys (query i sees keys ≤ i + past length). */
  readonly causal?: boolean;
  /** [B, S] with 1 (or true) for real keys and 0 for padding; padded keys get no attention. */
  readonly keyPadding?: Tensor;
  /** An extra additive mask broadcastable to [B, H, T, S]. */
  readonly mask?: Tensor;
  /** Cached keys/values [B, kvHeads, P, headDim] from earlier steps (self-attention only). */
  readonly past?: KVCache;
  /**
   * int64 positions of the T queries (for RoPE and the causal mask with a cache); default 0..T-1 (+ past length
   * when a cache is given and T is static).
   */
  readonly positions?: Tensor;
}

/**
 * Keys and values of earlier decoding steps, each [B, kvHeads, P, headDim] (after projection and RoPE), as returned
 * in `present` and passed back as `past`.
 */
export interface KVCache {
  readonly k: Tensor;
  readonly v: Tensor;
}

/**
 * What {@link MultiHeadAttention.attend} returns: the attention output and the key/value cache to pass as the next
 * step's `past`.
 */
export interface AttendResult {
  /** The attention output [B, T, dim], after the output projection. */
  readonly y: Tensor;
  /** Keys/values including this step's, [B, kvHeads, P + T, headDim]: the next step's `past`. */
  readonly present: KVCache;
}

/** cos/sin tables [maxLen, headDim] for rotary embeddings (rotate-half convention, as GPT-NeoX/LLaMA). */
export function ropeTables(maxLen: number, headDim: number, base = 10000): { cos: Float32Array; sin: Float32Array } {
  if (headDim % 2) throw new Error(`rope: head dim ${headDim} must be even`);
  const half = headDim / 2;
  const cos = new Float32Array(maxLen * headDim);
  const sin = new Float32Array(maxLen * headDim);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < half; i++) {
      const a = p / base ** ((2 * i) / headDim);
      cos[p * headDim + i] = cos[p * headDim + i + half] = Math.cos(a);
      sin[p * headDim + i] = sin[p * headDim + i + half] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** The constant [d, d] matrix R with x·R = rotate_half(x) = concat(−x2, x1): one MatMul forward and backward. */
function rotateHalfMatrix(d: number): Float32Array {
  const h = d / 2;
  const r = new Float32Array(d * d);
  for (let i = 0; i < h; i++) {
    r[(i + h) * d + i] = -1; // out[i] = −x[i + h]
    r[i * d + i + h] = 1; // out[i + h] = x[i]
  }
  return r;
}

/**
 * Additive causal mask [T, S] for queries at `qpos` [T] and keys at 0..S-1 (a key is visible when its position ≤ the
 * query's). Static shapes with no offset give a constant; otherwise it is computed from the runtime shapes.
 */
export function causalMaskFor(t: Dim, s: Dim, qpos?: Tensor, keysLike?: Tensor): Tensor {
  if (!qpos && typeof t === 'number' && typeof s === 'number' && t === s) return causalMask(t);
  if (!qpos || !keysLike)
    throw new Error(`causalMask: dynamic shapes [${t}, ${s}] need query positions and a key tensor`);
  // key positions 0..S-1 from the key tensor's runtime length along axis 2 of [B, H, S, d]
  const ones = onesLike(sliceAxis(sliceAxis(sliceAxis(keysLike, 0, 0, 1), 1, 0, 1), 3, 0, 1)); // [1, 1, S, 1]
  const kpos = reshape(cumsum(ones, 2, { exclusive: true }), [1, -1]); // [1, S]
  const q = unsqueeze(cast(qpos, 'float32'), 1); // [T, 1]
  return where(greater(kpos, q), scalar(MASKED), scalar(0));
}

/**
 * Multi-head attention of width `dim` (inputs and output [B, T, dim]): self-attention with a fused q/k/v
 * projection, or cross-attention when `cfg.cross`; optional grouped-query heads, rotary embeddings and a KV cache.
 * Throws when `dim` does not split into `cfg.heads` or the heads do not group into `cfg.kvHeads`.
 */
export class MultiHeadAttention extends Module {
  readonly headDim: number;
  readonly kvHeads: number;
  /** Fused [q; k; v] projection (self-attention) or the query projection (cross-attention). */
  readonly qkv: Parameter;
  readonly qkvBias?: Parameter;
  /** Key/value projection of the memory (cross-attention only). */
  readonly kvProj?: Parameter;
  readonly kvProjBias?: Parameter;
  readonly out: Parameter;
  readonly outBias?: Parameter;
  private readonly rope?: { rot: Float32Array; cosData: Float32Array; sinData: Float32Array };

  constructor(
    readonly dim: number,
    readonly cfg: MultiHeadAttentionConfig,
  ) {
    super();
    const h = cfg.heads;
    const kvh = cfg.kvHeads ?? h;
    if (dim % h) throw new Error(`MultiHeadAttention: width ${dim} does not split into ${h} heads`);
    if (h % kvh) throw new Error(`MultiHeadAttention: ${h} heads do not group into ${kvh} key/value heads`);
    this.headDim = dim / h;
    this.kvHeads = kvh;
    const kvWidth = kvh * this.headDim;
    const bias = cfg.bias ?? true;
    const w = kaimingUniform(Math.sqrt(5));
    if (cfg.cross) {
      const kvDim = cfg.kvDim ?? dim;
      this.qkv = this.param([dim, dim], w);
      if (bias) this.qkvBias = this.param([dim], biasUniform(dim));
      this.kvProj = this.param([2 * kvWidth, kvDim], w);
      if (bias) this.kvProjBias = this.param([2 * kvWidth], biasUniform(kvDim));
    } else {
      this.qkv = this.param([dim + 2 * kvWidth, dim], w);
      if (bias) this.qkvBias = this.param([dim + 2 * kvWidth], biasUniform(dim));
    }
    this.out = this.param([dim, dim], w);
    if (bias) this.outBias = this.param([dim], biasUniform(dim));
    if (cfg.rope) {
      const { cos, sin } = ropeTables(cfg.rope.maxLen, this.headDim, cfg.rope.base);
      this.rope = { rot: rotateHalfMatrix(this.headDim), cosData: cos, sinData: sin };
    }
  }

  /** Self-attention (or cross-attention over `memory`) with an optional key-padding mask [B, S]. */
  forward(x: Tensor, keyPaddingOrMemory?: Tensor, keyPadding?: Tensor): Tensor {
    if (this.cfg.cross) {
      if (!keyPaddingOrMemory) throw new Error('MultiHeadAttention: cross-attention needs a memory tensor');
      return this.attend(x, keyPaddingOrMemory, { keyPadding }).y;
    }
    return this.attend(x, x, { keyPadding: keyPaddingOrMemory }).y;
  }

  /** Applies rotary embeddings to [B, heads, T, d] at positions (int64 [T]) or 0..T-1. */
  private applyRope(x: Tensor, positions?: Tensor): Tensor {
    const r = this.rope!;
    const d = this.headDim;
    const max = this.cfg.rope!.maxLen;
    const cosAll = constant(ndarray('float32', [max, d], r.cosData));
    const sinAll = constant(ndarray('float32', [max, d], r.sinData));
    let cos: Tensor;
    let sin: Tensor;
    const t = x.shape[2];
    if (positions) {
      cos = gather(cosAll, positions, 0);
      sin = gather(sinAll, positions, 0);
    } else {
      if (typeof t !== 'number')
        throw new Error('MultiHeadAttention: RoPE over a symbolic length needs explicit positions');
      if (t > max) throw new Error(`MultiHeadAttention: sequence length ${t} exceeds the RoPE tables (maxLen ${max})`);
      cos = constant(ndarray('float32', [t, d], r.cosData.subarray(0, t * d)));
      sin = constant(ndarray('float32', [t, d], r.sinData.subarray(0, t * d)));
    }
    // cos, sin [T, d] broadcast over batch and heads
    const rot = matmul(x, constant(ndarray('float32', [d, d], r.rot)));
    return add(mul(x, cos), mul(rot, sin));
  }

  /** Attention of queries from `xq` [B, T, D] over keys/values from `xkv` [B, S, Dkv]. */
  attend(xq: Tensor, xkv: Tensor, opts: AttendOptions = {}): AttendResult {
    const h = this.cfg.heads;
    const kvh = this.kvHeads;
    const d = this.headDim;
    if (xq.rank !== 3)
      throw new Error(`MultiHeadAttention: input must be [batch, seq, ${this.dim}], got ${formatShape(xq.shape)}`);
    const [b, t] = xq.shape;
    // heads first with ONE Transpose of the projection ([B, T, heads, d] → [B, heads, T, d]), then a split along the
    // heads axis; the backward is then one Concat and one Transpose in front of the projection's Gemms
    let q: Tensor;
    let k: Tensor;
    let v: Tensor;
    if (this.cfg.cross) {
      const s = xkv.shape[1];
      q = transpose(reshape(linear(xq, this.qkv.t, this.qkvBias?.t), [b, t, h, d]), [0, 2, 1, 3]); // [B, H, T, d]
      const kv = transpose(reshape(linear(xkv, this.kvProj!.t, this.kvProjBias?.t), [b, s, 2 * kvh, d]), [0, 2, 1, 3]); // [B, 2·KVH, S, d]
      [k, v] = split(kv, 2, 1); // [B, kvH, S, d]
    } else {
      const qkv = transpose(reshape(linear(xq, this.qkv.t, this.qkvBias?.t), [b, t, h + 2 * kvh, d]), [0, 2, 1, 3]); // [B, H + 2·KVH, T, d]
      [q, k, v] = split(qkv, [h, kvh, kvh], 1); // [B, H, T, d], [B, kvH, T, d] ×2
    }
    if (this.rope) {
      if (this.cfg.cross) throw new Error('MultiHeadAttention: RoPE is for self-attention');
      q = this.applyRope(q, opts.positions);
      k = this.applyRope(k, opts.positions);
    }
    q = mul(q, 1 / Math.sqrt(d));
    if (opts.past) {
      k = concat([opts.past.k, k], 2);
      v = concat([opts.past.v, v], 2);
    }
    const present: KVCache = { k, v };
    const kT = swapAxes(k, -1, -2); // [B, kvH, d, S]: ORT folds it into the MatMul (transB)
    // grouped-query: the h/kvh query heads of a group are stacked along the query axis ([B, kvH, g·T, d]), so one
    // plain MatMul serves them all (no key/value copies)
    const g = h / kvh;
    if (g > 1) q = reshape(q, [b, kvh, typeof t === 'number' ? g * t : `${g}*${t}`, d]); // [B, KVH, G·T, d]: the G query heads of a group share K/V
    let scores = matmul(q, kT); // [B, kvH, g·T, S]
    const sAll = scores.shape[3];
    if (opts.causal) {
      let m: Tensor;
      if (!opts.past && !opts.positions && typeof t === 'number' && t === sAll)
        m = g > 1 ? tile(causalMask(t), [g, 1]) : causalMask(t);
      else {
        const qpos = opts.positions ?? defaultPositions(xq);
        m = causalMaskFor(t, sAll, g > 1 ? tile(qpos, [g]) : qpos, present.k);
      }
      scores = add(scores, m);
    }
    if (opts.keyPadding) {
      const keep = reshape(cast(opts.keyPadding, 'bool'), [b, 1, 1, -1]); // [B, 1, 1, S]
      scores = where(keep, scores, scalar(MASKED));
    }
    if (opts.mask) {
      if (g > 1)
        throw new Error('MultiHeadAttention: an explicit additive mask is not supported with grouped-query heads');
      scores = add(scores, opts.mask);
    }
    let p = softmax(scores, -1);
    const pd = this.cfg.dropout ?? 0;
    if (pd > 0) {
      const ctx = traceContext();
      const stream = layerStream();
      if (this.training && ctx.training) {
        if (!ctx.key)
          throw new Error('MultiHeadAttention: dropout in training needs a random key in the trace context');
        p = dropout(p, pd, ctx.key, { stream });
      }
    }
    let pv = matmul(p, v); // [B, kvH, g·T, d]
    if (g > 1) pv = reshape(pv, [b, h, t, d]); // [B, H, T, d]
    const o = transpose(pv, [0, 2, 1, 3]); // [B, T, H, d]
    const y = linear(reshape(o, [b, t, this.dim]), this.out.t, this.outBias?.t); // [B, T, H·d] → [B, T, dim]
    return { y, present };
  }
}

/** Positions 0..T-1 of the queries [B, T, D] as int64 [T] (runtime length). */
function defaultPositions(xq: Tensor): Tensor {
  const ones = onesLike(sliceAxis(sliceAxis(xq, 0, 0, 1), 2, 0, 1)); // [1, T, 1]
  return cast(reshape(cumsum(ones, 1, { exclusive: true }), [-1]), 'int64'); // [T]: 0, 1, …, T−1
}
