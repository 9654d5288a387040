// Transformers: a GPT-style decoder (pre-norm, RoPE or learned positions, causal attention, tied embeddings,
// grouped-query attention) with KV-cache generation, and a BERT-style encoder classifier with padding masks.
import { z } from 'zod';
import { add, cast, div, gelu, maximum, mul, notEqual } from '../graph/ops/elementwise.js';
import { embedding } from '../graph/ops/indexing.js';
import { scalar } from '../graph/ops/leaf.js';
import { linear } from '../graph/ops/linalg.js';
import { reshape, sliceAxis, unsqueeze } from '../graph/ops/movement.js';
import { sum } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';
import { Dropout } from '../nn/layers/simple.js';
import { LayerNorm } from '../nn/layers/norm.js';
import { Linear } from '../nn/layers/linear.js';
import { MultiHeadAttention, type KVCache } from '../nn/layers/attention.js';
import { MoE, type MoEOptions } from '../nn/layers/moe.js';
import { crossEntropy } from '../nn/losses.js';
import { initGenerator, Module } from '../nn/module.js';
import { normal, zeros } from '../nn/init.js';
import type { Parameter } from '../nn/parameter.js';
import { registerModel } from './registry.js';

const reinit = (p: Parameter, std: number): void => {
  p.data = normal(std)(p.data.shape, initGenerator());
};

export interface BlockConfig {
  readonly dim: number;
  readonly heads: number;
  readonly kvHeads?: number;
  readonly mlpRatio?: number;
  readonly dropout?: number;
  readonly rope?: { readonly maxLen: number; readonly base?: number };
  /** GPT-2 init: N(0, 0.02) weights, residual projections scaled by 1/√(2·layers). */
  readonly layers?: number;
  readonly bias?: boolean;
  /** A mixture of experts in place of the MLP (each expert an MLP of the same width). */
  readonly moe?: Omit<MoEOptions, 'hidden' | 'bias'>;
}

/** Pre-norm transformer block: x + Attn(LN(x)), then x + MLP(LN(x)) with a GELU MLP (or a mixture of such MLPs). */
export class TransformerBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly fc?: Linear;
  readonly proj?: Linear;
  readonly moe?: MoE;
  readonly drop: Dropout;
  constructor(readonly cfg: BlockConfig) {
    super();
    const d = cfg.dim;
    const hidden = Math.round(d * (cfg.mlpRatio ?? 4));
    const bias = cfg.bias ?? true;
    this.ln1 = new LayerNorm(d);
    this.attn = new MultiHeadAttention(d, {
      heads: cfg.heads,
      kvHeads: cfg.kvHeads,
      dropout: cfg.dropout,
      rope: cfg.rope,
      bias,
    });
    this.ln2 = new LayerNorm(d);
    // The order of construction and re-initialisation is the order of draws from the seeded generator: a dense block
    // draws exactly as before MoE existed, so seeded figures stay reproducible.
    if (cfg.moe) this.moe = new MoE(d, { ...cfg.moe, hidden, bias });
    else {
      this.fc = new Linear(d, hidden, { bias });
      this.proj = new Linear(hidden, d, { bias });
    }
    this.drop = new Dropout(cfg.dropout ?? 0);
    const resid = 0.02 / Math.sqrt(2 * (cfg.layers ?? 1));
    reinit(this.attn.qkv, 0.02);
    reinit(this.attn.out, resid);
    reinit(this.moe?.w1 ?? (this.fc as Linear).weight, 0.02);
    reinit(this.moe?.w2 ?? (this.proj as Linear).weight, resid);
    for (const p of [this.attn.qkvBias, this.attn.outBias, this.fc?.bias, this.proj?.bias, this.moe?.b1, this.moe?.b2])
      if (p) p.data = zeros(p.data.shape, initGenerator());
  }

  /**
   * The block's feed-forward half: dropout(proj(gelu(fc(ln2(x))))), [B, T, D] → [B, T, D] (the residual add is the
   * caller's).
   */
  mlp(x: Tensor): Tensor {
    const n = this.ln2.forward(x);
    if (this.moe) return this.drop.forward(this.moe.forward(n));
    const { fc, proj } = this as { fc: Linear; proj: Linear };
    return this.drop.forward(proj.forward(gelu(fc.forward(n))));
  }

  /**
   * Bidirectional (non-causal) block: x [B, T, D] → [B, T, D]; `keyPadding` [B, T] (1/true for real tokens) keeps
   * padded keys out of attention.
   */
  forward(x: Tensor, keyPadding?: Tensor): Tensor {
    return this.run(x, { causal: false, keyPadding }).y;
  }

  /**
   * The block with every attention option (causal mask, key padding, KV cache `past`, RoPE `positions`): x [B, T, D] →
   * y [B, T, D] and the keys/values `present` to cache.
   */
  run(
    x: Tensor,
    opts: { causal: boolean; keyPadding?: Tensor; past?: KVCache; positions?: Tensor },
  ): { y: Tensor; present: KVCache } {
    const n = this.ln1.forward(x);
    const a = this.attn.attend(n, n, opts);
    const h = add(x, this.drop.forward(a.y));
    return { y: add(h, this.mlp(h)), present: a.present };
  }
}

