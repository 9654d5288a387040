// Mamba (Gu & Dao 2023): a language model of selective state-space blocks. Each block is
//   x, z  = in_proj(u)                                  input branch and gate, [B, T, E] each (E = expand·dim)
//   x     = silu(causal depthwise conv1d(x))            kernel k, left-padded by k−1 (or by the cached k−1 inputs)
//   Δ, B, C = softplus(dt_proj(x·W_dt)), x·W_B, x·W_C   input-dependent step [B, T, E] (low-rank R), B, C [B, T, N]
//   h_t   = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·B_t·x_t          zero-order hold: Ā = exp(ΔA), B̄ ≈ ΔB; h [B, T, E, N]
//   y     = (C_t·h_t + D ⊙ x_t) ⊙ silu(z)               then out_proj, added to the residual stream (pre-RMSNorm)
// The scan is graph/ops/scan.ts's linearScan (one primitive, no per-step retracing, a reverse-scan VJP).
// Generation carries a recurrent state per layer instead of a key/value cache: the last k−1 conv inputs [B, E, k−1]
// and the SSM state [B, E, N]; each new token costs one step whatever the length so far.
import { z } from 'zod';
import { ndarray } from '../graph/ndarray.js';
import { conv1d } from '../graph/ops/conv.js';
import { add, exp, mul, neg, silu, softplus } from '../graph/ops/elementwise.js';
import { embedding } from '../graph/ops/indexing.js';
import { linear } from '../graph/ops/linalg.js';
import { concat, pad, sliceAxis, split, squeeze, transpose, unsqueeze, zerosLike } from '../graph/ops/movement.js';
import { sum } from '../graph/ops/reduce.js';
import { linearScan } from '../graph/ops/scan.js';
import type { Tensor } from '../graph/tensor.js';
import { biasUniform, kaimingUniform, normal, type Init } from '../nn/init.js';
import { Linear } from '../nn/layers/linear.js';
import { RMSNorm } from '../nn/layers/norm.js';
import { initGenerator, Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { registerModel } from './registry.js';

/**
 * Options of the registered 'mamba' model (zod schema, strict): vocabulary (default 96), context (default 64),
 * width, layers, state size N, expansion, conv kernel, Δ rank and range, and the scan lowering.
 */
export const mambaOptions = z
  .object({
    vocab: z.number().int().positive().default(96),
    /** Training sequence length; also the longest prompt piece one generation call takes (the cache has no limit). */
    context: z.number().int().positive().default(64),
    dim: z.number().int().positive().default(128),
    layers: z.number().int().positive().default(2),
    /** SSM state size N per channel. */
    state: z.number().int().positive().default(16),
    /** Inner width E = expand · dim. */
    expand: z.number().int().positive().default(2),
    /** Depthwise causal conv kernel k. */
    convKernel: z.number().int().min(1).default(4),
    /** Rank R of the Δ projection (default ⌈dim / 16⌉). */
    dtRank: z.number().int().positive().optional(),
    /** Δ is initialised log-uniformly in [dtMin, dtMax] (through the dt_proj bias). */
    dtMin: z.number().positive().default(0.001),
    dtMax: z.number().positive().default(0.1),
    /**
     * Lowering of the selective scan (graph/ops/scan.ts): 'sequential' measured fastest in training here (docs/models.md)
     * but its graph grows with T (slow session creation for thousands of steps); 'chunked' keeps it small.
     */
    scan: z.enum(['chunked', 'doubling', 'sequential']).default('sequential'),
    /** Chunk length of the 'chunked' scan. */
    chunk: z.number().int().positive().default(16),
  })
  .strict();
/** Options of {@link Mamba} as accepted (every field optional, defaults from {@link mambaOptions}). */
export type MambaOptions = z.input<typeof mambaOptions>;
type MambaConfig = z.output<typeof mambaOptions>;

/** The recurrent state of one Mamba block: conv inputs [B, E, k−1] and SSM state [B, E, N]. */
export interface MambaState {
  readonly conv: Tensor;
  readonly ssm: Tensor;
}

const fromFn =
  (f: (i: number, shape: readonly number[], g: () => number) => number): Init =>
  (shape, gen) =>
    ndarray(
      'float32',
      shape,
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i, shape, () => gen.uniform())),
    );

