// Mixture of experts: a feed-forward layer whose tokens are routed to the top-k of E expert MLPs (Switch
// Transformer for k = 1, GShard / Mixtral-style top-2), with a fixed capacity per expert and token dropping, the
// Switch load-balancing loss and the router z-loss (ST-MoE), and expert-load statistics reported as metrics.
//
// Routing is written as dense dispatch and combine tensors within groups of tokens (GShard's formulation): every
// shape is static but the batch, so one traced graph trains and ships, and each token costs k expert MLPs, not E.
import { add, cast, div, gelu, less, mul, sqrt, square, sub } from '../../graph/ops/elementwise.js';
import { cumsum, oneHot, topk } from '../../graph/ops/indexing.js';
import { matmul } from '../../graph/ops/linalg.js';
import { reshape, transpose, unsqueeze } from '../../graph/ops/movement.js';
import { softmax } from '../../graph/ops/norm.js';
import { logsumexp, mean, sum } from '../../graph/ops/reduce.js';
import { stopGradient } from '../../graph/ops/differentiation.js';
import type { Tensor } from '../../graph/tensor.js';
import { traceContext } from '../context.js';
import { normal, uniform, zeros } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

/** Options of {@link MoE}: the number of experts, experts per token, expert width, capacity and auxiliary-loss weights. */
export interface MoEOptions {
  /** Number of experts E (≥ 2). */
  readonly experts: number;
  /** Experts per token: 1 (Switch) or 2 (GShard/Mixtral). Default 2. */
  readonly topK?: 1 | 2;
  /** Hidden width of each expert MLP. Default 4 × dim. */
  readonly hidden?: number;
  /**
   * Tokens each expert takes per group during training, as a multiple of the even share k·S/E (S tokens per
   * group); tokens beyond it are dropped (their residual passes through). Default 1.25.
   */
  readonly capacityFactor?: number;
  /** The same in evaluation and inference. Default 2 (almost nothing dropped). */
  readonly evalCapacityFactor?: number;
  /** Weight of the Switch load-balancing loss E·Σ_e f_e·P_e. Default 0.01; 0 turns it off. */
  readonly balanceWeight?: number;
  /** Weight of the router z-loss mean(logsumexp(logits)²). Default 0.001; 0 turns it off. */
  readonly zLossWeight?: number;
  /** Renormalise the top-k gate values to sum to 1 (k = 2). Default true. */
  readonly normalizeGates?: boolean;
  /** Bias in the expert MLPs. Default true. */
  readonly bias?: boolean;
  /** Std of the router's initial weights (small, so routing starts near uniform). Default 0.02. */
  readonly routerStd?: number;
}

/** Routing of one group of tokens, exposed for tests and for reports. */
export interface Routing {
  /** Router probabilities [G, S, E]. */
  readonly probs: Tensor;
  /** Chosen experts [G, S, k] (int64) and their gate values [G, S, k]. */
  readonly experts: Tensor;
  readonly gates: Tensor;
  /** 1 where a token's choice found room in its expert [G, S, k]. */
  readonly kept: Tensor;
  /** Token → (expert, slot) one-hot dispatch [G, S, E·C] and the gate-weighted combine tensor of the same shape. */
  readonly dispatch: Tensor;
  readonly combine: Tensor;
  readonly capacity: number;
}

/**
 * `nn.MoE`: x [..., S, dim] → [..., S, dim]. Groups are the leading dims (a sequence per group for [B, T, dim];
 * one group for [S, dim]); the group size S must be static because the capacity C = ⌈factor·k·S/E⌉ is.
 * In training it records `moe_balance_loss` and `moe_z_loss` (added to the objective by the Trainer) and the metrics
 * `moe_load_cv` (coefficient of variation of the tokens routed per expert, before capacity) and `moe_dropped`
 * (fraction of token choices dropped at capacity).
 */