// ---- GPT ---------------------------------------------------------------------------------------

/**
 * Options of the registered 'gpt' model (zod schema, strict): vocabulary (default 96), context (default 64), width,
 * layers, heads and KV heads, MLP ratio, dropout, position encoding (default 'rope'), tied head and biases, and an
 * optional mixture of experts in place of every MLP.
 */
export const gptOptions = z
  .object({
    vocab: z.number().int().positive().default(96),
    /** Maximum context length (position table / RoPE tables). */
    context: z.number().int().positive().default(64),
    dim: z.number().int().positive().default(128),
    layers: z.number().int().positive().default(2),
    heads: z.number().int().positive().default(4),
    /** Key/value heads (grouped-query attention); default = heads. */
    kvHeads: z.number().int().positive().optional(),
    mlpRatio: z.number().positive().default(4),
    dropout: z.number().min(0).max(0.9).default(0),
    positions: z.enum(['rope', 'learned']).default('rope'),
    tied: z.boolean().default(true),
    bias: z.boolean().default(true),
    /** Mixture-of-experts MLPs in every block (`moe: { experts: 8, topK: 2 }`); absent: dense MLPs. */
    moe: z
      .object({
        experts: z.number().int().min(2),
        // defaults are MoE's own (src/nn/layers/moe.ts): 2, 1.25, 2, 0.01, 0.001
        topK: z.union([z.literal(1), z.literal(2)]).optional(),
        capacityFactor: z.number().positive().optional(),
        evalCapacityFactor: z.number().positive().optional(),
        balanceWeight: z.number().min(0).optional(),
        zLossWeight: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
/** Options of {@link GPT} as accepted (every field optional, defaults from {@link gptOptions}). */
export type GPTOptions = z.input<typeof gptOptions>;

export interface DecodeResult {
  /** Logits of every input position, [B, T, vocab]. */
  readonly logits: Tensor;
  readonly present: KVCache[];
}

/** GPT-style decoder-only language model: ids [B, T] (int64) → logits [B, T, vocab]. */
export class GPT extends Module {
  readonly cfg: z.output<typeof gptOptions>;
  readonly wte: Parameter;
  readonly wpe?: Parameter;
  readonly drop: Dropout;
  readonly blocks: TransformerBlock[];
  readonly lnf: LayerNorm;
  readonly head?: Parameter;
  constructor(opts: GPTOptions = {}) {
    super();
    const c = gptOptions.parse(opts);
    this.cfg = c;
    this.wte = this.param([c.vocab, c.dim], normal(0.02));
    if (c.positions === 'learned') this.wpe = this.param([c.context, c.dim], normal(0.01));
    this.drop = new Dropout(c.dropout);
    const rope = c.positions === 'rope' ? { maxLen: c.context } : undefined;
    this.blocks = Array.from(
      { length: c.layers },
      () =>
        new TransformerBlock({
          dim: c.dim,
          heads: c.heads,
          kvHeads: c.kvHeads,
          mlpRatio: c.mlpRatio,
          dropout: c.dropout,
          rope,
          layers: c.layers,
          bias: c.bias,
          moe: c.moe,
        }),
    );
    this.lnf = new LayerNorm(c.dim);
    if (!c.tied) this.head = this.param([c.vocab, c.dim], normal(0.02));
  }

  private embed(ids: Tensor, positions?: Tensor): Tensor {
    let x = embedding(ids, this.wte.t);
    if (this.wpe) {
      const t = ids.shape[1];
      if (positions) x = add(x, embedding(positions, this.wpe.t));
      else {
        if (typeof t !== 'number')
          throw new Error('GPT: learned positions over a symbolic length need explicit positions');
        if (t > this.cfg.context) throw new Error(`GPT: sequence length ${t} exceeds the context ${this.cfg.context}`);
        x = add(x, sliceAxis(this.wpe.t, 0, 0, t));
      }
    }
    return this.drop.forward(x);
  }

  private logits(h: Tensor): Tensor {
    return linear(this.lnf.forward(h), (this.head ?? this.wte).t);
  }

  /**
   * Next-token logits [B, T, vocab] for token ids [B, T] (int64) with causal attention; with learned positions T must
   * be static and ≤ context (throws otherwise).
   */
  forward(ids: Tensor): Tensor {
    let h = this.embed(ids);
    for (const b of this.blocks) h = b.run(h, { causal: true }).y;
    return this.logits(h);
  }

  /**
   * One incremental step: new tokens `ids` [B, T] at `positions` (int64 [T]) after the cached keys/values of
   * earlier tokens (`past`, one per layer, [B, kvHeads, P, headDim]). Returns the logits of the new tokens and the
   * extended cache.
   */
  decode(ids: Tensor, positions: Tensor, past: readonly KVCache[]): DecodeResult {
    let h = this.embed(ids, positions);
    const present: KVCache[] = [];
    this.blocks.forEach((b, i) => {
      const r = b.run(h, { causal: true, past: past[i], positions });
      h = r.y;
      present.push(r.present);
    });
    return { logits: this.logits(h), present };
  }
}

/** Mean next-token cross-entropy of logits [B, T, V] against targets [B, T] (nats per token). */
export function lmLoss(logits: Tensor, targets: Tensor): Tensor {
  const v = logits.shape[logits.rank - 1];
  return crossEntropy(reshape(logits, [-1, v]), reshape(targets, [-1])); // [B·T, V] against [B·T]
}

registerModel({
  name: 'gpt',
  description:
    'GPT-style decoder: token embedding, pre-norm blocks (causal MHA with RoPE or learned positions, GELU MLP), tied output head',
  options: gptOptions,
  inputShape: (o) => [o.context],
  create: (o) => new GPT(o),
});

// ---- encoder classifier ------------------------------------------------------------------------

/**
 * Options of the registered 'transformer-classifier' model (zod schema, strict): vocabulary and classes (required),
 * context (default 128), width, layers, heads, MLP ratio, dropout (default 0.1) and the padding id.
 */
export const encoderClassifierOptions = z
  .object({
    vocab: z.number().int().positive(),
    /** Sequence length the classifier is trained on (position table size). */
    context: z.number().int().positive().default(128),
    dim: z.number().int().positive().default(128),
    layers: z.number().int().positive().default(2),
    heads: z.number().int().positive().default(4),
    mlpRatio: z.number().positive().default(4),
    dropout: z.number().min(0).max(0.9).default(0.1),
    classes: z.number().int().positive(),
    /** Token id of padding: those keys are masked and excluded from the pooled mean. */
    padId: z.number().int().min(0).default(0),
  })
  .strict();
/**
 * Options of {@link EncoderClassifier} as accepted (vocab and classes required, the rest defaulted by {@link
 * encoderClassifierOptions}).
 */
export type EncoderClassifierOptions = z.input<typeof encoderClassifierOptions>;

/** BERT-style encoder classifier: ids [B, T] (padId = padding) → class logits [B, classes] (masked mean pooling). */
export class EncoderClassifier extends Module {
  readonly cfg: z.output<typeof encoderClassifierOptions>;
  readonly wte: Parameter;
  readonly wpe: Parameter;
  readonly blocks: TransformerBlock[];
  readonly lnf: LayerNorm;
  readonly head: Linear;
  readonly drop: Dropout;
  constructor(opts: EncoderClassifierOptions) {
    super();
    const c = encoderClassifierOptions.parse(opts);
    this.cfg = c;
    this.wte = this.param([c.vocab, c.dim], normal(0.02));
    this.wpe = this.param([c.context, c.dim], normal(0.01));
    this.blocks = Array.from(
      { length: c.layers },
      () =>
        new TransformerBlock({
          dim: c.dim,
          heads: c.heads,
          mlpRatio: c.mlpRatio,
          dropout: c.dropout,
          layers: c.layers,
        }),
    );
    this.lnf = new LayerNorm(c.dim);
    this.drop = new Dropout(c.dropout);
    this.head = new Linear(c.dim, c.classes);
  }
  /**
   * The encoder body without pooling or head: final-layer-normed hidden states [B, T, dim] (padding keys masked).
   * Masked-LM pre-training puts a token head on these (e.g. `linear(encode(ids), wte)`, tied to the embedding).
   */
  encode(ids: Tensor): Tensor {
    const t = ids.shape[1];
    if (typeof t !== 'number' || t > this.cfg.context)
      throw new Error(`EncoderClassifier: sequence length ${t} must be static and ≤ ${this.cfg.context}`);
    const keep = notEqual(ids, scalar(this.cfg.padId, ids.dtype)); // [B, T]
    let h = this.drop.forward(add(embedding(ids, this.wte.t), sliceAxis(this.wpe.t, 0, 0, t))); // [B, T, D]
    for (const b of this.blocks) h = b.run(h, { causal: false, keyPadding: keep }).y;
    return this.lnf.forward(h);
  }

  /**
   * Class logits [B, classes] for token ids [B, T] (int64, T static and ≤ context): the mean of the encoded tokens over
   * non-padding positions, through dropout and a linear head.
   */
  forward(ids: Tensor): Tensor {
    const h = this.encode(ids); // [B, T, D]
    const keep = notEqual(ids, scalar(this.cfg.padId, ids.dtype)); // [B, T]
    const w = unsqueeze(cast(keep, 'float32'), 2); // [B, T, 1]
    const pooled = div(sum(mul(h, w), 1), maximum(sum(w, 1), 1)); // masked mean [B, D]
    return this.head.forward(this.drop.forward(pooled));
  }
}

registerModel({
  name: 'transformer-classifier',
  description:
    'BERT-style encoder classifier: token + learned positions, bidirectional blocks with key-padding masks, masked mean pooling',
  options: encoderClassifierOptions,
  inputShape: (o) => [o.context],
  create: (o) => new EncoderClassifier(o),
});