/** The selective SSM mixer: u [B, T, dim] → [B, T, dim], with an optional incoming/outgoing recurrent state. */
export class MambaMixer extends Module {
  readonly inProj: Linear;
  readonly convWeight: Parameter;
  readonly convBias: Parameter;
  readonly xProj: Linear;
  readonly dtProj: Linear;
  /** log(−A) [E, N]: A = −exp(aLog), initialised to A[e, n] = −(n + 1) (S4D-real). */
  readonly aLog: Parameter;
  /** Skip D [E]. */
  readonly dSkip: Parameter;
  readonly outProj: Linear;
  readonly inner: number;
  readonly rank: number;
  constructor(
    readonly cfg: MambaConfig,
    outScale = 1,
  ) {
    super();
    const e = cfg.expand * cfg.dim;
    const r = cfg.dtRank ?? Math.ceil(cfg.dim / 16);
    const k = cfg.convKernel;
    this.inner = e;
    this.rank = r;
    this.inProj = new Linear(cfg.dim, 2 * e, { bias: false });
    this.convWeight = this.param([e, 1, k], kaimingUniform(Math.sqrt(5)));
    this.convBias = this.param([e], biasUniform(k));
    this.xProj = new Linear(e, r + 2 * cfg.state, { bias: false });
    this.dtProj = new Linear(r, e);
    const std = r ** -0.5;
    this.dtProj.weight.data = fromFn((_i, _s, u) => (2 * u() - 1) * std)([e, r], initGenerator());
    // Δ = softplus(bias) log-uniform in [dtMin, dtMax]: bias = Δ + log(−expm1(−Δ)) (the inverse of softplus)
    const [lo, hi] = [Math.log(cfg.dtMin), Math.log(cfg.dtMax)];
    (this.dtProj.bias as Parameter).data = fromFn((_i, _s, u) => {
      const dt = Math.max(Math.exp(lo + (hi - lo) * u()), 1e-4);
      return dt + Math.log(-Math.expm1(-dt));
    })([e], initGenerator());
    this.aLog = this.param(
      [e, cfg.state],
      fromFn((i) => Math.log((i % cfg.state) + 1)),
    );
    this.dSkip = this.param(
      [e],
      fromFn(() => 1),
    );
    this.outProj = new Linear(e, cfg.dim, { bias: false });
    if (outScale !== 1) this.outProj.weight.data = scaled(this.outProj.weight.data, outScale);
  }

  /** u [B, T, dim] → [B, T, dim] from a zero state (training and full recompute). */
  forward(u: Tensor): Tensor {
    return this.run(u).y;
  }

  /**
   * The mixer from a given state (or zeros): u [B, T, dim] → y [B, T, dim] and the state after the last step (T
   * static: ONNX Conv needs static spatial dims).
   */
  run(u: Tensor, state?: MambaState): { y: Tensor; state: MambaState } {
    const c = this.cfg;
    const e = this.inner;
    const k = c.convKernel;
    const [xin, gate] = split(this.inProj.forward(u), [e, e], -1); // [B, T, E] each
    const xt = transpose(xin, [0, 2, 1]); // [B, E, T]
    const xcat = state ? concat([state.conv, xt], 2) : pad(xt, [0, 0, k - 1, 0, 0, 0]); // [B, E, k−1+T]
    const conv = conv1d(xcat, this.convWeight.t, this.convBias.t, { groups: e }); // [B, E, T], no padding
    const x = silu(transpose(conv, [0, 2, 1])); // [B, T, E]
    const [dtLow, bm, cm] = split(this.xProj.forward(x), [this.rank, c.state, c.state], -1);
    const delta = softplus(this.dtProj.forward(dtLow)); // [B, T, E]
    const a = neg(exp(this.aLog.t)); // [E, N]
    const logA = mul(unsqueeze(delta, 3), a); // Δ·A [B, T, E, N]
    const bx = mul(unsqueeze(mul(delta, x), 3), unsqueeze(bm, 2)); // Δ·B·x [B, T, E, N]
    const scanOpts = { method: c.scan, chunk: c.chunk };
    let h = linearScan(logA, bx, scanOpts); // [B, T, E, N]
    if (state) {
      // the incoming state decays by exp(ΣΔA) up to each step: a cumulative sum is a scan with no decay
      const cum = linearScan(zerosLike(logA), logA, scanOpts);
      h = add(h, mul(exp(cum), unsqueeze(state.ssm, 1)));
    }
    let y = sum(mul(h, unsqueeze(cm, 2)), 3); // C·h [B, T, E]
    y = mul(add(y, mul(x, this.dSkip.t)), silu(gate));
    const next: MambaState = {
      conv: sliceAxis(xcat, 2, -(k - 1)), // [B, E, k−1]
      ssm: squeeze(sliceAxis(h, 1, -1), 1), // [B, E, N]
    };
    return { y: this.outProj.forward(y), state: next };
  }
}

