// Static checks of an ONNX model file: non-finite or huge weights, dead units (all-zero weight rows), a Softmax
// output declared as logits in lathe's inference metadata, and a batch dimension fixed at 1.
import type { ModelProto, TensorProto } from '../onnx/proto.js';
import { tensorToTypedArray } from '../onnx/decode.js';
import { readInferenceMetadata } from '../onnx/inference-metadata.js';
import type { Finding } from './finding.js';

const FLOAT_TYPES = new Set([1, 11]); // FLOAT, DOUBLE

function values(t: TensorProto): Float32Array | Float64Array | undefined {
  if (!FLOAT_TYPES.has(t.dataType) || t.dataLocation === 1) return undefined;
  return tensorToTypedArray(t) as Float32Array | Float64Array;
}

/**
 * Runs the ONNX model rules (non-finite or huge weights, dead units, softmax output used as logits, fixed batch
 * dimension) on the model's initializers and graph; `source` names the model in messages.
 */
export function checkModel(model: ModelProto, source: string): { findings: Finding[]; checked: string[] } {
  const findings: Finding[] = [];
  const checked = ['nonfinite-weights', 'huge-weights', 'dead-units', 'softmax-output-as-logits', 'fixed-batch-dim'];
  const g = model.graph;
  const inits = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  const nonfinite: string[] = [];
  let nonfiniteCount = 0;
  let worst = { name: '', max: 0 };
  for (const t of g.initializer) {
    const v = values(t);
    if (!v) continue;
    let bad = 0;
    let max = 0;
    for (let i = 0; i < v.length; i++) {
      const a = Math.abs(v[i]);
      if (!Number.isFinite(a)) bad++;
      else if (a > max) max = a;
    }
    if (bad) {
      nonfinite.push(t.name ?? '?');
      nonfiniteCount += bad;
    }
    if (max > worst.max) worst = { name: t.name ?? '?', max };
  }
  if (nonfinite.length) {
    findings.push({
      rule: 'nonfinite-weights',
      severity: 'error',
      message: `${nonfiniteCount} weights are NaN or infinite, in ${nonfinite.length} tensor(s): ${nonfinite.slice(0, 5).join(', ')}`,
      evidence: { nonfinite_values: nonfiniteCount, tensors: nonfinite.slice(0, 10) },
      why: 'every output that depends on them is NaN; the model was saved after training diverged',
      fix: 'retrain from the last good checkpoint with a lower learning rate or gradient clipping (trainer.clipGradNorm: 1)',
      diff: [{ path: 'trainer.clipGradNorm', to: 1 }],
      where: nonfinite[0],
    });
  }
  // guard: trained weights are rarely beyond 10 in magnitude; 1,000 means a blow-up, not a large but healthy scale
  if (worst.max > 1e3) {
    findings.push({
      rule: 'huge-weights',
      severity: 'warning',
      message: `weight magnitude reaches ${worst.max.toExponential(2)} in ${worst.name}`,
      evidence: { max_abs_weight: worst.max, tensor: worst.name },
      why: 'weights this large saturate activations and make outputs overflow at reduced precision; they are the mark of a learning rate that was too high or missing weight decay',
      fix: 'retrain with a lower learning rate and weight decay, or clip gradients',
      where: worst.name,
    });
  }
  // dead units: Gemm / MatMul weights whose every weight into a unit is 0 (the unit never responds)
  const producers = new Map<string, string>();
  for (const n of g.node) for (const o of n.output) producers.set(o, n.opType);
  const lastGemm = [...g.node].reverse().find((n) => n.opType === 'Gemm' || n.opType === 'MatMul');
  for (const n of g.node) {
    if ((n.opType !== 'Gemm' && n.opType !== 'Conv') || n === lastGemm) continue;
    const w = inits.get(n.input[1]);
    const v = w && values(w);
    if (!w || !v || w.dims.length < 2) continue;
    const transB = n.opType === 'Gemm' ? Number(n.attribute.find((a) => a.name === 'transB')?.i ?? 0) === 1 : true;
    const units = transB ? w.dims[0] : w.dims[1];
    const per = v.length / units;
    let dead = 0;
    for (let u = 0; u < units; u++) {
      let zero = true;
      for (let k = 0; k < per && zero; k++) {
        const idx = transB ? u * per + k : k * units + u;
        if (v[idx] !== 0) zero = false;
      }
      if (zero) dead++;
    }
    // guard: pruned models zero whole units on purpose, but rarely a quarter of a layer; the output layer is skipped
    if (units >= 4 && dead / units >= 0.25) {
      findings.push({
        rule: 'dead-units',
        severity: 'warning',
        message: `${dead} of ${units} units of ${w.name} have all-zero weights`,
        evidence: { dead_units: dead, units, fraction: dead / units },
        why: 'a unit with zero weights outputs only its bias: its capacity is lost (after training this is the trace of dead ReLUs decayed to zero)',
        fix: 'use a lower learning rate or a leaky activation (LeakyReLU/GELU) and retrain; if pruned on purpose, silence this rule',
        where: w.name,
      });
    }
  }
  // the output is a Softmax but the metadata says logits: predict and serve would apply softmax again
  let meta: ReturnType<typeof readInferenceMetadata>;
  try {
    meta = readInferenceMetadata(model, source);
  } catch {
    meta = undefined;
  }
  const outOp = g.output.length ? producers.get(g.output[0].name) : undefined;
  if (outOp === 'Softmax' && meta?.output === 'logits') {
    findings.push({
      rule: 'softmax-output-as-logits',
      severity: 'warning',
      message: `the output ${g.output[0].name} comes from a Softmax, but the model's metadata declares logits`,
      evidence: { output_op: outOp, declared_output: meta.output },
      why: 'consumers that trust the metadata apply softmax a second time: probabilities flatten toward uniform and calibrated scores are lost; trained with cross-entropy, the extra softmax also slows learning',
      fix: 'remove the final Softmax from the model (cross-entropy takes logits), or declare output: probabilities',
      where: g.output[0].name,
    });
  }
  // guard: only rank ≥ 2 inputs whose first dim is exactly 1 (a fixed batch of one); 'batch' symbols are fine
  const fixed = g.input
    .filter((i) => !inits.has(i.name))
    .filter((i) => {
      const d = i.type?.tensorType?.shape?.dim;
      return d && d.length >= 2 && 'dimValue' in d[0] && d[0].dimValue === 1;
    });
  if (fixed.length) {
    findings.push({
      rule: 'fixed-batch-dim',
      severity: 'info',
      message: `input ${fixed.map((i) => i.name).join(', ')} has a fixed batch size of 1`,
      evidence: { inputs: fixed.map((i) => i.name) },
      why: "a server cannot batch requests through this model; batch 1 wastes most of a CPU's throughput",
      fix: 'export with a symbolic batch dim (lathe export does by default: shape ["batch", ...])',
      where: fixed[0].name,
    });
  }
  return { findings, checked };
}
