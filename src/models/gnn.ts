// Graph neural networks for node classification, each two layers as in its paper: GCN (Kipf & Welling 2017), GAT
// (Veličković et al. 2018) and GraphSAGE (Hamilton et al. 2017). forward(x [N, F], src [E], dst [E]) → logits
// [N, classes]; trained full-batch on one graph with the loss and accuracy masked to a split (graphLoss,
// graphAccuracy; the batch of src/data/graph.ts carries the mask).
import { z } from 'zod';
import { cast, elu, equal, greater, mul, relu, div, where } from '../graph/ops/elementwise.js';
import { argmax, sum } from '../graph/ops/reduce.js';
import { scalar } from '../graph/ops/leaf.js';
import type { Tensor } from '../graph/tensor.js';
import { crossEntropy } from '../nn/losses.js';
import { GATConv, GCNConv, Module, SAGEConv } from '../nn/index.js';
import { registerModel, type ModelInput } from './registry.js';

/** The three inputs of every graph model: node features and the edge list (leading dims named for export). */
const graphInputs = (features: number): readonly ModelInput[] => [
  { name: 'x', dtype: 'float32', shape: [features], batchDim: 'nodes' },
  { name: 'src', dtype: 'int64', shape: [], batchDim: 'edges' },
  { name: 'dst', dtype: 'int64', shape: [], batchDim: 'edges' },
];

/** The batch keys a graph model reads, in forward order, and the name of each key's leading dim. */
export const GRAPH_INPUT_KEYS = ['x', 'src', 'dst'] as const;
/**
 * The name of each graph batch key's leading dim: per-node keys (x, y, mask) use 'nodes', the edge list (src, dst)
 * 'edges'.
 */
export const GRAPH_BATCH_DIMS: Readonly<Record<string, string>> = {
  x: 'nodes',
  y: 'nodes',
  mask: 'nodes',
  src: 'edges',
  dst: 'edges',
};

/** Cross-entropy over the nodes where mask [N] is 1 (the split being trained or scored). */
export function graphLoss(logits: Tensor, y: Tensor, mask: Tensor): Tensor {
  return crossEntropy(logits, where(greater(mask, 0), cast(y, 'int64'), scalar(-100, 'int64')));
}

/** Accuracy over the nodes where mask [N] is 1. */
export function graphAccuracy(logits: Tensor, y: Tensor, mask: Tensor): Tensor {
  const hit = cast(equal(argmax(logits, -1), cast(y, 'int64')), logits.dtype);
  return div(sum(mul(hit, mask)), sum(mask));
}

const common = {
  /** Input features per node (Cora: 1,433). */
  features: z.number().int().positive().default(1433),
  /** Output classes (Cora: 7). */
  classes: z.number().int().positive().default(7),
  /**
   * Treat the input features as sparse (bag of words): the first layer projects and drops out only their nonzero
   * entries — the same model, much faster on Cora (see GraphInputOptions in src/nn/layers/graph.ts).
   */
  sparseInput: z.boolean().default(true),
};

// ---- GCN ------------------------------------------------------------------------------------------------------

/**
 * Options of the registered 'gcn' model (zod schema, strict): features and classes (Cora: 1,433 and 7), hidden width
 * (default 16), dropout (default 0.5) and sparse input handling.
 */
export const gcnOptions = z
  .object({
    ...common,
    hidden: z.number().int().positive().default(16),
    /** Dropout on the input of each layer (paper: 0.5). */
    dropout: z.number().min(0).lt(1).default(0.5),
  })
  .strict();
/** Parsed options of {@link GCN} (every default filled in). */
export type GCNOptions = z.infer<typeof gcnOptions>;

/** dropout → GCNConv(F, hidden) → ReLU → dropout → GCNConv(hidden, classes) (each conv drops out its own input). */
export class GCN extends Module {
  readonly conv1: GCNConv;
  readonly conv2: GCNConv;
  constructor(o: GCNOptions) {
    super();
    this.conv1 = new GCNConv(o.features, o.hidden, { inputDropout: o.dropout, sparseInput: o.sparseInput });
    this.conv2 = new GCNConv(o.hidden, o.classes, { inputDropout: o.dropout });
  }
  /** Logits [N, classes] for node features x [N, F] (float32) over the edge list src, dst [E] (int64 node ids). */
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const h = relu(this.conv1.forward(x, src, dst)); // [N, hidden]
    return this.conv2.forward(h, src, dst); // [N, classes]
  }
}

registerModel({
  name: 'gcn',
  description:
    'graph convolutional network (Kipf & Welling): two GCNConv layers over an edge list, node classification',
  options: gcnOptions,
  inputShape: (o) => [o.features],
  inputs: (o) => graphInputs(o.features),
  create: (o) => new GCN(o),
});