function scaled(a: Parameter['data'], s: number): Parameter['data'] {
  const d = Float32Array.from(a.data as Float32Array, (v) => v * s);
  return ndarray('float32', a.shape, d);
}

/** Pre-norm residual block: x + mixer(RMSNorm(x)). */
export class MambaBlock extends Module {
  readonly norm: RMSNorm;
  readonly mixer: MambaMixer;
  constructor(cfg: MambaConfig) {
    super();
    this.norm = new RMSNorm(cfg.dim, 1e-5);
    this.mixer = new MambaMixer(cfg, 1 / Math.sqrt(cfg.layers));
  }
  /** x [B, T, dim] → [B, T, dim]. */
  forward(x: Tensor): Tensor {
    return add(x, this.mixer.forward(this.norm.forward(x)));
  }
  /** The block from a state: x [B, T, dim] → y and the state after the last step. */
  run(x: Tensor, state?: MambaState): { y: Tensor; state: MambaState } {
    const r = this.mixer.run(this.norm.forward(x), state);
    return { y: add(x, r.y), state: r.state };
  }
}

/** What {@link Mamba.decode} returns: logits of every new position [B, T, vocab] and each layer's new state. */
export interface MambaDecodeResult {
  readonly logits: Tensor;
  readonly states: MambaState[];
}

/** Mamba language model: ids [B, T] (int64) → logits [B, T, vocab] (tied embedding head, final RMSNorm). */
export class Mamba extends Module {
  readonly cfg: MambaConfig;
  readonly wte: Parameter;
  readonly blocks: MambaBlock[];
  readonly normF: RMSNorm;
  constructor(opts: MambaOptions = {}) {
    super();
    const c = mambaOptions.parse(opts);
    if (c.dtMin > c.dtMax) throw new Error(`mamba: dtMin ${c.dtMin} exceeds dtMax ${c.dtMax}`);
    this.cfg = c;
    this.wte = this.param([c.vocab, c.dim], normal(0.02));
    this.blocks = Array.from({ length: c.layers }, () => new MambaBlock(c));
    this.normF = new RMSNorm(c.dim, 1e-5);
  }

  /** Next-token logits [B, T, vocab] for token ids [B, T] (int64), from zero states. */
  forward(ids: Tensor): Tensor {
    let h = embedding(ids, this.wte.t);
    for (const b of this.blocks) h = b.forward(h);
    return linear(this.normF.forward(h), this.wte.t);
  }

  /**
   * Incremental decoding: new tokens `ids` [B, T] after the recurrent states of earlier tokens (one per layer; omit
   * for the first call). Returns the logits of the new tokens and the states after them.
   */
  decode(ids: Tensor, states?: readonly MambaState[]): MambaDecodeResult {
    let h = embedding(ids, this.wte.t);
    const out: MambaState[] = [];
    this.blocks.forEach((b, i) => {
      const r = b.run(h, states?.[i]);
      h = r.y;
      out.push(r.state);
    });
    return { logits: linear(this.normF.forward(h), this.wte.t), states: out };
  }
}

registerModel({
  name: 'mamba',
  description:
    'Mamba selective state-space LM: token embedding, pre-RMSNorm blocks (gated in_proj, causal depthwise conv, input-dependent Δ/B/C, selective scan), tied head',
  options: mambaOptions,
  inputShape: (o) => [o.context],
  create: (o) => new Mamba(o),
});
