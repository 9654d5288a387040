// Recurrent models: a character language model and a sequence classifier on LSTM or GRU layers.
import { z } from 'zod';
import { cast, div, maximum, notEqual } from '../graph/ops/elementwise.js';
import { embedding } from '../graph/ops/indexing.js';
import { scalar } from '../graph/ops/leaf.js';
import { unsqueeze } from '../graph/ops/movement.js';
import { sum } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';
import { Linear } from '../nn/layers/linear.js';
import { GRU, LSTM } from '../nn/layers/rnn.js';
import { Dropout } from '../nn/layers/simple.js';
import { Module } from '../nn/module.js';
import { normal } from '../nn/init.js';
import type { Parameter } from '../nn/parameter.js';
import { registerModel } from './registry.js';

/**
 * Options of the registered 'char-rnn' model (zod schema, strict): cell type (default 'lstm'), vocabulary size (default
 * 96), context length, embedding and hidden widths, layers and dropout.
 */
export const charRnnOptions = z
  .object({
    cell: z.enum(['lstm', 'gru']).default('lstm'),
    vocab: z.number().int().positive().default(96),
    /** Sequence length the model is unrolled over. */
    context: z.number().int().positive().default(64),
    embed: z.number().int().positive().default(64),
    hidden: z.number().int().positive().default(128),
    layers: z.number().int().positive().default(1),
    dropout: z.number().min(0).max(0.9).default(0),
  })
  .strict();
export type CharRNNOptions = z.input<typeof charRnnOptions>;

/** Character LM: ids [B, T] → Embedding → LSTM/GRU → Linear → logits [B, T, vocab] (train with lmLoss). */
export class CharRNN extends Module {
  readonly cfg: z.output<typeof charRnnOptions>;
  readonly emb: Parameter;
  readonly rnn: LSTM | GRU;
  readonly drop: Dropout;
  readonly head: Linear;
  constructor(opts: CharRNNOptions = {}) {
    super();
    const c = charRnnOptions.parse(opts);
    this.cfg = c;
    this.emb = this.param([c.vocab, c.embed], normal(1));
    this.rnn =
      c.cell === 'lstm'
        ? new LSTM(c.embed, c.hidden, { layers: c.layers })
        : new GRU(c.embed, c.hidden, { layers: c.layers });
    this.drop = new Dropout(c.dropout);
    this.head = new Linear(c.hidden, c.vocab);
  }
  /** Logits [B, T, vocab] for token ids [B, T] (int64): one prediction of the next token per position. */
  forward(ids: Tensor): Tensor {
    return this.head.forward(this.drop.forward(this.rnn.forward(embedding(ids, this.emb.t))));
  }
}

registerModel({
  name: 'char-rnn',
  description: 'character language model: embedding → LSTM or GRU (unrolled) → linear head over the vocabulary',
  options: charRnnOptions,
  inputShape: (o) => [o.context],
  create: (o) => new CharRNN(o),
});

/**
 * Options of the registered 'rnn-classifier' model (zod schema, strict): cell type, vocabulary size and classes (both
 * required), context length, widths, layers, bidirectionality (default true), dropout and the padding id.
 */
export const rnnClassifierOptions = z
  .object({
    cell: z.enum(['lstm', 'gru']).default('lstm'),
    vocab: z.number().int().positive(),
    context: z.number().int().positive().default(64),
    embed: z.number().int().positive().default(64),
    hidden: z.number().int().positive().default(64),
    layers: z.number().int().positive().default(1),
    bidirectional: z.boolean().default(true),
    classes: z.number().int().positive(),
    dropout: z.number().min(0).max(0.9).default(0),
    /** Token id of padding (right-padded sequences): masked in the recurrence and the pooling. */
    padId: z.number().int().min(0).default(0),
  })
  .strict();
export type RNNClassifierOptions = z.input<typeof rnnClassifierOptions>;

/** Sequence classifier: ids [B, T] (right-padded with padId) → (bi)LSTM/GRU with masks → masked mean → logits. */
export class RNNClassifier extends Module {
  readonly cfg: z.output<typeof rnnClassifierOptions>;
  readonly emb: Parameter;
  readonly rnn: LSTM | GRU;
  readonly drop: Dropout;
  readonly head: Linear;
  constructor(opts: RNNClassifierOptions) {
    super();
    const c = rnnClassifierOptions.parse(opts);
    this.cfg = c;
    this.emb = this.param([c.vocab, c.embed], normal(1));
    const rc = { layers: c.layers, bidirectional: c.bidirectional };
    this.rnn = c.cell === 'lstm' ? new LSTM(c.embed, c.hidden, rc) : new GRU(c.embed, c.hidden, rc);
    this.drop = new Dropout(c.dropout);
    this.head = new Linear(c.hidden * (c.bidirectional ? 2 : 1), c.classes);
  }
  /**
   * Class logits [B, classes] for right-padded token ids [B, T] (int64): padded steps are masked in the recurrence and
   * excluded from the mean over time.
   */
  forward(ids: Tensor): Tensor {
    const keep = notEqual(ids, scalar(this.cfg.padId, ids.dtype));
    const h = this.rnn.forward(embedding(ids, this.emb.t), keep); // 0 at padded steps
    const w = unsqueeze(cast(keep, 'float32'), 2);
    const pooled = div(sum(h, 1), maximum(sum(w, 1), 1));
    return this.head.forward(this.drop.forward(pooled));
  }
}

registerModel({
  name: 'rnn-classifier',
  description:
    'sequence classifier: embedding → (bidirectional) LSTM/GRU over right-padded sequences with masks → masked mean → linear',
  options: rnnClassifierOptions,
  inputShape: (o) => [o.context],
  create: (o) => new RNNClassifier(o),
});
