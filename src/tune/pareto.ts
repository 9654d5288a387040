// Pareto dominance, non-dominated sorting and crowding distance (shared by NSGA-II and the analysis).
import type { Direction, FrozenTrial } from './types.js';

/** Whether a dominates b (all objectives no worse, one strictly better), values already in minimize form. */
function dominates(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  let strictly = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) strictly = true;
  }
  return strictly;
}

/** Objective values turned into minimize form. */
export function minimized(t: FrozenTrial, directions: readonly Direction[]): number[] {
  return t.values!.map((v, i) => (directions[i] === 'minimize' ? v : -v));
}

/** Fronts of points (indices), best first (fast non-dominated sort, O(M N^2)). */
export function nonDominatedSort(points: readonly (readonly number[])[]): number[][] {
  const n = points.length;
  const dominatedBy = new Int32Array(n);
  const dominatesList: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (dominates(points[i], points[j])) {
        dominatesList[i].push(j);
        dominatedBy[j]++;
      } else if (dominates(points[j], points[i])) {
        dominatesList[j].push(i);
        dominatedBy[i]++;
      }
    }
  }
  const fronts: number[][] = [];
  let current = [...Array(n).keys()].filter((i) => dominatedBy[i] === 0);
  while (current.length) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) for (const j of dominatesList[i]) if (--dominatedBy[j] === 0) next.push(j);
    current = next;
  }
  return fronts;
}

/** Crowding distance of each point of one front (boundary points get Infinity). */
export function crowdingDistance(points: readonly (readonly number[])[]): number[] {
  const n = points.length;
  const dist = new Array<number>(n).fill(0);
  if (n <= 2) return dist.fill(Infinity);
  const m = points[0].length;
  for (let k = 0; k < m; k++) {
    const order = [...Array(n).keys()].sort((a, b) => points[a][k] - points[b][k]);
    const lo = points[order[0]][k];
    const hi = points[order[n - 1]][k];
    dist[order[0]] = dist[order[n - 1]] = Infinity;
    if (hi === lo) continue;
    for (let i = 1; i < n - 1; i++) dist[order[i]] += (points[order[i + 1]][k] - points[order[i - 1]][k]) / (hi - lo);
  }
  return dist;
}

/** The non-dominated COMPLETE trials, in trial-number order. */
export function paretoFront(trials: readonly FrozenTrial[], directions: readonly Direction[]): FrozenTrial[] {
  const done = trials.filter((t) => t.state === 'COMPLETE' && t.values && t.values.length === directions.length);
  const pts = done.map((t) => minimized(t, directions));
  const front = done.filter((_, i) => !pts.some((p, j) => j !== i && dominates(p, pts[i])));
  return front.sort((a, b) => a.number - b.number);
}
