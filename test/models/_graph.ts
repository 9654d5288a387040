// A small planted-partition graph for CI: 3 communities of 20 nodes, dense inside (p 0.3), sparse across (p 0.02),
// and 12 bag-of-words features per node that only weakly point at the community, so the graph carries the signal.
export interface ToyGraph {
  num_nodes: number;
  num_features: number;
  num_classes: number;
  features: number[][];
  labels: number[];
  edges: [number, number][];
  train: number[];
  val: number[];
  test: number[];
}

export function toyGraph(seed = 1): ToyGraph {
  let s = seed >>> 0 || 1;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const n = 60;
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const features = labels.map((c) => {
    const f: number[] = [];
    for (let j = 0; j < 12; j++) if (r() < (Math.floor(j / 4) === c ? 0.35 : 0.2)) f.push(j);
    return f;
  });
  const edges: [number, number][] = [];
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) if (r() < (labels[a] === labels[b] ? 0.3 : 0.02)) edges.push([a, b]);
  const ids = Array.from({ length: n }, (_, i) => i);
  return {
    num_nodes: n,
    num_features: 12,
    num_classes: 3,
    features,
    labels,
    edges,
    train: ids.slice(0, 15),
    val: ids.slice(15, 30),
    test: ids.slice(30),
  };
}
