// Graph convolutions over an edge list: GCNConv (Kipf & Welling 2017), GATConv (Veličković et al. 2018) and
// SAGEConv (Hamilton et al. 2017). Every layer takes node features x [N, in] and the edges as two int64 id lists
// src [E] and dst [E] (messages flow src → dst; an undirected graph lists both directions), and aggregates over the
// in-edges of each node with the segment ops of src/graph/ops/segment.ts. Parameters, initialisation and
// conventions follow PyTorch Geometric's layers of the same names (checked against a plain-torch reference in
// test/nn/graph.test.ts).
import { add, cast, div, greater, leakyRelu, mul, rsqrt, maximum, sub } from '../../graph/ops/elementwise.js';
import { scalar } from '../../graph/ops/leaf.js';
import { formatShape } from '../../graph/shape.js';
import { linear } from '../../graph/ops/linalg.js';
import { concat, onesLike, reshape, sliceAxis, transpose, unsqueeze } from '../../graph/ops/movement.js';
import { mean, sum } from '../../graph/ops/reduce.js';
import {
  addSelfLoops,
  gatherRows,
  nonzeroFlat,
  segmentMax,
  segmentMean,
  segmentSoftmax,
  segmentSum,
} from '../../graph/ops/segment.js';
import type { Tensor } from '../../graph/tensor.js';
import { biasUniform, kaimingUniform, xavierUniform, zeros } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { Dropout } from './simple.js';

/** Input options every graph convolution takes. */
export interface GraphInputOptions {
  /** Dropout on the layer's input features in training (default 0). */
  readonly inputDropout?: number;
  /**
   * The input is sparse (bag-of-words features: Cora's are 1.3 % nonzero): project only its nonzero entries,
   * x·Wᵀ = Σ over nonzeros x[i, j]·W[:, j] as a gather and a segment sum, and apply the input dropout to those
   * entries alone. The same numbers and the same dropout distribution as the dense path (dropping a zero changes
   * nothing), without a dense [N, F] mask: at Cora's size the in-graph hash RNG over 3.9 M entries dominated the
   * training step (about 1 s of a 1.1 s step under load, against 78 ms without input dropout).
   */
  readonly sparseInput?: boolean;
}

/** x·Wᵀ with the layer's input dropout, dense or over the nonzeros of x (see GraphInputOptions.sparseInput). */
function projectInput(x: Tensor, weight: Tensor, drop: Dropout, sparse: boolean): Tensor {
  if (!sparse) return linear(drop.forward(x), weight);
  const f = x.shape[1];
  if (x.rank !== 2 || typeof f !== 'number')
    throw new Error(`sparseInput: x must be [N, F] with a static F, got ${formatShape(x.shape)}`);
  const flat = nonzeroFlat(x); // [nnz] row-major positions
  const row = div(flat, scalar(f, 'int64')); // [nnz] node ids
  const col = sub(flat, mul(row, scalar(f, 'int64'))); // [nnz] feature ids
  const v = drop.forward(gatherRows(reshape(x, [-1]), flat)); // [nnz] kept values, scaled
  return segmentSum(mul(gatherRows(transpose(weight), col), unsqueeze(v, 1)), row, x); // [N, out]
}

/**
 * Graph convolution: x' = D̂^-1/2 Â D̂^-1/2 x Wᵀ + b with Â = A + I (self loops added here) and D̂ its in-degrees,
 * i.e. out[i] = Σ_{j → i} x[j] Wᵀ / √(deg i · deg j). Weight [out, in] Glorot-uniform, bias zeros.
 */
export class GCNConv extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  readonly inputDrop: Dropout;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly opts: GraphInputOptions & { bias?: boolean; selfLoops?: boolean } = {},
  ) {
    super();
    this.weight = this.param([outFeatures, inFeatures], xavierUniform());
    if (opts.bias ?? true) this.bias = this.param([outFeatures], zeros);
    this.inputDrop = new Dropout(opts.inputDropout ?? 0);
  }
  /**
   * Aggregates node features x [N, inFeatures] over the edges src → dst (int64 [E] each; list both directions for
   * an undirected graph) with symmetric degree normalisation, giving [N, outFeatures].
   */
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const [s, d] = (this.opts.selfLoops ?? true) ? addSelfLoops(src, dst, x) : [src, dst];
    const h = projectInput(x, this.weight.t, this.inputDrop, this.opts.sparseInput ?? false); // [N, out]: transform, then propagate
    const deg = segmentSum(onesLike(cast(d, x.dtype)), d, x); // [N] in-degree (with the self loop)
    const dinv = mul(rsqrt(maximum(deg, 1)), cast(greater(deg, 0), x.dtype)); // 0 for a node with no in-edges
    const norm = mul(gatherRows(dinv, s), gatherRows(dinv, d)); // [E]
    const out = segmentSum(mul(gatherRows(h, s), unsqueeze(norm, 1)), d, x); // [N, out]
    return this.bias ? add(out, this.bias.t) : out;
  }
}

