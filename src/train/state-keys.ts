// The names of training state, one key space per kind. They name the step graph's inputs (and, prefixed with
// `new.`, its outputs) and the tensors of a checkpoint file, so they are part of the checkpoint format:
//   p.<param>             parameter                 s.<param>.<slot>   optimizer slot (per parameter)
//   s.__flat__.<slot>     optimizer slot over the flat vector of all trainable parameters (fused update)
//   a.<param>             gradient accumulator      e.<param>          EMA of the parameter
//   b.<buffer>            buffer (running stats)    ls.scale, ls.good  dynamic loss scale and its clean-step count
// Step graph inputs that are not state: x.<batch key>, lr, step, seed, stepIndex; outputs: loss, m.<metric>.

/**
 * Names of the training state in the step graph and in checkpoint files (part of the checkpoint format; see the table
 * at the top of this file).
 */
export const stateKey = {
  /** `p.<name>`: a parameter. */
  param: (name: string): string => `p.${name}`,
  /** `s.<param>.<slot>`: an optimizer slot of one parameter (e.g. Adam's moments). */
  slot: (param: string, slot: string): string => `s.${param}.${slot}`,
  /** `s.__flat__.<slot>`: an optimizer slot over the flat vector of every trainable parameter (fused update). */
  flatSlot: (slot: string): string => `s.__flat__.${slot}`,
  /** `a.<param>`: the gradient accumulator of a parameter (gradient accumulation). */
  accumulator: (param: string): string => `a.${param}`,
  /** `e.<param>`: the exponential moving average of a parameter. */
  ema: (param: string): string => `e.${param}`,
  /** `b.<name>`: a buffer such as BatchNorm's running statistics. */
  buffer: (name: string): string => `b.${name}`,
  lossScale: 'ls.scale',
  goodSteps: 'ls.good',
} as const;

/** Graph input of a batch entry. */
export const batchKey = (name: string): string => `x.${name}`;
/** Graph output of a metric. */
export const metricKey = (name: string): string => `m.${name}`;
/** Prefix of the graph output that carries a state entry's new value. */
export const UPDATED = 'new.';

/** The key of a module's parameter or buffer (as `Module.namedState()` lists them). */
export const moduleStateKey = (name: string, kind: 'param' | 'buffer'): string =>
  kind === 'param' ? stateKey.param(name) : stateKey.buffer(name);
