// Parameter importance: permutation importance on a small random forest fitted to (features, objective) rows (a
// permutation-based stand-in for fANOVA). A parameter is important when shuffling its column makes the forest's
// predictions of the objective much worse. Scores are normalized to sum to 1. One function for the tuner (`lathe tune`)
// and the tracking UI's study page, so both report the same numbers for the same study.
import { Rng } from './random.js';

interface Node {
  feature: number;
  threshold: number;
  left: Node | null;
  right: Node | null;
  value: number;
}

function buildTree(
  X: Float64Array[],
  y: Float64Array,
  rows: number[],
  depth: number,
  rng: Rng,
  maxDepth: number,
  minLeaf: number,
): Node {
  let mean = 0;
  for (const r of rows) mean += y[r];
  mean /= rows.length;
  const leaf: Node = { feature: -1, threshold: 0, left: null, right: null, value: mean };
  if (depth >= maxDepth || rows.length < 2 * minLeaf) return leaf;
  const d = X.length;
  const tryFeatures = rng.shuffle([...Array(d).keys()]).slice(0, Math.max(1, Math.ceil(d * 0.8)));
  let best = { gain: 0, feature: -1, threshold: 0 };
  let total = 0;
  let totalSq = 0;
  for (const r of rows) {
    total += y[r];
    totalSq += y[r] * y[r];
  }
  const baseSse = totalSq - (total * total) / rows.length;
  for (const f of tryFeatures) {
    const sorted = [...rows].sort((a, b) => X[f][a] - X[f][b]);
    let ls = 0;
    let lsq = 0;
    for (let i = 0; i < sorted.length - 1; i++) {
      const v = y[sorted[i]];
      ls += v;
      lsq += v * v;
      const nl = i + 1;
      const nr = sorted.length - nl;
      if (nl < minLeaf || nr < minLeaf || X[f][sorted[i]] === X[f][sorted[i + 1]]) continue;
      const rs = total - ls;
      const rsq = totalSq - lsq;
      const sse = lsq - (ls * ls) / nl + (rsq - (rs * rs) / nr);
      const gain = baseSse - sse;
      if (gain > best.gain) best = { gain, feature: f, threshold: (X[f][sorted[i]] + X[f][sorted[i + 1]]) / 2 };
    }
  }
  if (best.feature < 0) return leaf;
  const L = rows.filter((r) => X[best.feature][r] <= best.threshold);
  const R = rows.filter((r) => X[best.feature][r] > best.threshold);
  return {
    feature: best.feature,
    threshold: best.threshold,
    value: mean,
    left: buildTree(X, y, L, depth + 1, rng, maxDepth, minLeaf),
    right: buildTree(X, y, R, depth + 1, rng, maxDepth, minLeaf),
  };
}

function predict(n: Node, x: (f: number) => number): number {
  while (n.left && n.right) n = x(n.feature) <= n.threshold ? n.left : n.right;
  return n.value;
}

/** Options of {@link forestImportance}: RNG seed, number of trees and their depth. */
export interface ForestImportanceOptions {
  readonly seed?: number;
  readonly trees?: number;
  readonly maxDepth?: number;
}

/**
 * Importance of each feature column (`columns[j]` holds feature `names[j]` of every row; log-scaled parameters as
 * their logarithm, categoricals as their index) for the objective `y`, highest first. Rows in a fixed order (trial
 * number) give the same result every time.
 */
export function forestImportance(
  names: readonly string[],
  columns: readonly Float64Array[],
  y: Float64Array,
  opts: ForestImportanceOptions = {},
): { readonly param: string; readonly importance: number }[] {
  const X = columns as Float64Array[];
  const n = y.length;
  const rng = new Rng(opts.seed ?? 0);
  const forest: Node[] = [];
  for (let i = 0; i < (opts.trees ?? 32); i++) {
    const rows = Array.from({ length: n }, () => rng.int(n));
    forest.push(buildTree(X, y, rows, 0, rng, opts.maxDepth ?? 8, 2));
  }
  const mse = (col: number, perm: Int32Array | null): number => {
    let s = 0;
    for (let r = 0; r < n; r++) {
      let p = 0;
      for (const tree of forest) p += predict(tree, (f) => X[f][f === col && perm ? perm[r] : r]);
      const e = p / forest.length - y[r];
      s += e * e;
    }
    return s / n;
  };
  const base = mse(-1, null);
  const raw = names.map((_, j) => {
    let inc = 0;
    for (let rep = 0; rep < 5; rep++) inc += mse(j, Int32Array.from(rng.shuffle([...Array(n).keys()]))) - base;
    return Math.max(0, inc / 5);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  return names
    .map((param, j) => ({ param, importance: total > 0 ? raw[j] / total : 1 / names.length }))
    .sort((a, b) => b.importance - a.importance);
}