/** Options of {@link GATConv}, on top of the input options every graph convolution takes. */
export interface GATConvOptions extends GraphInputOptions {
  /** Attention heads (default 1). */
  readonly heads?: number;
  /** Concatenate the heads' outputs [N, heads·out] (default) or average them [N, out] (GAT's output layer). */
  readonly concat?: boolean;
  /** Slope of the LeakyReLU on attention logits (default 0.2). */
  readonly negativeSlope?: number;
  /** Dropout on the normalised attention coefficients in training (default 0). */
  readonly dropout?: number;
  /** Learn a bias added after the heads are combined (default true). */
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
  readonly inputDrop: Dropout;
  readonly heads: number;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly opts: GATConvOptions = {},
  ) {
    super();
    const h = (this.heads = opts.heads ?? 1);
    this.weight = this.param([h * outFeatures, inFeatures], xavierUniform());
    this.attSrc = this.param([h, outFeatures], xavierUniform());
    this.attDst = this.param([h, outFeatures], xavierUniform());
    if (opts.bias ?? true) this.bias = this.param([(opts.concat ?? true) ? h * outFeatures : outFeatures], zeros);
    this.attnDropout = new Dropout(opts.dropout ?? 0);
    this.inputDrop = new Dropout(opts.inputDropout ?? 0);
  }
  /**
   * Attends over each node's in-edges src → dst (int64 [E] each) of x [N, inFeatures], giving [N, heads·outFeatures]
   * with `concat` (the default) or [N, outFeatures] with the heads averaged.
   */
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const [s, d] = (this.opts.selfLoops ?? true) ? addSelfLoops(src, dst, x) : [src, dst];
    const H = this.heads;
    const C = this.outFeatures;
    const h = reshape(projectInput(x, this.weight.t, this.inputDrop, this.opts.sparseInput ?? false), [-1, H, C]); // [N, H, C]
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
  readonly inputDrop: Dropout;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly opts: GraphInputOptions & { aggr?: 'mean' | 'max'; bias?: boolean } = {},
  ) {
    super();
    this.aggr = opts.aggr ?? 'mean';
    this.inputDrop = new Dropout(opts.inputDropout ?? 0);
    if (this.aggr === 'max' && opts.sparseInput)
      throw new Error('SAGEConv: sparseInput needs the mean aggregator (max aggregates the raw features)');
    this.weight = this.param([outFeatures, inFeatures], kaimingUniform(Math.sqrt(5)));
    if (opts.bias ?? true) this.bias = this.param([outFeatures], biasUniform(inFeatures));
    this.rootWeight = this.param([outFeatures, inFeatures], kaimingUniform(Math.sqrt(5)));
  }
  /**
   * Combines each node's own features with the mean (or max) of its in-neighbours' over the edges src → dst
   * (int64 [E] each): x [N, inFeatures] → [N, outFeatures]; a node with no in-edges aggregates 0.
   */
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const C = this.outFeatures;
    let neigh: Tensor;
    let root: Tensor;
    if (this.aggr === 'mean') {
      // both projections of the same (dropped-out) input in one: [N, 2·out] = x·[W_l; W_r]ᵀ
      const both = projectInput(
        x,
        concat([this.weight.t, this.rootWeight.t], 0),
        this.inputDrop,
        this.opts.sparseInput ?? false,
      );
      neigh = segmentMean(gatherRows(sliceAxis(both, 1, 0, C), src), dst, x); // [N, out]
      root = sliceAxis(both, 1, C, 2 * C); // [N, out]
    } else {
      const xd = this.inputDrop.forward(x);
      neigh = linear(segmentMax(gatherRows(xd, src), dst, x), this.weight.t); // [N, in] → [N, out]
      root = linear(xd, this.rootWeight.t);
    }
    const out = add(neigh, root);
    return this.bias ? add(out, this.bias.t) : out;
  }
}
