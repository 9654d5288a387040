// Encoder-decoder transformer (Vaswani et al. 2017, pre-norm): a bidirectional encoder over the source with
// key-padding masks, a decoder with causal self-attention and cross-attention to the encoder's output, trained with
// teacher forcing (the decoder reads the target shifted right behind a BOS token), decoded greedily.
import { z } from 'zod';
import type { NDArray } from '../graph/ndarray.js';
import { add, gelu, notEqual } from '../graph/ops/elementwise.js';
import { embedding } from '../graph/ops/indexing.js';
import { scalar } from '../graph/ops/leaf.js';
import { linear } from '../graph/ops/linalg.js';
import { reshape, sliceAxis } from '../graph/ops/movement.js';
import type { Tensor } from '../graph/tensor.js';
import { compile } from '../runtime/compile.js';
import { withFrozenParameters } from '../nn/export.js';
import { Dropout } from '../nn/layers/simple.js';
import { LayerNorm } from '../nn/layers/norm.js';
import { Linear } from '../nn/layers/linear.js';
import { MultiHeadAttention } from '../nn/layers/attention.js';
import { crossEntropy } from '../nn/losses.js';
import { Module } from '../nn/module.js';
import { normal } from '../nn/init.js';
import type { Parameter } from '../nn/parameter.js';
import { TransformerBlock } from './transformer.js';
import { registerModel } from './registry.js';

/**
 * Options of the registered 'seq2seq' model (zod schema, strict): shared vocabulary, source and decoder lengths, width,
 * encoder and decoder layers, heads, MLP ratio, dropout and the pad/BOS/EOS token ids.
 */
export const seq2seqOptions = z
  .object({
    /** Source and target share one vocabulary (and one embedding table). */
    vocab: z.number().int().positive().default(16),
    /** Source length (padded with padId) and decoder length (BOS + target + EOS, padded). */
    srcLen: z.number().int().positive().default(16),
    tgtLen: z.number().int().positive().default(16),
    dim: z.number().int().positive().default(128),
    encoderLayers: z.number().int().positive().default(2),
    decoderLayers: z.number().int().positive().default(2),
    heads: z.number().int().positive().default(4),
    mlpRatio: z.number().positive().default(4),
    dropout: z.number().min(0).max(0.9).default(0),
    padId: z.number().int().min(0).default(0),
    bosId: z.number().int().min(0).default(1),
    eosId: z.number().int().min(0).default(2),
  })
  .strict();
/** Options of {@link Seq2Seq} as accepted (every field optional, defaults from {@link seq2seqOptions}). */
export type Seq2SeqOptions = z.input<typeof seq2seqOptions>;
type Cfg = z.output<typeof seq2seqOptions>;

/** Pre-norm decoder block: x + SelfAttn(LN x, causal); x + CrossAttn(LN x, memory, source padding); x + MLP(LN x). */
export class DecoderBlock extends Module {
  readonly ln1: LayerNorm;
  readonly self: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly cross: MultiHeadAttention;
  readonly ln3: LayerNorm;
  readonly fc: Linear;
  readonly proj: Linear;
  readonly drop: Dropout;
  constructor(dim: number, heads: number, mlpRatio: number, dropout: number) {
    super();
    this.ln1 = new LayerNorm(dim);
    this.self = new MultiHeadAttention(dim, { heads, dropout });
    this.ln2 = new LayerNorm(dim);
    this.cross = new MultiHeadAttention(dim, { heads, dropout, cross: true });
    this.ln3 = new LayerNorm(dim);
    this.fc = new Linear(dim, Math.round(dim * mlpRatio));
    this.proj = new Linear(Math.round(dim * mlpRatio), dim);
    this.drop = new Dropout(dropout);
  }
  /**
   * x [B, T, D] attending causally to itself, then to `memory` [B, S, D] (the encoder output; required) with `srcKeep`
   * [B, S] masking source padding → [B, T, D].
   */
  forward(x: Tensor, memory?: Tensor, srcKeep?: Tensor): Tensor {
    const a = this.ln1.forward(x);
    let h = add(x, this.drop.forward(this.self.attend(a, a, { causal: true }).y)); // [B, T, D]
    h = add(h, this.drop.forward(this.cross.attend(this.ln2.forward(h), memory!, { keyPadding: srcKeep }).y)); // [B, T, D]
    return add(h, this.drop.forward(this.proj.forward(gelu(this.fc.forward(this.ln3.forward(h))))));
  }
}

/**
 * Seq2Seq: `forward(src, tgtIn)` maps source ids [B, S] and decoder input ids [B, T] → logits [B, T, vocab]. The
 * Trainer feeds both with `inputKeys` (e.g. `['src', 'tgt_in']`).
 */
export class Seq2Seq extends Module {
  readonly cfg: Cfg;
  readonly wte: Parameter;
  readonly srcPos: Parameter;
  readonly tgtPos: Parameter;
  readonly encoder: TransformerBlock[];
  readonly lnEnc: LayerNorm;
  readonly decoder: DecoderBlock[];
  readonly lnDec: LayerNorm;
  readonly drop: Dropout;
  constructor(opts: Seq2SeqOptions = {}) {
    super();
    const c = seq2seqOptions.parse(opts);
    this.cfg = c;
    this.wte = this.param([c.vocab, c.dim], normal(0.02));
    this.srcPos = this.param([c.srcLen, c.dim], normal(0.01));
    this.tgtPos = this.param([c.tgtLen, c.dim], normal(0.01));
    this.encoder = Array.from(
      { length: c.encoderLayers },
      () =>
        new TransformerBlock({
          dim: c.dim,
          heads: c.heads,
          mlpRatio: c.mlpRatio,
          dropout: c.dropout,
          layers: c.encoderLayers,
        }),
    );
    this.lnEnc = new LayerNorm(c.dim);
    this.decoder = Array.from(
      { length: c.decoderLayers },
      () => new DecoderBlock(c.dim, c.heads, c.mlpRatio, c.dropout),
    );
    this.lnDec = new LayerNorm(c.dim);
    this.drop = new Dropout(c.dropout);
  }

