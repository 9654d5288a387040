import { readFileSync } from 'node:fs';
import { writeAtomicFile } from '../util/write-atomic.js';
import { saveModelWithExternalData } from './external-data.js';
import { basename } from 'node:path';
import { trace, type InputSpec, type TraceResult } from './trace.js';
import type { NDArray } from '../graph/ndarray.js';
import type { Tensor } from '../graph/tensor.js';
import type { EmitOptions } from './emit.js';
import { optimizeForInference, type InferencePasses } from './inference.js';
import { encodeModel } from './encode.js';
import type { ModelProto } from './proto.js';

/** Options of {@link exportModel} and {@link exportOnnx}: the emit options plus input names and inference rewrites. */
export interface ExportOptions extends EmitOptions {
  /** Names of the graph inputs (default x0, x1, ...). */
  readonly inputNames?: readonly string[];
  /**
   * Inference rewrites (onnx/inference.ts): BatchNorm folded into its Conv, ReLU before MaxPool. `true` applies all;
   * off by default here (exportModule, the inference export of a Module, turns them on).
   */
  readonly inference?: boolean | InferencePasses;
}

const toSpec = (a: InputSpec | NDArray, name?: string): InputSpec => ({
  dtype: a.dtype,
  shape: [...a.shape],
  name: name ?? ('name' in a ? a.name : undefined),
});

/** Traces `fn` over inputs shaped like the examples (or declared specs with symbolic dims) into an ONNX model. */
export function exportModel(
  fn: (...xs: Tensor[]) => TraceResult,
  inputs: readonly (InputSpec | NDArray)[],
  opts: ExportOptions = {},
): ModelProto {
  const model = trace(
    fn,
    inputs.map((a, i) => toSpec(a, opts.inputNames?.[i])),
    opts,
  ).model;
  if (opts.inference) optimizeForInference(model, opts.inference === true ? {} : opts.inference);
  return model;
}

const TWO_GB = 2 ** 31 - 1;

/**
 * Exports a traced function as an .onnx file (or returns the bytes when no path is given). Weights go to a side
 * file `<name>.data` when `externalData` is set or when they exceed protobuf's 2 GB limit (a path is then needed).
 */
export function exportOnnx(
  fn: (...xs: Tensor[]) => TraceResult,
  inputs: readonly (InputSpec | NDArray)[],
  opts: ExportOptions & { path?: string; externalData?: boolean | { readonly thresholdBytes: number } } = {},
): Uint8Array {
  const model = exportModel(fn, inputs, opts);
  const weightBytes = model.graph.initializer.reduce((n, t) => n + (t.rawData?.byteLength ?? 0), 0);
  if (opts.externalData || weightBytes > TWO_GB) {
    if (!opts.path) throw new Error(`exportOnnx: weights of ${weightBytes} bytes need external data; give a path`);
    const threshold = typeof opts.externalData === 'object' ? opts.externalData.thresholdBytes : 1024;
    saveModelWithExternalData(opts.path, model, { location: `${basename(opts.path)}.data`, thresholdBytes: threshold });
    return readFileSync(opts.path);
  }
  const bytes = encodeModel(model);
  if (opts.path) writeAtomicFile(opts.path, bytes);
  return bytes;
}
