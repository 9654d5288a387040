// Primitives that steer differentiation: stopGradient (no gradient flows) and customVjp (a composite's gradient
// written by hand). They live in graph/, not autodiff/, because ops (norm.ts) and layers build on customVjp while
// autodiff only reads the VJP rules every primitive carries.
import { primitive } from '../primitive.js';
import type { Tensor } from '../tensor.js';

const stopGradientPrim = primitive<Record<string, never>>({
  name: 'stopGradient',
  infer: ([x]) => [{ dtype: x.dtype, shape: x.shape }],
  lower: (ctx, _n, [x]) => ctx.emit('Identity', [x]),
  vjp: () => [null],
});
/** The same values, but no gradient flows through (torch's `detach`). */
export const stopGradient = (x: Tensor): Tensor => stopGradientPrim([x], {})[0];
/** Alias of `stopGradient` (PyTorch's name): the same values, with no gradient flowing back to `x`. */
export const detach = stopGradient;

// Custom VJPs for composite functions (jax.custom_vjp): the forward is traced as ordinary ops, but reverse mode
// uses a gradient rule the caller writes instead of differentiating through those ops. For fused recurrences
// (nn/layers/rnn-fused.ts) whose generic gradient is much slower than a hand-written one: the backward recurrence
// plus ONE weight-gradient Gemm over all steps, where the generic rule emits one per step and sums them.

/** What the forward returns: the function's outputs and the values its gradient rule needs (saved for backward). */
export interface CustomVjpForward {
  readonly outputs: readonly Tensor[];
  readonly residuals?: readonly Tensor[];
}

/**
 * Gradient rule: the outputs' cotangents (null where none flows), the saved residuals and the original inputs
 * → one gradient per input (null: none). Written in ordinary ops, so it is itself differentiable.
 */
export type CustomVjpRule = (
  cotangents: readonly (Tensor | null)[],
  residuals: readonly Tensor[],
  inputs: readonly Tensor[],
) => readonly (Tensor | null)[];

interface CustomVjpAttrs {
  readonly name: string;
  readonly inputs: number;
  readonly rule: CustomVjpRule;
  readonly residuals: readonly Tensor[];
}

// Inputs: [...primal inputs, ...forward outputs]; outputs alias the forward outputs (the lowering emits no ONNX
// node). Its VJP calls the rule and sends no cotangent into the forward's own ops, so reverse mode never walks
// them. Residuals are held in the attributes, not as inputs: a graph without gradients never reaches (so never
// emits) the ops that only compute them, and a gradient graph reaches them through the rule's ops.
const customVjpPrim = primitive<CustomVjpAttrs>({
  name: 'customVjp',
  infer: (xs, a) => xs.slice(a.inputs).map((t) => ({ dtype: t.dtype, shape: t.shape })),
  lower: (_ctx, n, names) => names.slice(n.attrs.inputs),
  vjp: (n, cts) => {
    const { inputs, rule, name, residuals } = n.attrs;
    const xs = n.inputs.slice(0, inputs);
    const grads = rule(cts, residuals, xs);
    if (grads.length !== inputs)
      throw new Error(`customVjp ${name}: the rule returned ${grads.length} gradients for ${inputs} inputs`);
    return [...grads, ...n.inputs.slice(inputs).map(() => null)];
  },
});

/**
 * Wraps `forward` so that reverse mode uses `rule` for its gradient. `name` appears in errors.
 *
 *   const f = customVjp('square', (x) => ({ outputs: [mul(x, x)], residuals: [x] }), ([g], [x]) => [g && mul(g, mul(x, 2))]);
 *   const [y] = f(x);
 */
export function customVjp(
  name: string,
  forward: (...xs: Tensor[]) => CustomVjpForward,
  rule: CustomVjpRule,
): (...xs: Tensor[]) => Tensor[] {
  return (...xs) => {
    const { outputs, residuals = [] } = forward(...xs);
    if (outputs.length === 0) throw new Error(`customVjp ${name}: the forward returned no outputs`);
    return customVjpPrim([...xs, ...outputs], { name, inputs: xs.length, rule, residuals });
  };
}
