// Graph datasets in training configs: `data.name: cora` (the copy shipped in data/cora, or data.root) or
// `data.name: graph` with `data.graph` naming a JSON file or a nodes + edges CSV pair. Graph models train
// full-batch: every epoch is one step over the whole graph with the loss and accuracy masked to a split.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readGraphCsv, readGraphJson, type GraphDataset } from '../data/graph.js';
import { GRAPH_BATCH_DIMS, GRAPH_INPUT_KEYS, graphAccuracy, graphLoss } from '../models/gnn.js';
import { packageRoot } from '../util/package-root.js';
import type { TrainerConfig } from './trainer.js';

/**
 * The `data.graph` section of a training config: a JSON graph file or a nodes/edges CSV pair, and the preprocessing
 * (undirected edges and row-normalised features, both on by default).
 */
export const graphDataOptions = z
  .object({
    /** A JSON graph (the layout of data/cora/README.md). */
    path: z.string().optional(),
    /** Or two CSV files: nodes (id, label, split, features...) and edges (source, target). */
    nodes: z.string().optional(),
    edges: z.string().optional(),
    /** Add the reverse of every edge (default true). */
    undirected: z.boolean().default(true),
    /** Scale feature rows to sum 1, as Kipf & Welling preprocess Cora (default true). */
    normalizeFeatures: z.boolean().default(true),
  })
  .strict();
/** A validated `data.graph` section (see {@link graphDataOptions}). */
export type GraphDataOptions = z.infer<typeof graphDataOptions>;

const GRAPH_DATASETS = ['cora', 'graph'] as const;
/** Whether a config's `data.name` is a graph dataset ('cora' or 'graph'), trained full-batch. */
export const isGraphData = (name: string): boolean => (GRAPH_DATASETS as readonly string[]).includes(name);

/** The cora.json shipped with lathe (data/cora, MIT, from tkipf/gcn). */
export const CORA_DIR = (): string => join(packageRoot(), 'data', 'cora');

/** Reads the graph a config's `data` section names; errors name the field. */
export function loadGraphData(data: {
  readonly name: string;
  readonly root?: string;
  readonly graph?: GraphDataOptions;
}): GraphDataset {
  const o = graphDataOptions.parse(data.graph ?? {});
  const opts = { undirected: o.undirected, normalizeFeatures: o.normalizeFeatures };
  if (data.name === 'cora') {
    const path = o.path ?? join(data.root ?? CORA_DIR(), 'cora.json');
    if (!existsSync(path))
      throw new Error(
        `data.root: ${path} not found (Cora ships in the repository's data/cora; pass data.root or data.graph.path)`,
      );
    return readGraphJson(path, opts);
  }
  if (o.path) return readGraphJson(o.path, opts);
  if (o.nodes && o.edges) return readGraphCsv({ nodes: o.nodes, edges: o.edges }, opts);
  throw new Error('data.graph: give path (a JSON graph) or nodes and edges (two CSV files) for data.name "graph"');
}

/** How the Trainer feeds a graph batch to a graph model: its input keys, leading dims, masked loss and accuracy. */
export function graphTrainerConfig(): Pick<TrainerConfig, 'inputKeys' | 'batchDims' | 'loss' | 'metrics'> {
  return {
    inputKeys: GRAPH_INPUT_KEYS,
    batchDims: GRAPH_BATCH_DIMS,
    loss: (o, b) => graphLoss(o, b.y, b.mask),
    metrics: { accuracy: (o, b) => graphAccuracy(o, b.y, b.mask) },
  };
}