  /** Encoder output [B, S, D] and the source keep-mask [B, S] (false at padding). */
  encode(src: Tensor): { memory: Tensor; keep: Tensor } {
    const s = src.shape[1];
    if (typeof s !== 'number' || s > this.cfg.srcLen)
      throw new Error(`Seq2Seq: source length ${s} must be static and ≤ ${this.cfg.srcLen}`);
    const keep = notEqual(src, scalar(this.cfg.padId, src.dtype)); // [B, S]
    let h = this.drop.forward(add(embedding(src, this.wte.t), sliceAxis(this.srcPos.t, 0, 0, s)));
    for (const b of this.encoder) h = b.run(h, { causal: false, keyPadding: keep }).y;
    return { memory: this.lnEnc.forward(h), keep };
  }

  /** Decoder logits [B, T, vocab] for decoder input ids [B, T] (tied output head). */
  decode(tgtIn: Tensor, memory: Tensor, keep: Tensor): Tensor {
    const t = tgtIn.shape[1];
    if (typeof t !== 'number' || t > this.cfg.tgtLen)
      throw new Error(`Seq2Seq: target length ${t} must be static and ≤ ${this.cfg.tgtLen}`);
    let h = this.drop.forward(add(embedding(tgtIn, this.wte.t), sliceAxis(this.tgtPos.t, 0, 0, t)));
    for (const b of this.decoder) h = b.forward(h, memory, keep);
    return linear(this.lnDec.forward(h), this.wte.t);
  }

  /**
   * Logits [B, T, vocab] for source ids `src` [B, S] and decoder input ids `tgtIn` [B, T] (int64, static lengths ≤
   * srcLen and tgtLen); throws when `tgtIn` is missing or a length is too long.
   */
  forward(src: Tensor, tgtIn: Tensor): Tensor {
    // callers through Module's variadic forward can still pass one tensor
    if (!tgtIn)
      throw new Error(
        "Seq2Seq: forward needs source ids [B, S] and decoder input ids [B, T] (with the Trainer: inputKeys: ['src', 'tgt_in'])",
      );
    const { memory, keep } = this.encode(src);
    return this.decode(tgtIn, memory, keep);
  }
}

/** Token cross-entropy of logits [B, T, V] against targets [B, T], padding (padId) ignored. */
export function seq2seqLoss(logits: Tensor, targets: Tensor, padId = 0): Tensor {
  const v = logits.shape[logits.rank - 1];
  return crossEntropy(reshape(logits, [-1, v]), reshape(targets, [-1]), { ignoreIndex: padId }); // [B·T, V] against [B·T]
}

/**
 * Greedy decoding: for source ids (rows of length srcLen), feeds BOS then each argmax token back in until EOS or
 * tgtLen tokens. One compiled graph of static shape [B, tgtLen] serves every step (the causal mask keeps position i
 * blind to the padding after it). Returns each row's tokens without BOS, cut at (and excluding) EOS.
 */
export async function greedyDecode(model: Seq2Seq, src: NDArray, opts: { batch?: number } = {}): Promise<number[][]> {
  const c = model.cfg;
  const [n, s] = src.shape;
  if (s !== c.srcLen) throw new Error(`greedyDecode: source rows must have length srcLen = ${c.srcLen}, got ${s}`);
  const run = compile((x: Tensor, y: Tensor) => withFrozenParameters(model, () => model.forward(x, y)));
  const out: number[][] = [];
  const bs = opts.batch ?? 256;
  const srcData = src.data as BigInt64Array;
  for (let i0 = 0; i0 < n; i0 += bs) {
    const m = Math.min(bs, n - i0);
    const x: NDArray = { dtype: 'int64', shape: [m, s], data: srcData.slice(i0 * s, (i0 + m) * s) };
    const y = new BigInt64Array(m * c.tgtLen).fill(BigInt(c.padId));
    for (let r = 0; r < m; r++) y[r * c.tgtLen] = BigInt(c.bosId);
    const done = new Array<boolean>(m).fill(false);
    const rows: number[][] = Array.from({ length: m }, () => []);
    for (let t = 0; t < c.tgtLen; t++) {
      const logits = (await run(x, { dtype: 'int64', shape: [m, c.tgtLen], data: y })).data as Float32Array; // [m, T, V]
      for (let r = 0; r < m; r++) {
        if (done[r]) continue;
        const off = (r * c.tgtLen + t) * c.vocab;
        let best = 0;
        for (let j = 1; j < c.vocab; j++) if (logits[off + j] > logits[off + best]) best = j;
        if (best === c.eosId) done[r] = true;
        else {
          rows[r].push(best);
          if (t + 1 < c.tgtLen) y[r * c.tgtLen + t + 1] = BigInt(best);
        }
      }
      if (done.every(Boolean)) break;
    }
    out.push(...rows);
  }
  return out;
}

registerModel({
  name: 'seq2seq',
  description:
    'encoder-decoder transformer: bidirectional encoder with padding masks, decoder with causal self-attention and cross-attention, tied embeddings',
  options: seq2seqOptions,
  inputShape: (o) => [o.srcLen], // the first input; `inputs` lists both
  inputs: (o) => [
    { name: 'source_ids', dtype: 'int64', shape: [o.srcLen] },
    { name: 'decoder_ids', dtype: 'int64', shape: [o.tgtLen] },
  ],
  create: (o) => new Seq2Seq(o),
});
