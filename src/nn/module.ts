import { floatDataToFloat32, isFloat } from '../graph/dtype.js';
import type { NDArray } from '../graph/ndarray.js';
import type { Tensor } from '../graph/tensor.js';
import { formatShape } from '../graph/shape.js';
import { Generator, type Init } from './init.js';
import { Parameter } from './parameter.js';

let defaultGen = new Generator(0);
/** Seeds the generator that new layers draw their initial weights from. */
export function manualSeed(seed: number): void {
  defaultGen = new Generator(seed);
}
/**
 * The generator that layers draw their initial weights from (reset by {@link manualSeed}); models use it to
 * re-initialize parameters with a custom `Init` so their weights stay reproducible under the same seed.
 */
export const initGenerator = (): Generator => defaultGen;

/**
 * Base class of every layer and model. Parameters, buffers and child modules are discovered from the instance's
 * fields, in declaration order, so their dotted paths ("conv1.weight") are stable names for state dicts,
 * checkpoints, freezing and optimizers.
 */
export abstract class Module {
  training = true;

  /**
   * The layer's computation on traced tensors: takes the input tensors (shapes are layer-specific) and returns the
   * output tensor. Runs only inside a trace (compile(), the Trainer or export), where parameters are bound.
   */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** Calls forward (so `model.call(x)` reads like PyTorch's `model(x)`). */
  call(...inputs: Tensor[]): Tensor {
    return this.forward(...inputs);
  }

  /**
   * Creates a trainable float32 parameter of `shape`, initialized by `init` from the module-level seeded
   * generator (see {@link manualSeed}); assign it to a field so the module discovers it.
   */
  protected param(shape: readonly number[], init: Init): Parameter {
    return new Parameter(init(shape, defaultGen));
  }

  /**
   * Wraps `value` as a non-trainable buffer (state the forward pass may update, e.g. running statistics, that
   * gradients never touch); assign it to a field so it lands in the state dict.
   */
  protected buffer(value: NDArray): Parameter {
    return new Parameter(value, 'buffer');
  }

  /** Child modules by field name (arrays and records of modules are walked too). */
  children(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) out.push([k, v]);
      else if (Array.isArray(v)) v.forEach((m, i) => m instanceof Module && out.push([`${k}.${i}`, m]));
    }
    return out;
  }

  /** Every parameter and buffer with its dotted path. */
  namedState(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Parameter) out.push([prefix + k, v]);
      else if (Array.isArray(v)) v.forEach((p, i) => p instanceof Parameter && out.push([`${prefix}${k}.${i}`, p]));
    }
    for (const [k, m] of this.children()) out.push(...m.namedState(`${prefix}${k}.`));
    return out;
  }

  /**
   * The trainable parameters (buffers excluded, frozen ones included) with their dotted paths, in declaration order.
   */
  namedParameters(): [string, Parameter][] {
    return this.namedState().filter(([, p]) => p.kind === 'param');
  }

  /** The buffers (non-trainable state such as BatchNorm running statistics) with their dotted paths. */
  namedBuffers(): [string, Parameter][] {
    return this.namedState().filter(([, p]) => p.kind === 'buffer');
  }

  /** Total number of scalar elements in all parameters (buffers not counted; frozen parameters counted). */
  parameterCount(): number {
    return this.namedParameters().reduce((n, [, p]) => n + p.data.shape.reduce((a, b) => a * b, 1), 0);
  }

  /** Switches this module and its children to training (dropout on, batch statistics) or evaluation mode. */
  train(on = true): this {
    this.training = on;
    for (const [, m] of this.children()) m.train(on);
    return this;
  }

  /** Switches this module and its children to evaluation mode (same as `train(false)`); returns `this`. */
  eval(): this {
    return this.train(false);
  }

  /** Freezes parameters whose path starts with any of `prefixes` (all when none given). */
  freeze(...prefixes: string[]): this {
    for (const [k, p] of this.namedParameters())
      if (prefixes.length === 0 || prefixes.some((q) => k.startsWith(q))) p.frozen = true;
    return this;
  }

  /**
   * Makes parameters whose path starts with any of `prefixes` trainable again (all parameters when none given);
   * returns `this`.
   */
  unfreeze(...prefixes: string[]): this {
    for (const [k, p] of this.namedParameters())
      if (prefixes.length === 0 || prefixes.some((q) => k.startsWith(q))) p.frozen = false;
    return this;
  }

  /**
   * Every parameter and buffer value by dotted path (the arrays themselves, not copies), as saved in checkpoints and
   * read by {@link Module.loadStateDict}.
   */
  stateDict(): Record<string, NDArray> {
    return Object.fromEntries(this.namedState().map(([k, p]) => [k, p.data]));
  }

  /**
   * Loads values by path; shapes must match; `strict` requires every entry on both sides. Floating-point values
   * of another precision (float16, bfloat16, float64 checkpoints) are cast to a float32 parameter's dtype, as
   * torch's load_state_dict does; other dtype differences are errors.
   */
  loadStateDict(state: Readonly<Record<string, NDArray>>, strict = true): void {
    const own = new Map(this.namedState());
    for (const [k, v] of Object.entries(state)) {
      const p = own.get(k);
      if (!p) {
        if (strict) throw new Error(`loadStateDict: unexpected key "${k}"`);
        continue;
      }
      const castable = p.data.dtype === 'float32' && isFloat(v.dtype);
      if (v.shape.join(',') !== p.data.shape.join(',') || (v.dtype !== p.data.dtype && !castable)) {
        throw new Error(
          `loadStateDict: "${k}" is ${v.dtype}${formatShape(v.shape)}, the model expects ${p.data.dtype}${formatShape(p.data.shape)}`,
        );
      }
      p.data =
        v.dtype === p.data.dtype
          ? v
          : { dtype: 'float32', shape: [...v.shape], data: floatDataToFloat32(v.dtype, v.data) };
    }
    if (strict) for (const k of own.keys()) if (!(k in state)) throw new Error(`loadStateDict: missing key "${k}"`);
  }
}

/** Binds traced tensors to the module's parameters for the duration of `fn` (used by compile and the Trainer). */
export function bindParameters<R>(module: Module, tensors: Readonly<Record<string, Tensor>>, fn: () => R): R {
  const state = module.namedState();
  for (const [k, p] of state) {
    const t = tensors[k];
    if (!t) throw new Error(`bindParameters: no tensor for "${k}"`);
    p.bind(t);
  }
  try {
    return fn();
  } finally {
    for (const [, p] of state) p.bind(undefined);
  }
}
