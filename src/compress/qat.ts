// Quantization-aware training. The float ONNX model (a run's export, BatchNorm already folded into its convs) is
// imported as a trainable module, and the static quantization plan (qdq-plan.ts) decides where fake quantizers go:
// every planned activation tensor passes through one (a folded ReLU's output with the range starting at 0, exactly
// as the QDQ model quantizes it), every planned weight is fake-quantized per channel with the scale export computes.
// Fine-tuning that module with the Trainer teaches the weights the int8 model's rounding and clipping; `toQdq()`
// then writes the trained weights and the final activation ranges through the same rewrite as post-training
// quantization (insertQdq), so ORT's integer kernels compute what the fake-quant forward computed (up to the int32
// bias rounding and the requantization's rounding: one output step).
//
// Activation scales are either
//   fixed    the calibrated ranges, refined by EMA observers (min/max of each training batch) during the first
//            `observerWarmupSteps` steps and frozen after; the scale and zero point follow the range, or
//   learned  LSQ: the scale is a trainable parameter initialised from calibration (zero point fixed), its gradient
//            LSQ's (fake-quant.ts), scaled by 1/√(N·qmax).
import { int8MayOverflow } from './cpu-features.js';
import type { NDArray } from '../graph/ndarray.js';
import { ndarray } from '../graph/ndarray.js';
import { stopGradient } from '../graph/ops/differentiation.js';
import { add, clamp, div, greater, less, maximum, minimum, mul, round, sub, where } from '../graph/ops/elementwise.js';
import { scalar } from '../graph/ops/leaf.js';
import { max, min } from '../graph/ops/reduce.js';
import type { Tensor } from '../graph/tensor.js';
import { traceContext } from '../nn/context.js';
import { Module } from '../nn/module.js';
import { OnnxModule } from '../nn/onnx-module.js';
import { Parameter } from '../nn/parameter.js';
import type { ModelProto } from '../onnx/proto.js';
import { CompressError } from './errors.js';
import { fakeQuantize, fakeQuantizeWeight } from './fake-quant.js';
import { onnxWithWeights } from './fine-tune.js';
import { insertQdq, tensorParams, type QdqOptions, type Ranges } from './qdq.js';
import type { QuantPlan } from './qdq-plan.js';
import { quantRange } from './quant-params.js';
import { withNodeNames } from './quantize.js';

/** How {@link QatModule} treats activation scales and observers. */
export interface QatOptions extends QdqOptions {
  /** 'fixed' (default): ranges from calibration and the observers; 'learned': LSQ scales. */
  readonly scales?: 'fixed' | 'learned';
  /** fixed: training steps during which EMA observers update the ranges before they freeze (default 0). */
  readonly observerWarmupSteps?: number;
  /** fixed: the observers' EMA momentum (default 0.01). */
  readonly observerMomentum?: number;
}

interface Root {
  readonly tensor: string;
  readonly observe: string;
  readonly clampMin?: number;
  readonly clampMax?: number;
}

const vec = (v: number): NDArray => ndarray('float32', [1], Float32Array.of(v));

/**
 * A float ONNX model with fake quantization where the static quantization plan puts Q/DQ: train it like any lathe
 * module (its `forward` gives the model's first output), then `toQdq()` exports the int8 model in QDQ form.
 */
export class QatModule extends Module {
  /** The float model as a trainable module (its initializers are the parameters). */
  readonly net: OnnxModule;
  /** learned: one trainable scale per quantized activation range. */
  readonly scales: Parameter[] = [];
  /** fixed: the observed lower ends of the ranges. */
  readonly lows: Parameter[] = [];
  /** fixed: the observed upper ends of the ranges. */
  readonly highs: Parameter[] = [];
  /** fixed with a warm-up: the number of training steps taken (the observers freeze when it reaches the warm-up). */
  readonly steps: Parameter;
  private readonly roots: Root[] = [];
  private readonly zeroPoints: number[] = [];
  private readonly rootOf = new Map<string, number>();
  private readonly weightAxis = new Map<string, number | undefined>();
  private readonly constants = new Set<string>();
  private readonly float: ModelProto;
  private readonly mode: 'fixed' | 'learned';
  private readonly qmin: number;
  private readonly qmax: number;

