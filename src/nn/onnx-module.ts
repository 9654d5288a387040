// An imported ONNX model as a Module: its float initializers become trainable parameters, so it can be run,
// differentiated and fine-tuned like any lathe model.
import type { ModelProto } from '../onnx/proto.js';
import { importOnnx, type ImportedGraph } from '../onnx/import.js';
import type { Tensor } from '../graph/tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

/**
 * An imported single-input ONNX model (file path, bytes or a decoded `ModelProto`) as a Module whose float
 * initializers are trainable parameters. Throws when the model has more than one input or `outputName` is not one
 * of its outputs.
 */
export class OnnxModule extends Module {
  readonly graph: ImportedGraph;
  /** Parameters keyed by sanitized initializer name (dots are kept in the state-dict path). */
  readonly weights: Parameter[];
  private readonly names: string[];

  constructor(
    source: string | Uint8Array | ModelProto,
    readonly outputName?: string,
  ) {
    super();
    this.graph = importOnnx(source);
    this.names = Object.keys(this.graph.params);
    this.weights = this.names.map((n) => new Parameter(this.graph.params[n]));
    if (this.graph.inputs.length !== 1)
      throw new Error(
        `OnnxModule: the model has ${this.graph.inputs.length} inputs; use importOnnx() directly for multi-input models`,
      );
    if (outputName && !this.graph.outputs.includes(outputName))
      throw new Error(`OnnxModule: no output named ${outputName} (outputs: ${this.graph.outputs.join(', ')})`);
  }

  /** Initializer names in the order of `weights` (state-dict paths are weights.<i>). */
  get initializerNames(): readonly string[] {
    return this.names;
  }

  /**
   * Runs the imported graph on `x` (fed to its only input; shape and dtype as the model declares) and returns the
   * output named `outputName`, or the first output.
   */
  forward(x: Tensor): Tensor {
    const params = Object.fromEntries(this.names.map((n, i) => [n, this.weights[i].t]));
    const outs = this.graph.apply({ [this.graph.inputs[0].name]: x }, params);
    return outs[this.outputName ?? this.graph.outputs[0]];
  }
}