export class MoE extends Module {
  readonly router: Parameter;
  readonly w1: Parameter;
  readonly b1?: Parameter;
  readonly w2: Parameter;
  readonly b2?: Parameter;
  readonly experts: number;
  readonly topK: 1 | 2;
  readonly hidden: number;
  private readonly opts: Required<Omit<MoEOptions, 'hidden' | 'topK' | 'experts'>>;

  constructor(
    readonly dim: number,
    options: MoEOptions,
  ) {
    super();
    const { experts } = options;
    if (!Number.isInteger(experts) || experts < 2)
      throw new Error(`MoE: experts must be an integer >= 2, got ${experts}`);
    const topK = options.topK ?? 2;
    if (topK !== 1 && topK !== 2) throw new Error(`MoE: topK must be 1 or 2, got ${String(topK)}`);
    if (topK > experts) throw new Error(`MoE: topK (${topK}) exceeds experts (${experts})`);
    this.experts = experts;
    this.topK = topK;
    this.hidden = options.hidden ?? 4 * dim;
    this.opts = {
      capacityFactor: options.capacityFactor ?? 1.25,
      evalCapacityFactor: options.evalCapacityFactor ?? 2,
      balanceWeight: options.balanceWeight ?? 0.01,
      zLossWeight: options.zLossWeight ?? 0.001,
      normalizeGates: options.normalizeGates ?? true,
      bias: options.bias ?? true,
      routerStd: options.routerStd ?? 0.02,
    };
    for (const k of ['capacityFactor', 'evalCapacityFactor'] as const) {
      if (!(this.opts[k] > 0)) throw new Error(`MoE: ${k} must be > 0, got ${this.opts[k]}`);
    }
    const h = this.hidden;
    this.router = this.param([dim, experts], normal(this.opts.routerStd));
    // Each expert initialised as torch.nn.Linear would be: U(±1/√fan_in) for weights and biases.
    this.w1 = this.param([experts, dim, h], uniform(-1 / Math.sqrt(dim), 1 / Math.sqrt(dim)));
    this.w2 = this.param([experts, h, dim], uniform(-1 / Math.sqrt(h), 1 / Math.sqrt(h)));
    if (this.opts.bias) {
      this.b1 = this.param([experts, 1, h], uniform(-1 / Math.sqrt(dim), 1 / Math.sqrt(dim)));
      this.b2 = this.param([experts, 1, dim], zeros);
    }
  }

  /** Expert capacity C for groups of `groupSize` tokens. */
  capacity(groupSize: number, training = this.training): number {
    const f = training ? this.opts.capacityFactor : this.opts.evalCapacityFactor;
    return Math.max(1, Math.ceil((f * this.topK * groupSize) / this.experts));
  }

  /** Routes groups of tokens x [G, S, dim]: router probabilities, top-k choices, capacity, dispatch and combine. */
  route(x: Tensor): Routing {
    const [, S] = x.shape;
    if (typeof S !== 'number')
      throw new Error(`MoE: the group size (the dim before the features) must be static, got ${String(S)}`);
    const E = this.experts;
    const k = this.topK;
    const C = this.capacity(S);
    const logits = matmul(x, this.router.t); // [G, S, E]
    const probs = softmax(logits, -1);
    let [gates, experts] = topk(probs, k, -1); // [G, S, k]
    if (k > 1 && this.opts.normalizeGates) gates = div(gates, sum(gates, -1, true));
    const choice = stopGradient(cast(oneHot(experts, E), x.dtype)); // [G, S, k, E] (ORT's OneHot has no float64 kernel)
    // Priority: every token's first choice before any second choice, then by position (Switch/GShard).
    const byRank = reshape(transpose(choice, [0, 2, 1, 3]), [x.shape[0], k * S, E]); // [G, k·S, E]
    const position = sum(mul(sub(cumsum(byRank, 1), 1), byRank), -1); // [G, k·S]: slot index within the expert
    const keptByRank = cast(less(position, C), x.dtype); // [G, k·S]
    const slot = stopGradient(mul(cast(oneHot(cast(position, 'int64'), C), x.dtype), unsqueeze(keptByRank, -1))); // [G, k·S, C]
    const dispatchByRank = reshape(mul(unsqueeze(byRank, -1), unsqueeze(slot, -2)), [x.shape[0], k, S, E * C]);
    const gatesByRank = unsqueeze(transpose(gates, [0, 2, 1]), -1); // [G, k, S, 1]
    const dispatch = sum(dispatchByRank, 1); // [G, S, E·C]
    const combine = sum(mul(dispatchByRank, gatesByRank), 1);
    const kept = transpose(reshape(keptByRank, [x.shape[0], k, S]), [0, 2, 1]);
    this.recordAuxiliaries(logits, probs, choice, kept);
    return { probs, experts, gates, kept, dispatch, combine, capacity: C };
  }