  /**
   * `model` is the float model, `plan` its static quantization plan and `ranges` the calibrated ranges
   * (`quantizeStatic(model, batches, opts)` gives all three as `float`, `plan` and `ranges`).
   */
  constructor(
    model: ModelProto,
    readonly plan: QuantPlan,
    ranges: Ranges,
    readonly opts: QatOptions = {},
  ) {
    super();
    this.float = withNodeNames(model);
    this.mode = opts.scales ?? 'fixed';
    const type = opts.activationType ?? 'uint8';
    [this.qmin, this.qmax] = quantRange(type);
    this.net = new OnnxModule(this.float);
    const params = tensorParams(plan, ranges, type);
    for (const [t, src] of plan.tensors) {
      if (src.kind !== 'observe') continue;
      const p = params.get(t)!;
      this.rootOf.set(t, this.roots.length);
      this.roots.push({ tensor: t, observe: src.observe, clampMin: src.clampMin, clampMax: src.clampMax });
      this.zeroPoints.push(p.zeroPoint);
      if (this.mode === 'learned') this.scales.push(new Parameter(vec(p.scale)));
      else {
        this.lows.push(new Parameter(vec((this.qmin - p.zeroPoint) * p.scale), 'buffer'));
        this.highs.push(new Parameter(vec((this.qmax - p.zeroPoint) * p.scale), 'buffer'));
      }
    }
    for (const [t, src] of plan.tensors) {
      if (src.kind !== 'inherit') continue;
      let from = src.from;
      for (let s = plan.tensors.get(from); s?.kind === 'inherit'; s = plan.tensors.get(from)) from = s.from;
      const r = this.rootOf.get(from);
      if (r === undefined)
        throw new CompressError(`QAT: tensor "${t}" inherits the range of "${from}", which has none`);
      this.rootOf.set(t, r);
    }
    const nodes = new Map(this.float.graph.node.map((n) => [n.name!, n]));
    for (const u of plan.weights) {
      const name = nodes.get(u.node)?.input[u.input];
      if (name === undefined)
        throw new CompressError(`QAT: the plan names node "${u.node}", which is not in the model`);
      if (u.role === 'weight' && !this.weightAxis.has(name)) this.weightAxis.set(name, u.axis);
      if (u.role === 'constant') this.constants.add(name);
    }
    this.steps = new Parameter(vec(0), 'buffer');
  }

  /** The fake-quantized forward pass: the model's first output. */
  forward(x: Tensor): Tensor {
    const names = this.net.initializerNames;
    const reduceRange = this.opts.reduceRange ?? int8MayOverflow();
    const params = Object.fromEntries(
      names.map((n, i) => {
        const w = this.net.weights[i].t;
        if (this.weightAxis.has(n)) return [n, fakeQuantizeWeight(w, this.weightAxis.get(n), reduceRange)];
        if (this.constants.has(n)) return [n, this.quantizeRange(w, min(w), max(w))];
        return [n, w];
      }),
    );
    const training = this.training && traceContext().training;
    const warmup = this.opts.observerWarmupSteps ?? 0;
    const observing = this.mode === 'fixed' && training && warmup > 0;
    const current = new Map<number, readonly [Tensor, Tensor]>(); // ranges updated by this step's observers
    const momentum = this.opts.observerMomentum ?? 0.01;
    const active = observing ? less(this.steps.t, warmup) : undefined;
    const transform = (name: string, v: Tensor): Tensor => {
      const r = this.rootOf.get(name);
      if (r === undefined) return v;
      if (this.mode === 'learned') {
        const s = maximum(this.scales[r].t, 1e-8);
        const n = v.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
        return fakeQuantize(v, s, scalar(this.zeroPoints[r]), {
          qmin: this.qmin,
          qmax: this.qmax,
          scaleGradScale: 1 / Math.sqrt(n * this.qmax),
        });
      }
      let [lo, hi] = current.get(r) ?? [this.lows[r].t, this.highs[r].t];
      if (active && this.roots[r].tensor === name) {
        const blo = stopGradient(min(v));
        const bhi = stopGradient(max(v));
        lo = where(active, add(lo, mul(sub(blo, lo), momentum)), lo);
        hi = where(active, add(hi, mul(sub(bhi, hi), momentum)), hi);
        this.lows[r].pending = lo;
        this.highs[r].pending = hi;
        current.set(r, [lo, hi]);
      }
      return this.quantizeRange(v, lo, hi);
    };
    const outs = this.net.graph.apply({ [this.net.graph.inputs[0].name]: x }, params, transform);
    if (observing) this.steps.pending = add(this.steps.t, 1);
    return outs[this.net.graph.outputs[0]];
  }

  /** Fake quantization with the asymmetric parameters of [lo, hi] (widened to contain 0), as activationParams. */
  private quantizeRange(v: Tensor, lo: Tensor, hi: Tensor): Tensor {
    const l = stopGradient(minimum(lo, 0));
    const h = stopGradient(maximum(hi, 0));
    const width = sub(h, l);
    const s = where(greater(width, 0), div(width, this.qmax - this.qmin), 1);
    const zp = clamp(round(sub(this.qmin, div(l, s))), this.qmin, this.qmax);
    return fakeQuantize(v, s, zp, { qmin: this.qmin, qmax: this.qmax });
  }

  /** The activation ranges the module uses now (for {@link insertQdq}), keyed by the tensors the plan observes. */
  ranges(): Ranges {
    const out = new Map<string, readonly [number, number]>();
    this.roots.forEach((root, r) => {
      let lo: number, hi: number;
      if (this.mode === 'learned') {
        const s = (this.scales[r].data.data as Float32Array)[0];
        lo = (this.qmin - this.zeroPoints[r]) * s;
        hi = (this.qmax - this.zeroPoints[r]) * s;
      } else {
        lo = (this.lows[r].data.data as Float32Array)[0];
        hi = (this.highs[r].data.data as Float32Array)[0];
      }
      out.set(root.observe, [lo, hi]);
    });
    return out;
  }

  /** The float model with the module's current (trained) weights. */
  floatModel(): ModelProto {
    return onnxWithWeights(this.float, this.net);
  }

  /** The int8 model in QDQ form: the trained weights and the final ranges through the static quantization rewrite. */
  toQdq(): ModelProto {
    return insertQdq(this.floatModel(), this.plan, this.ranges(), this.opts);
  }
}
