// Graph datasets for full-batch node classification: node features, labels, an edge list and split masks, read
// from JSON (the Planetoid/Cora layout of data/cora/README.md) or from two CSV files (nodes, edges). A GraphLoader
// yields the whole graph as one batch { x, src, dst, y, mask } with the mask of one split, so the Trainer's
// steps, evaluation and checkpoints work unchanged (each epoch is one full-graph step).
import { readFileSync } from 'node:fs';
import { ndarray, type NDArray } from '../graph/ndarray.js';
import type { BatchLoader } from './array-loader.js';
import { parseCsvRows } from './readers/csv.js';
import type { Batch } from './tensor.js';

/** A node split of a graph dataset: training, validation or test nodes. */
export type GraphSplit = 'train' | 'val' | 'test';

/** One graph with node-level labels and a fixed split. */
export interface GraphDataset {
  readonly name: string;
  /** Node features [N, F]. */
  readonly x: NDArray<'float32'>;
  /** Class of every node [N] (int64). */
  readonly y: NDArray<'int64'>;
  /** Directed edges src[e] → dst[e] (int64 [E]); an undirected graph lists both directions. */
  readonly src: NDArray<'int64'>;
  readonly dst: NDArray<'int64'>;
  /** Node ids of each split. */
  readonly splits: Readonly<Record<GraphSplit, readonly number[]>>;
  readonly numClasses: number;
  readonly source: string;
}

/** Options for reading a graph dataset from JSON or CSV. */
export interface GraphReadOptions {
  /** Add the reverse of every edge (dropping duplicates and self loops); default true. */
  readonly undirected?: boolean;
  /** Scale every feature row to sum 1 (Kipf & Welling's preprocessing of Cora); default false. */
  readonly normalizeFeatures?: boolean;
}

const fail = (source: string, msg: string): never => {
  throw new Error(`${source}: ${msg}`);
};

function checkId(source: string, what: string, v: unknown, n: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n)
    fail(source, `${what} must be a node id in [0, ${n}), got ${JSON.stringify(v)}`);
  return v as number;
}

/** Builds the dataset from checked parts: edge list clean-up, optional symmetrisation and row normalisation. */
function assemble(
  name: string,
  source: string,
  x: Float32Array,
  n: number,
  f: number,
  labels: readonly number[],
  edges: readonly (readonly [number, number])[],
  splits: Record<GraphSplit, number[]>,
  opts: GraphReadOptions,
): GraphDataset {
  const seen = new Set<number>();
  const src: number[] = [];
  const dst: number[] = [];
  const push = (a: number, b: number) => {
    const k = a * n + b;
    if (seen.has(k)) return;
    seen.add(k);
    src.push(a);
    dst.push(b);
  };
  const undirected = opts.undirected ?? true;
  for (const [a, b] of edges) {
    if (undirected && a === b) continue; // layers add their own self loops
    push(a, b);
    if (undirected) push(b, a);
  }
  if (opts.normalizeFeatures) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < f; j++) s += x[i * f + j];
      if (s !== 0) for (let j = 0; j < f; j++) x[i * f + j] /= s;
    }
  }
  const numClasses = labels.reduce((m, c) => Math.max(m, c + 1), 0);
  return {
    name,
    source,
    numClasses,
    splits,
    x: ndarray('float32', [n, f], x),
    y: ndarray('int64', [n], labels),
    src: ndarray('int64', [src.length], src),
    dst: ndarray('int64', [dst.length], dst),
  };
}

/**
 * Reads a graph from JSON: `num_nodes`, `num_features`, `features` (per node the indices of its nonzero binary
 * features, or with `"feature_format": "dense"` a row of `num_features` numbers), `labels` (class ids), `edges` ([a, b] pairs) and the
 * node ids of `train`, `val` and `test` — the layout of data/cora/cora.json. Errors name the file and the field.
 */
