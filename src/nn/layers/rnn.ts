// LSTM and GRU layers (multi-layer, bidirectional, variable-length sequences through masks), unrolled over a
// static sequence length. Lowering (DESIGN.md, backward lowerings): the input projection of all steps is one
// MatMul; each step is one Gemm with the recurrent weights (the step's input projection enters as Gemm's C) and one
// Sigmoid for all gates — the LSTM's tanh gate is computed as 2σ(2x) − 1, with the factor 2 folded into its rows
// of the weights once per graph. Parameters use PyTorch's layout and gate order (LSTM i,f,g,o; GRU r,z,n).
import { ndarray } from '../../graph/ndarray.js';
import { add, cast, mul, sigmoid, sub, tanh } from '../../graph/ops/elementwise.js';
import { constant } from '../../graph/ops/leaf.js';
import { gemm, linear } from '../../graph/ops/linalg.js';
import { concat, reshape, split, unsqueeze } from '../../graph/ops/movement.js';
import { formatShape } from '../../graph/shape.js';
import type { Tensor } from '../../graph/tensor.js';
import { uniform } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

export interface RNNConfig {
  readonly layers?: number;
  readonly bidirectional?: boolean;
  readonly bias?: boolean;
}

export interface RNNRunOptions {
  /** [B, T] with 1 for real steps, 0 for padding (right-padded sequences): padded steps keep the state and output 0. */
  readonly mask?: Tensor;
  /** Initial hidden state [layers·dirs, B, H] (default zeros). */
  readonly h0?: Tensor;
  /** Initial cell state [layers·dirs, B, H] (LSTM; default zeros). */
  readonly c0?: Tensor;
}

export interface RNNResult {
  /** [B, T, H·dirs]: the top layer's hidden state at every step (0 at padded steps). */
  readonly output: Tensor;
  /** Final hidden state per layer and direction, [layers·dirs, B, H] (the last real step of each sequence). */
  readonly h: Tensor;
  /** Final cell state (LSTM only). */
  readonly c?: Tensor;
}

/** One direction of one layer: its four PyTorch-named parameters. */
export class RNNDirection extends Module {
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
  constructor(readonly kind: Cell, readonly inputSize: number, readonly hidden: number, readonly cfg: RNNConfig = {}) {
    super();
    this.layers = cfg.layers ?? 1;
    this.dirs = cfg.bidirectional ? 2 : 1;
    const gates = kind === 'lstm' ? 4 : 3;
    this.cells = [];
    for (let l = 0; l < this.layers; l++) {
      for (let d = 0; d < this.dirs; d++) this.cells.push(new RNNDirection(l === 0 ? inputSize : hidden * this.dirs, hidden, gates, cfg.bias ?? true));
    }
  }

  /** x [B, T, inputSize] → output [B, T, H·dirs] (T static). */
  forward(x: Tensor, mask?: Tensor): Tensor {
    return this.run(x, { mask }).output;
  }

  run(x: Tensor, opts: RNNRunOptions = {}): RNNResult {
    if (x.rank !== 3) throw new Error(`${this.kind.toUpperCase()}: input must be [batch, seq, ${this.inputSize}], got ${formatShape(x.shape)}`);
    const t = x.shape[1];
    if (typeof t !== 'number') throw new Error(`${this.kind.toUpperCase()}: the sequence length must be static (the recurrence is unrolled), got ${formatShape(x.shape)}`);
    // per-step masks [B, 1]
    const masks = opts.mask ? split(unsqueeze(cast(opts.mask, x.dtype), 2), t, 1).map((m) => reshape(m, [-1, 1])) : undefined;
    const h0 = opts.h0 ? split(opts.h0, this.layers * this.dirs, 0).map((s) => reshape(s, [-1, this.hidden])) : undefined;
    const c0 = opts.c0 ? split(opts.c0, this.layers * this.dirs, 0).map((s) => reshape(s, [-1, this.hidden])) : undefined;
    let input = x;
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    for (let l = 0; l < this.layers; l++) {
      const outs: Tensor[][] = [];
      for (let d = 0; d < this.dirs; d++) {
        const i = l * this.dirs + d;
        const r = this.direction(this.cells[i], input, t, d === 1, masks, h0?.[i], c0?.[i]);
        outs.push(r.outputs);
        hs.push(r.h);
        if (r.c) cs.push(r.c);
      }
      const perStep = Array.from({ length: t }, (_, s) => (this.dirs === 1 ? outs[0][s] : concat([outs[0][s], outs[1][s]], 1)));
      input = concat(perStep.map((o) => unsqueeze(o, 1)), 1);
    }
    const stackStates = (xs: Tensor[]) => concat(xs.map((s) => unsqueeze(s, 0)), 0);
    return { output: input, h: stackStates(hs), c: cs.length ? stackStates(cs) : undefined };
  }

