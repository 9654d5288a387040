// LSTM and GRU layers (multi-layer, bidirectional, variable-length sequences through masks), unrolled over a
// static sequence length. Each direction of each layer is one fused sequence (rnn-fused.ts): the input projection
// of all steps is one Gemm; each step is one Gemm with the recurrent weights and one Sigmoid for all gates (the
// LSTM's tanh gate as 2σ(2x) − 1); its hand-written VJP computes each weight gradient as one Gemm over all steps.
// Parameters use PyTorch's layout and gate order (LSTM i,f,g,o; GRU r,z,n).
import { cast } from '../../graph/ops/elementwise.js';
import { concat, reshape, split, unsqueeze } from '../../graph/ops/movement.js';
import { formatShape } from '../../graph/shape.js';
import type { Tensor } from '../../graph/tensor.js';
import { uniform } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { gruSequence, lstmSequence } from './rnn-fused.js';

/** Options of {@link LSTM} and {@link GRU}. */
export interface RNNConfig {
  /** Stacked layers (default 1); layer l > 0 reads the previous layer's [B, T, H·dirs] output. */
  readonly layers?: number;
  /** Run a second, reversed direction per layer and concatenate both outputs (default false). */
  readonly bidirectional?: boolean;
  /** Learn the input and recurrent biases (default true). */
  readonly bias?: boolean;
}

/** Optional mask and initial states of {@link LSTM.run} and {@link GRU.run}. */
export interface RNNRunOptions {
  /** [B, T] with 1 for real steps, 0 for padding (right-padded sequences): padded steps keep the state and output 0. */
  readonly mask?: Tensor;
  /** Initial hidden state [layers·dirs, B, H] (default zeros). */
  readonly h0?: Tensor;
  /** Initial cell state [layers·dirs, B, H] (LSTM; default zeros). */
  readonly c0?: Tensor;
}

/** What {@link LSTM.run} and {@link GRU.run} return: every step's output and the final states. */
export interface RNNResult {
  /** The top layer's hidden state at every step, [B, T, H·dirs] (0 at padded steps). */
  readonly output: Tensor;
  /** Final hidden state per layer and direction, [layers·dirs, B, H] (the last real step of each sequence). */
  readonly h: Tensor;
  /** Final cell state (LSTM only). */
  readonly c?: Tensor;
}

/** One direction of one layer: its four PyTorch-named parameters. */
class RNNDirection extends Module {
  readonly weightIh: Parameter;
  readonly weightHh: Parameter;
  readonly biasIh?: Parameter;
  readonly biasHh?: Parameter;
  constructor(inputSize: number, hidden: number, gates: number, bias: boolean) {
    super();
    const k = 1 / Math.sqrt(hidden);
    this.weightIh = this.param([gates * hidden, inputSize], uniform(-k, k));
    this.weightHh = this.param([gates * hidden, hidden], uniform(-k, k));
    if (bias) {
      this.biasIh = this.param([gates * hidden], uniform(-k, k));
      this.biasHh = this.param([gates * hidden], uniform(-k, k));
    }
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

type Cell = 'lstm' | 'gru';

abstract class RNNBase extends Module {
  readonly cells: RNNDirection[];
  readonly layers: number;
  readonly dirs: number;
  constructor(
    readonly kind: Cell,
    readonly inputSize: number,
    readonly hidden: number,
    readonly cfg: RNNConfig = {},
  ) {
    super();
    this.layers = cfg.layers ?? 1;
    this.dirs = cfg.bidirectional ? 2 : 1;
    const gates = kind === 'lstm' ? 4 : 3;
    this.cells = [];
    for (let l = 0; l < this.layers; l++) {
      for (let d = 0; d < this.dirs; d++)
        this.cells.push(new RNNDirection(l === 0 ? inputSize : hidden * this.dirs, hidden, gates, cfg.bias ?? true));
    }
  }

  /** x [B, T, inputSize] → output [B, T, H·dirs] (T static). */
  forward(x: Tensor, mask?: Tensor): Tensor {
    return this.run(x, { mask }).output;
  }

  /**
   * Runs every layer and direction over x [B, T, inputSize] (T static: the recurrence is unrolled) and returns the
   * top layer's outputs with the final hidden (and LSTM cell) states; throws when `x` is not rank 3 or T is symbolic.
   */
  run(x: Tensor, opts: RNNRunOptions = {}): RNNResult {
    if (x.rank !== 3)
      throw new Error(
        `${this.kind.toUpperCase()}: input must be [batch, seq, ${this.inputSize}], got ${formatShape(x.shape)}`,
      );
    const t = x.shape[1];
    if (typeof t !== 'number')
      throw new Error(
        `${this.kind.toUpperCase()}: the sequence length must be static (the recurrence is unrolled), got ${formatShape(x.shape)}`,
      );
    const mask = opts.mask && cast(opts.mask, x.dtype); // [B, T]
    const h0 = opts.h0
      ? split(opts.h0, this.layers * this.dirs, 0).map((s) => reshape(s, [-1, this.hidden]))
      : undefined;
    const c0 = opts.c0
      ? split(opts.c0, this.layers * this.dirs, 0).map((s) => reshape(s, [-1, this.hidden]))
      : undefined;
    const sequence = this.kind === 'lstm' ? lstmSequence : gruSequence;
    let input = x;
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    for (let l = 0; l < this.layers; l++) {
      const ys: Tensor[] = [];
      for (let d = 0; d < this.dirs; d++) {
        const i = l * this.dirs + d;
        const cell = this.cells[i];
        const r = sequence({
          x: input,
          weightIh: cell.weightIh.t,
          weightHh: cell.weightHh.t,
          biasIh: cell.biasIh?.t,
          biasHh: cell.biasHh?.t,
          h0: h0?.[i],
          c0: c0?.[i],
          mask,
          reverse: d === 1,
        });
        ys.push(r.y);
        hs.push(r.h);
        if (r.c) cs.push(r.c);
      }
      input = concat(ys, 2); // [B, T, H·dirs]
    }
    const stackStates = (xs: Tensor[]) =>
      concat(
        xs.map((s) => unsqueeze(s, 0)),
        0,
      );
    return { output: input, h: stackStates(hs), c: cs.length ? stackStates(cs) : undefined };
  }
}

/** Long short-term memory, batch-first: x [B, T, I] → [B, T, H·dirs]. */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hidden: number, cfg: RNNConfig = {}) {
    super('lstm', inputSize, hidden, cfg);
  }
}

/** Gated recurrent unit, batch-first: x [B, T, I] → [B, T, H·dirs]. */
export class GRU extends RNNBase {
  constructor(inputSize: number, hidden: number, cfg: RNNConfig = {}) {
    super('gru', inputSize, hidden, cfg);
  }
}