export function readGraphJson(path: string, opts: GraphReadOptions = {}): GraphDataset {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${path}: not a readable JSON graph: ${(err as Error).message}`);
  }
  const n = raw.num_nodes;
  const f = raw.num_features;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    fail(path, `num_nodes must be a positive integer, got ${JSON.stringify(n)}`);
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 1)
    fail(path, `num_features must be a positive integer, got ${JSON.stringify(f)}`);
  const N = n as number;
  const F = f as number;
  const feats = raw.features;
  if (!Array.isArray(feats) || feats.length !== N) fail(path, `features must be an array of ${N} rows`);
  const x = new Float32Array(N * F);
  const dense = raw.feature_format === 'dense';
  if (raw.feature_format !== undefined && !dense && raw.feature_format !== 'indices')
    fail(path, `feature_format must be "indices" or "dense", got ${JSON.stringify(raw.feature_format)}`);
  (feats as unknown[]).forEach((row, i) => {
    if (!Array.isArray(row)) fail(path, `features[${i}] must be an array`);
    const r = row as unknown[];
    if (dense) {
      if (r.length !== F) fail(path, `features[${i}] must have ${F} numbers (feature_format "dense"), got ${r.length}`);
      r.forEach(
        (v, j) => (x[i * F + j] = typeof v === 'number' ? v : fail(path, `features[${i}][${j}] must be a number`)),
      );
    } else r.forEach((v, k) => (x[i * F + checkId(path, `features[${i}][${k}]`, v, F)] = 1));
  });
  const labels = raw.labels;
  if (!Array.isArray(labels) || labels.length !== N) fail(path, `labels must be an array of ${N} class ids`);
  (labels as unknown[]).forEach((c, i) => {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0)
      fail(path, `labels[${i}] must be a class id ≥ 0, got ${JSON.stringify(c)}`);
  });
  const edges = raw.edges;
  if (!Array.isArray(edges)) fail(path, 'edges must be an array of [source, target] pairs');
  const pairs = (edges as unknown[]).map((e, k): [number, number] => {
    if (!Array.isArray(e) || e.length !== 2) fail(path, `edges[${k}] must be a [source, target] pair`);
    const [a, b] = e as unknown[];
    return [checkId(path, `edges[${k}][0]`, a, N), checkId(path, `edges[${k}][1]`, b, N)];
  });
  const splits = {} as Record<GraphSplit, number[]>;
  for (const s of ['train', 'val', 'test'] as const) {
    const ids = raw[s];
    if (!Array.isArray(ids)) fail(path, `${s} must be an array of node ids`);
    splits[s] = (ids as unknown[]).map((v, k) => checkId(path, `${s}[${k}]`, v, N));
  }
  const name = typeof raw.name === 'string' ? raw.name : 'graph';
  return assemble(name, path, x, N, F, labels as number[], pairs, splits, opts);
}

/**
 * Reads a graph from two CSV files with header rows. Nodes: columns `id`, `label`, `split` (train, val, test or
 * empty) and then one numeric column per feature; ids may be any strings. Edges: the first two columns are the
 * source and target node ids.
 */
export function readGraphCsv(
  paths: { readonly nodes: string; readonly edges: string },
  opts: GraphReadOptions = {},
): GraphDataset {
  const rows = parseCsvRows(readFileSync(paths.nodes, 'utf8'), ',', paths.nodes);
  if (rows.length < 2) fail(paths.nodes, 'needs a header row and at least one node');
  const header = rows[0].fields.map((h) => h.trim());
  const col = (name: string) => {
    const i = header.indexOf(name);
    return i >= 0 ? i : fail(paths.nodes, `no "${name}" column (header: ${header.join(', ')})`);
  };
  const [ci, cl, cs] = [col('id'), col('label'), col('split')];
  const featCols = header.map((_, i) => i).filter((i) => i !== ci && i !== cl && i !== cs);
  const body = rows.slice(1);
  const N = body.length;
  const F = featCols.length;
  if (F === 0) fail(paths.nodes, 'no feature columns (every column other than id, label and split is a feature)');
  const index = new Map<string, number>();
  const x = new Float32Array(N * F);
  const labels: number[] = [];
  const splits: Record<GraphSplit, number[]> = { train: [], val: [], test: [] };
  body.forEach(({ fields, line }, i) => {
    const id = fields[ci]?.trim() ?? '';
    if (index.has(id)) fail(paths.nodes, `line ${line}: node id "${id}" appears twice`);
    index.set(id, i);
    const c = Number(fields[cl]);
    if (!Number.isInteger(c) || c < 0)
      fail(paths.nodes, `line ${line}: label must be a class id ≥ 0, got "${fields[cl]}"`);
    labels.push(c);
    const s = (fields[cs] ?? '').trim();
    if (s === 'train' || s === 'val' || s === 'test') splits[s].push(i);
    else if (s !== '') fail(paths.nodes, `line ${line}: split must be train, val, test or empty, got "${s}"`);
    featCols.forEach((j, k) => {
      const v = Number(fields[j]);
      if (!Number.isFinite(v))
        fail(paths.nodes, `line ${line}: column ${header[j]} must be a number, got "${fields[j]}"`);
      x[i * F + k] = v;
    });
  });
  const erows = parseCsvRows(readFileSync(paths.edges, 'utf8'), ',', paths.edges).slice(1);
  const pairs = erows.map(({ fields, line }): [number, number] => {
    const end = (k: number) => {
      const id = (fields[k] ?? '').trim();
      const v = index.get(id);
      return v ?? fail(paths.edges, `line ${line}: unknown node id "${id}" (not in ${paths.nodes})`);
    };
    return [end(0), end(1)];
  });
  return assemble('graph', `${paths.nodes} + ${paths.edges}`, x, N, F, labels, pairs, splits, opts);
}

/** A float32 [N] mask: 1 on the nodes of `split`. */
export function splitMask(g: GraphDataset, split: GraphSplit): NDArray<'float32'> {
  const m = new Float32Array(g.x.shape[0]);
  for (const i of g.splits[split]) m[i] = 1;
  return ndarray('float32', [m.length], m);
}

/** The whole graph as one batch: x [N, F], src / dst [E], y [N] and the float mask [N] of one split. */
export function graphBatch(g: GraphDataset, split: GraphSplit): Batch {
  return { x: g.x, src: g.src, dst: g.dst, y: g.y, mask: splitMask(g, split) };
}

/** Full-batch loader: one batch per epoch, the whole graph with one split's mask. `size` counts the split's nodes. */
export class GraphLoader implements BatchLoader {
  readonly length = 1;
  readonly size: number;
  private readonly batch: Batch;
  constructor(
    readonly graph: GraphDataset,
    readonly split: GraphSplit,
  ) {
    this.batch = graphBatch(graph, split);
    this.size = graph.splits[split].length;
  }
  /** Yields the one full-graph batch of every epoch (nothing when `fromBatch` ≥ 1); `epoch` does not change it. */
  async *iterate(_epoch: number, fromBatch = 0): AsyncIterable<Batch> {
    if (fromBatch < 1) yield this.batch;
  }
}