  forward(x: Tensor): Tensor {
    const d = this.dim;
    if (x.shape[x.rank - 1] !== d)
      throw new Error(`MoE: expected features of size ${d} in the last dim, got [${x.shape.join(', ')}]`);
    if (x.rank < 2) throw new Error(`MoE: expects [..., tokens, ${d}], got [${x.shape.join(', ')}]`);
    // Groups: the leading dims. A symbolic token count (a prompt of any length at generation) makes every token its
    // own group, where each of its k choices always finds room.
    const S = x.shape[x.rank - 2];
    const grouped =
      typeof S !== 'number'
        ? reshape(x, [-1, 1, d])
        : x.rank === 2
          ? unsqueeze(x, 0)
          : x.rank === 3
            ? x
            : reshape(x, [-1, S, d]);
    const r = this.route(grouped);
    const E = this.experts;
    const C = r.capacity;
    // Expert inputs [G, E, C, d]: each slot holds one token (or zeros).
    const slots = reshape(matmul(transpose(r.dispatch, [0, 2, 1]), grouped), [grouped.shape[0], E, C, d]);
    let h = matmul(slots, this.w1.t); // [G, E, C, h] (batched over experts, broadcast over groups)
    if (this.b1) h = add(h, this.b1.t);
    let y = matmul(gelu(h), this.w2.t);
    if (this.b2) y = add(y, this.b2.t);
    const out = matmul(r.combine, reshape(y, [grouped.shape[0], E * C, d])); // [G, S, d]
    return grouped === x ? out : reshape(out, x.shape);
  }

  private recordAuxiliaries(logits: Tensor, probs: Tensor, choice: Tensor, kept: Tensor): void {
    const aux = traceContext().auxiliaries;
    if (!aux) return;
    const E = this.experts;
    const k = this.topK;
    // f[r, e]: fraction of tokens whose rank-r choice is expert e; P[e]: mean router probability of e.
    const f = mean(reshape(choice, [-1, k, E]), 0); // [k, E]
    const P = mean(reshape(probs, [-1, E]), 0); // [E]
    // Load balancing (Switch for k = 1; the top-k form of Mixtral's): E·Σ_r Σ_e f[r, e]·P[e], = k when balanced.
    if (this.opts.balanceWeight > 0)
      aux.addLoss('moe_balance_loss', mul(mul(sum(mul(f, P)), E), this.opts.balanceWeight));
    if (this.opts.zLossWeight > 0)
      aux.addLoss('moe_z_loss', mul(mean(square(logsumexp(logits, -1))), this.opts.zLossWeight));
    // Statistics: the share of choices each expert received (before capacity) and the fraction dropped at capacity.
    const load = sum(f, 0); // [E], sums to k
    const m = mean(load);
    aux.addMetric('moe_load_cv', div(sqrt(mean(square(sub(load, m)))), m));
    aux.addMetric('moe_dropped', sub(1, mean(kept)));
  }
}
