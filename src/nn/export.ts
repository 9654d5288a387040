import type { NDArray } from '../graph/ndarray.js';
import { constant } from '../graph/ops/leaf.js';
import type { Tensor } from '../graph/tensor.js';
import { exportOnnx, type ExportOptions } from '../onnx/export.js';
import type { InputSpec } from '../onnx/trace.js';
import { withContext } from './context.js';
import { bindParameters, type Module } from './module.js';

/** Runs `fn` with the module's parameters bound to constants (its current values), in eval mode. */
export function withFrozenParameters<R>(module: Module, fn: () => R): R {
  const tensors: Record<string, Tensor> = Object.fromEntries(
    module.namedState().map(([k, p]) => [k, constant(p.data, k)]),
  );
  const wasTraining = module.training;
  module.eval();
  try {
    return withContext({ training: false }, () => bindParameters(module, tensors, fn));
  } finally {
    module.train(wasTraining);
  }
}

/**
 * Exports a module for inference: weights become named initializers, the model runs in eval mode (no dropout,
 * running statistics), and the inference rewrites apply unless `inference: false` (BatchNorm folded into its conv,
 * ReLU before max pooling; onnx/inference.ts). Inputs may declare symbolic dims
 * (`{ dtype: 'float32', shape: ['batch', 1, 28, 28] }`).
 */
export function exportModule(
  module: Module,
  inputs: readonly (InputSpec | NDArray)[],
  opts: ExportOptions & {
    path?: string;
    outputName?: string;
    externalData?: boolean | { readonly thresholdBytes: number };
  } = {},
): Uint8Array {
  return exportOnnx(
    (...xs) => withFrozenParameters(module, () => ({ [opts.outputName ?? 'output']: module.forward(...xs) })),
    inputs,
    {
      inputNames: opts.inputNames ?? (inputs.length === 1 ? ['input'] : undefined),
      ...opts,
      inference: opts.inference ?? true,
    },
  );
}