  private direction(cell: RNNDirection, x: Tensor, t: number, reverse: boolean, masks: Tensor[] | undefined, h0?: Tensor, c0?: Tensor): { outputs: Tensor[]; h: Tensor; c?: Tensor } {
    const hdim = this.hidden;
    const order = Array.from({ length: t }, (_, i) => (reverse ? t - 1 - i : i));
    const outputs = new Array<Tensor>(t);
    if (this.kind === 'lstm') {
      // scale the g-gate rows by 2: σ(2x) gives tanh(x) = 2σ(2x) − 1 from the one Sigmoid over all gates
      const sv = new Float32Array(4 * hdim).fill(1);
      sv.fill(2, 2 * hdim, 3 * hdim);
      const scaleCol = constant(ndarray(x.dtype, [4 * hdim, 1], Array.from(sv)));
      const scale = constant(ndarray(x.dtype, [4 * hdim], Array.from(sv)));
      const wih = mul(cell.weightIh.t, scaleCol);
      const whh = mul(cell.weightHh.t, scaleCol);
      const b = cell.biasIh && cell.biasHh ? mul(add(cell.biasIh.t, cell.biasHh.t), scale) : undefined;
      const xs = split(linear(x, wih, b), t, 1).map((s) => reshape(s, [-1, 4 * hdim]));
      let h = h0;
      let c = c0;
      for (const s of order) {
        const pre = h ? gemm(h, whh, { transB: true, c: xs[s] }) : xs[s];
        const [ig, fg, gg, og] = split(sigmoid(pre), 4, 1);
        const g = sub(mul(gg, 2), 1);
        const cNew = c ? add(mul(fg, c), mul(ig, g)) : mul(ig, g);
        const hNew = mul(og, tanh(cNew));
        const m = masks?.[s];
        if (m) {
          c = c ? add(c, mul(m, sub(cNew, c))) : mul(m, cNew);
          h = h ? add(h, mul(m, sub(hNew, h))) : mul(m, hNew);
          outputs[s] = mul(m, hNew);
        } else {
          c = cNew;
          h = hNew;
          outputs[s] = hNew;
        }
      }
      return { outputs, h: h!, c: c! };
    }
    // GRU: r, z = σ(x_rz + h·W_rzᵀ + b), n = tanh(x_n + r ⊙ (h·W_nᵀ + b_hn)), h' = n + z ⊙ (h − n)
    const xs = split(linear(x, cell.weightIh.t, cell.biasIh?.t), t, 1).map((s) => reshape(s, [-1, 3 * hdim]));
    const bhh = cell.biasHh?.t;
    const [bhRZ, bhN] = bhh ? split(bhh, [2 * hdim, hdim], 0) : [undefined, undefined];
    let h = h0;
    for (const s of order) {
      const [xrz, xn] = split(xs[s], [2 * hdim, hdim], 1);
      let ghrz: Tensor | undefined;
      let ghn: Tensor | undefined;
      if (h) [ghrz, ghn] = split(gemm(h, cell.weightHh.t, { transB: true, c: bhh }), [2 * hdim, hdim], 1);
      else [ghrz, ghn] = [bhRZ, bhN];
      const [r, z] = split(sigmoid(ghrz ? add(xrz, ghrz) : xrz), 2, 1);
      const n = tanh(ghn ? add(xn, mul(r, ghn)) : xn);
      const hNew = h ? add(n, mul(z, sub(h, n))) : sub(n, mul(z, n));
      const m = masks?.[s];
      if (m) {
        h = h ? add(h, mul(m, sub(hNew, h))) : mul(m, hNew);
        outputs[s] = mul(m, hNew);
      } else {
        h = hNew;
        outputs[s] = hNew;
      }
    }
    return { outputs, h: h! };
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
