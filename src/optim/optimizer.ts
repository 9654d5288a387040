import type { Tensor } from '../graph/tensor.js';

/** Scalars every update sees, traced once per step graph. */
export interface StepScalars {
  /** 1-based step count as a float scalar (for bias corrections). */
  readonly step: Tensor;
  /** Learning rate for this step (fed each step, so schedules need no recompilation). */
  readonly lr: Tensor;
}

/**
 * An optimizer is a traced update rule: it declares its per-parameter state slots and, inside the training-step
 * graph, maps (param, grad, state) to (new param, new state). Nothing runs on the host; the whole update is part
 * of the one ONNX graph that trains.
 */
export interface Optimizer {
  readonly name: string;
  /** Names of the per-parameter state tensors (each starts as zeros shaped like the parameter). */
  readonly slots: readonly string[];
  /**
   * Traces one update of one parameter inside the step graph: from the parameter, its gradient (same shape) and its
   * slot tensors (in `slots` order), returns the new parameter and the new slot values. Builds graph nodes only.
   */
  update(
    param: Tensor,
    grad: Tensor,
    state: readonly Tensor[],
    s: StepScalars,
  ): { readonly param: Tensor; readonly state: readonly Tensor[] };
  /** Hyperparameters, recorded in checkpoints. */
  readonly config: Readonly<Record<string, number | boolean | string>>;
}