// ---- GAT ------------------------------------------------------------------------------------------------------

/**
 * Options of the registered 'gat' model (zod schema, strict): features and classes, per-head width (default 8), heads
 * (default 8), output heads (default 1), input and attention dropout (default 0.6).
 */
export const gatOptions = z
  .object({
    ...common,
    /** Features per head in the first layer (paper: 8). */
    hidden: z.number().int().positive().default(8),
    /** Heads of the first layer, concatenated (paper: 8). */
    heads: z.number().int().positive().default(8),
    /** Heads of the output layer, averaged (paper: 1 on Cora). */
    outHeads: z.number().int().positive().default(1),
    /** Dropout on each layer's input (paper: 0.6). */
    dropout: z.number().min(0).lt(1).default(0.6),
    /** Dropout on the attention coefficients (paper: 0.6). */
    attnDropout: z.number().min(0).lt(1).default(0.6),
  })
  .strict();
/** Parsed options of {@link GAT} (every default filled in). */
export type GATOptions = z.infer<typeof gatOptions>;

/** dropout → GATConv(F, hidden × heads, concat) → ELU → dropout → GATConv(hidden·heads, classes × outHeads, mean). */
export class GAT extends Module {
  readonly conv1: GATConv;
  readonly conv2: GATConv;
  constructor(o: GATOptions) {
    super();
    this.conv1 = new GATConv(o.features, o.hidden, {
      heads: o.heads,
      dropout: o.attnDropout,
      inputDropout: o.dropout,
      sparseInput: o.sparseInput,
    });
    this.conv2 = new GATConv(o.hidden * o.heads, o.classes, {
      heads: o.outHeads,
      concat: false,
      dropout: o.attnDropout,
      inputDropout: o.dropout,
    });
  }
  /**
   * Logits [N, classes] for node features x [N, F] (float32) over the edge list src, dst [E] (int64 node ids); the
   * hidden layer is [N, heads·hidden].
   */
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const h = elu(this.conv1.forward(x, src, dst)); // [N, heads·hidden]
    return this.conv2.forward(h, src, dst); // [N, classes]
  }
}

registerModel({
  name: 'gat',
  description: 'graph attention network (Veličković et al.): two multi-head GATConv layers, node classification',
  options: gatOptions,
  inputShape: (o) => [o.features],
  inputs: (o) => graphInputs(o.features),
  create: (o) => new GAT(o),
});

// ---- GraphSAGE ------------------------------------------------------------------------------------------------

/**
 * Options of the registered 'graphsage' model (zod schema, strict): features and classes, hidden width (default 16),
 * dropout (default 0.5) and the aggregation (default 'mean').
 */
export const graphsageOptions = z
  .object({
    ...common,
    hidden: z.number().int().positive().default(16),
    dropout: z.number().min(0).lt(1).default(0.5),
    /** Neighbour aggregation: mean (GraphSAGE-mean) or elementwise max. */
    aggr: z.enum(['mean', 'max']).default('mean'),
  })
  .strict();
/** Parsed options of {@link GraphSAGE} (every default filled in). */
export type GraphSAGEOptions = z.infer<typeof graphsageOptions>;

/** dropout → SAGEConv(F, hidden) → ReLU → dropout → SAGEConv(hidden, classes). */
export class GraphSAGE extends Module {
  readonly conv1: SAGEConv;
  readonly conv2: SAGEConv;
  constructor(o: GraphSAGEOptions) {
    super();
    this.conv1 = new SAGEConv(o.features, o.hidden, {
      aggr: o.aggr,
      inputDropout: o.dropout,
      sparseInput: o.sparseInput && o.aggr === 'mean',
    });
    this.conv2 = new SAGEConv(o.hidden, o.classes, { aggr: o.aggr, inputDropout: o.dropout });
  }
  /** Logits [N, classes] for node features x [N, F] (float32) over the edge list src, dst [E] (int64 node ids). */
  forward(x: Tensor, src: Tensor, dst: Tensor): Tensor {
    const h = relu(this.conv1.forward(x, src, dst)); // [N, hidden]
    return this.conv2.forward(h, src, dst); // [N, classes]
  }
}

registerModel({
  name: 'graphsage',
  description: 'GraphSAGE (Hamilton et al.): two SAGEConv layers with mean or max aggregation, node classification',
  options: graphsageOptions,
  inputShape: (o) => [o.features],
  inputs: (o) => graphInputs(o.features),
  create: (o) => new GraphSAGE(o),
});
