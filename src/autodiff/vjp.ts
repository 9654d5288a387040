// Reverse-mode differentiation over recorded graphs. The engine (not each rule) sums broadcast gradients back
// to their source's shape, checks the count of returned gradients and accumulates fan-out.
import { isFloat } from '../graph/dtype.js';
import { add, cast } from '../graph/ops/elementwise.js';
import { onesLike, squeeze, zerosLike } from '../graph/ops/movement.js';
import { sum } from '../graph/ops/reduce.js';
import { formatShape, sameShape, type Shape } from '../graph/shape.js';
import type { Tensor, Node } from '../graph/tensor.js';
import { reachable } from '../graph/traverse.js';

const key = (t: Tensor): string => `${t.node.id}:${t.index}`;

/** Sums a broadcast gradient back to `shape` (the engine's job, so no rule repeats it). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0)
    throw new Error(`autodiff: gradient ${formatShape(g.shape)} has fewer dims than its input ${formatShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  // only leading axes summed (a bias over a batch): one ReduceSum without keepdims, no Squeeze after it
  if (lead > 0 && axes.length === lead) return sum(g, axes, false);
  let r = axes.length ? sum(g, axes, true) : g;
  if (lead > 0)
    r = squeeze(
      r,
      Array.from({ length: lead }, (_, i) => i),
    );
  return r;
}

/** Nodes between `inputs` and `outputs`, in creation order (a topological order). */
function relevantNodes(outputs: readonly Tensor[], inputs: readonly Tensor[]): Node[] {
  const sources = new Set(inputs.map(key));
  const depends = new Set<number>();
  const ordered = reachable(outputs);
  const out: Node[] = [];
  for (const n of ordered) {
    if (n.outputs.some((t) => sources.has(key(t))) || n.inputs.some((x) => depends.has(x.node.id))) {
      depends.add(n.id);
      out.push(n);
    }
  }
  return out;
}

/**
 * Gradients of sum(outputs[i] · cotangents[i]) with respect to each of `inputs`.
 * Inputs that do not reach an output get zeros; integer/bool inputs get null (no gradient).
 */
export function vjpGraph(
  outputs: readonly Tensor[],
  inputs: readonly Tensor[],
  cotangents: readonly Tensor[],
): (Tensor | null)[] {
  if (outputs.length !== cotangents.length)
    throw new Error(`vjp: ${outputs.length} outputs but ${cotangents.length} cotangents`);
  const ct = new Map<string, Tensor>();
  const accumulate = (t: Tensor, g: Tensor): void => {
    const k = key(t);
    const prev = ct.get(k);
    ct.set(k, prev ? add(prev, g) : g);
  };
  outputs.forEach((o, i) => {
    if (!sameShape(o.shape, cotangents[i].shape)) {
      throw new Error(
        `vjp: cotangent ${i} has shape ${formatShape(cotangents[i].shape)}, output has ${formatShape(o.shape)}`,
      );
    }
    accumulate(o, cotangents[i]);
  });
  const stopAt = new Set(inputs.map(key));
  const nodes = relevantNodes(outputs, inputs);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.outputs.every((t) => stopAt.has(key(t)))) continue;
    const cts = n.outputs.map((t) => ct.get(key(t)) ?? null);
    if (cts.every((c) => c === null)) continue;
    const rule = n.prim.vjp;
    if (rule === 'none') continue;
    const grads = rule(n, cts);
    if (grads.length !== n.inputs.length) {
      throw new Error(
        `autodiff: the VJP of ${n.prim.name} returned ${grads.length} gradients for ${n.inputs.length} inputs`,
      );
    }
    grads.forEach((g, j) => {
      const x = n.inputs[j];
      if (!g || !isFloat(x.dtype)) return;
      let gx = sumTo(g, x.shape);
      if (gx.dtype !== x.dtype) gx = cast(gx, x.dtype);
      accumulate(x, gx);
    });
  }
  return inputs.map((x) => {
    if (!isFloat(x.dtype)) return null;
    return ct.get(key(x)) ?? zerosLike(x);
  });
}

/** The cotangent that starts differentiation of a scalar: a one of the output's dtype. */
export function seed(y: Tensor): Tensor {
  if (!isFloat(y.dtype)) throw new Error(`grad: the function must return a floating-point value, got ${y.dtype}`);
  if (y.rank !== 0)
    throw new Error(
      `grad: the function must return a scalar, got shape ${formatShape(y.shape)} (reduce it, or use vjp)`,
    );
  return onesLike(y);
}
