// Graph convolutions over an edge list: GCNConv (Kipf & Welling 2017), GATConv (Veličković et al. 2018) and
// SAGEConv (Hamilton et al. 2017). Every layer takes node features x [N, in] and the edges as two int64 id lists
// src [E] and dst [E] (messages flow src → dst; an undirected graph lists both directions), and aggregates over the
// in-edges of each node with the segment ops of src/graph/ops/segment.ts. Parameters, initialisation and
// conventions follow PyTorch Geometric's layers of the same names (checked against a plain-torch reference in
// test/nn/graph.test.ts).
import { add, cast, greater, leakyRelu, mul, rsqrt, maximum } from '../../graph/ops/elementwise.js';
import { linear } from '../../graph/ops/linalg.js';
import { onesLike, reshape, unsqueeze } from '../../graph/ops/movement.js';
import { mean, sum } from '../../graph/ops/reduce.js';
import { addSelfLoops, gatherRows, segmentMax, segmentMean, segmentSoftmax, segmentSum } from '../../graph/ops/segment.js';
import type { Tensor } from '../../graph/tensor.js';
import { biasUniform, kaimingUniform, xavierUniform, zeros } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { Dropout } from './simple.js';

/**
 * Graph convolution: x' = D̂^-1/2 Â D̂^-1/2 x Wᵀ + b with Â = A + I (self loops added here) and D̂ its in-degrees,
 * i.e. out[i] = Σ_{j → i} x[j] Wᵀ / √(deg i · deg j). Weight [out, in] Glorot-uniform, bias zeros.
 */
export class GCNConv extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly opts: { bias?: boolean; selfLoops?: boolean } = {}) {
    super();
    this.weight = this.param([outFeatures, inFeatures], xavierUniform());
    if (opts.bias ?? true) this.bias = this.param([outFeatures], zeros);
  }
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const [s, d] = (this.opts.selfLoops ?? true) ? addSelfLoops(src, dst, x) : [src, dst];
    const h = linear(x, this.weight.t); // [N, out]: transform first, then propagate the narrower features
    const deg = segmentSum(onesLike(cast(d, x.dtype)), d, x); // [N] in-degree (with the self loop)
    const dinv = mul(rsqrt(maximum(deg, 1)), cast(greater(deg, 0), x.dtype)); // 0 for a node with no in-edges
    const norm = mul(gatherRows(dinv, s), gatherRows(dinv, d)); // [E]
    const out = segmentSum(mul(gatherRows(h, s), unsqueeze(norm, 1)), d, x); // [N, out]
    return this.bias ? add(out, this.bias.t) : out;
  }
}

export interface GATConvOptions {
  /** Attention heads (default 1). */
  readonly heads?: number;
  /** Concatenate the heads' outputs [N, heads·out] (default) or average them [N, out] (GAT's output layer). */
  readonly concat?: boolean;
  /** Slope of the LeakyReLU on attention logits (default 0.2). */
  readonly negativeSlope?: number;
  /** Dropout on the normalised attention coefficients in training (default 0). */
  readonly dropout?: number;
  readonly bias?: boolean;
  /** Attend to self loops added here (default true). */
  readonly selfLoops?: boolean;
}

/**
 * Graph attention: h = x Wᵀ split into heads [N, H, C]; e_ij = LeakyReLU(a_srcᵀ h_j + a_dstᵀ h_i) for each edge
 * j → i; α = softmax of e over the in-edges of i (then dropout); out[i] = Σ_j α_ij h_j, heads concatenated or
 * averaged, plus bias. Weight [H·C, in] and attention vectors [H, C] Glorot-uniform, bias zeros.
 */
export class GATConv extends Module {
  readonly weight: Parameter;
  readonly attSrc: Parameter;
  readonly attDst: Parameter;
  readonly bias?: Parameter;
  readonly attnDropout: Dropout;
  readonly heads: number;
  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly opts: GATConvOptions = {}) {
    super();
    const h = (this.heads = opts.heads ?? 1);
    this.weight = this.param([h * outFeatures, inFeatures], xavierUniform());
    this.attSrc = this.param([h, outFeatures], xavierUniform());
    this.attDst = this.param([h, outFeatures], xavierUniform());
    if (opts.bias ?? true) this.bias = this.param([(opts.concat ?? true) ? h * outFeatures : outFeatures], zeros);
    this.attnDropout = new Dropout(opts.dropout ?? 0);
  }
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const [s, d] = (this.opts.selfLoops ?? true) ? addSelfLoops(src, dst, x) : [src, dst];
    const H = this.heads;
    const C = this.outFeatures;
    const h = reshape(linear(x, this.weight.t), [-1, H, C]); // [N, H, C]
    const aSrc = sum(mul(h, this.attSrc.t), -1); // [N, H]
    const aDst = sum(mul(h, this.attDst.t), -1); // [N, H]
    const e = leakyRelu(add(gatherRows(aSrc, s), gatherRows(aDst, d)), this.opts.negativeSlope ?? 0.2); // [E, H]
    const alpha = this.attnDropout.forward(segmentSoftmax(e, d, x)); // [E, H]
    const out = segmentSum(mul(gatherRows(h, s), unsqueeze(alpha, -1)), d, x); // [N, H, C]
    const y = (this.opts.concat ?? true) ? reshape(out, [-1, H * C]) : mean(out, 1); // [N, H·C] or [N, C]
    return this.bias ? add(y, this.bias.t) : y;
  }
}

/**
 * GraphSAGE: out[i] = W_l · aggr_{j → i} x[j] + b + W_r · x[i] with aggr the mean or the elementwise max over the
 * in-neighbours (0 for a node with none). W_l, b and W_r initialised as torch.nn.Linear. For the mean the projection
 * is applied before aggregating (the same numbers: a mean of projections is the projection of the mean), so the
 * gathered messages are [E, out] rather than [E, in]; the max aggregates the raw features, as PyG's SAGEConv.
 */
export class SAGEConv extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  readonly rootWeight: Parameter;
  readonly aggr: 'mean' | 'max';
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { aggr?: 'mean' | 'max'; bias?: boolean } = {}) {
    super();
    this.aggr = opts.aggr ?? 'mean';
    this.weight = this.param([outFeatures, inFeatures], kaimingUniform(Math.sqrt(5)));
    if (opts.bias ?? true) this.bias = this.param([outFeatures], biasUniform(inFeatures));
    this.rootWeight = this.param([outFeatures, inFeatures], kaimingUniform(Math.sqrt(5)));
  }
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const neigh =
      this.aggr === 'mean'
        ? segmentMean(gatherRows(linear(x, this.weight.t), src), dst, x) // [N, out]
        : linear(segmentMax(gatherRows(x, src), dst, x), this.weight.t); // [N, in] → [N, out]
    const out = add(neigh, linear(x, this.rootWeight.t));
    return this.bias ? add(out, this.bias.t) : out;
  }
}
