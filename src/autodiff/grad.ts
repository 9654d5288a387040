// Function transforms over traced tensors: grad, valueAndGrad, vjp. Gradients are graphs, so they compose
// (grad of grad gives second derivatives).
import type { Tensor } from '../graph/tensor.js';
import { seed, vjpGraph } from './vjp.js';

/**
 * A function over traced tensors that {@link grad}, {@link valueAndGrad} and {@link vjp} differentiate: it takes
 * tensors and returns `R` (a scalar tensor for `grad`, one tensor or a list for `vjp`).
 */
export type TracedFn<R> = (...args: Tensor[]) => R;

function argList(n: number, argnums?: number | readonly number[]): number[] {
  if (argnums === undefined) return Array.from({ length: n }, (_, i) => i);
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list) if (a < 0 || a >= n) throw new Error(`grad: argnum ${a} is out of range for ${n} arguments`);
  return list;
}

function gradsOrThrow(gs: (Tensor | null)[], args: readonly Tensor[], idx: readonly number[]): Tensor[] {
  return gs.map((g, i) => {
    if (!g) throw new Error(`grad: argument ${idx[i]} has dtype ${args[idx[i]].dtype}, which has no gradient`);
    return g;
  });
}

/**
 * `valueAndGrad(f)(...args)` → [f(...args), [df/dargs...]] for a scalar-valued f.
 * `argnums` picks which arguments to differentiate (default: all).
 */
export function valueAndGrad(
  f: TracedFn<Tensor>,
  argnums?: number | readonly number[],
): (...args: Tensor[]) => [Tensor, Tensor[]] {
  return (...args) => {
    const y = f(...args);
    const idx = argList(args.length, argnums);
    const wrt = idx.map((i) => args[i]);
    return [y, gradsOrThrow(vjpGraph([y], wrt, [seed(y)]), args, idx)];
  };
}

/** `grad(f)(...args)` → gradients of the scalar f with respect to its arguments (all, or `argnums`). */
export function grad(f: TracedFn<Tensor>, argnums?: number | readonly number[]): (...args: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f, argnums);
  return (...args) => vg(...args)[1];
}

/** JAX-style vjp: returns f's outputs and a function from output cotangents to argument cotangents. */
export function vjp(
  f: TracedFn<Tensor | Tensor[]>,
  ...args: Tensor[]
): [Tensor[], (...cotangents: Tensor[]) => (Tensor | null)[]] {
  const out = f(...args);
  const outs = Array.isArray(out) ? out : [out];
  return [outs, (...cts) => vjpGraph(outs, args, cts)];
}

/** Gradients of a scalar `y` with respect to already-traced tensors `wrt` (for training loops over parameters). */
export function gradients(y: Tensor, wrt: readonly Tensor[]): Tensor[] {
  return gradsOrThrow(
    vjpGraph([y], wrt, [seed(y)]),
    wrt,
    wrt.map((_, i) => i),
  );
}
