import type { Node, Tensor } from './tensor.js';

/** Nodes reaching `roots`, in creation order. */
export function reachable(roots: readonly Tensor[]): Node[] {
  const seen = new Map<number, Node>();
  const stack = roots.map((t) => t.node);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.id)) continue;
    seen.set(n.id, n);
    for (const x of n.inputs) stack.push(x.node);
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}
