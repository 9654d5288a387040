// Dynamic checks: run the model for a few steps on real data. The loss at initialisation against log(classes),
// whether it can overfit one batch, per-layer gradient and activation statistics (vanishing and exploding
// gradients, dead ReLUs, saturated sigmoid/tanh units), the update-to-weight ratio of the configured optimizer,
// and the op where a NaN or Inf first appears.
import type { NDArray } from '../graph/ndarray.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { createStep } from './step.js';
import type { Finding } from './finding.js';
import { probe, traceNonFinite, type LossFn, type NanOrigin, type ProbeResult } from './probe.js';

/**
 * Input of {@link checkDynamic}: a live model, a training batch, the loss, optimizer and learning rate to take a
 * few real training steps with.
 */
export interface DynamicSpec {
  readonly model: Module;
  /** A training batch (record of arrays; the probe and the overfit test use its first `overfitRows` rows). */
  readonly batch: Readonly<Record<string, NDArray>>;
  readonly inputKeys?: readonly string[];
  readonly loss: LossFn;
  readonly optimizer: Optimizer;
  readonly lr: number;
  /** Classes of a classifier (or the vocabulary of a language model): the expected initial loss is ln(classes). */
  readonly classes?: number;
  readonly clipGradNorm?: number;
  /** Steps of the overfit-one-batch test (default 60). */
  readonly overfitSteps?: number;
  readonly seed?: number;
}

/**
 * Per-layer (per weight tensor) statistics measured by the dynamic checks: RMS of the gradient and of the weights, and the update
 * ratio when training steps were taken.
 */
export interface LayerStats {
  readonly name: string;
  readonly gradRms: number;
  readonly weightRms: number;
  /** Mean over the measured steps of ‖Δw‖ / ‖w‖. */
  updateRatio?: number;
}

/**
 * What {@link checkDynamic} returns: the findings, the rules checked, the loss at initialisation, per-layer
 * statistics, and the first and last loss of the overfit-one-batch test when it ran.
 */
export interface DynamicResult {
  readonly findings: Finding[];
  readonly checked: string[];
  readonly initLoss: number;
  readonly layers: readonly LayerStats[];
  readonly overfit?: { readonly first: number; readonly last: number; readonly steps: number };
}

const rms = (a: NDArray): number => {
  const d = a.data as Float32Array;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  return Math.sqrt(s / Math.max(1, d.length));
};
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Rows [0, n) of every array of a batch. */
export function headRows(batch: Readonly<Record<string, NDArray>>, n: number): Record<string, NDArray> {
  return Object.fromEntries(
    Object.entries(batch).map(([k, a]) => {
      const m = Math.min(n, a.shape[0]);
      const row = a.shape.slice(1).reduce((p, q) => p * q, 1);
      return [
        k,
        { dtype: a.dtype, shape: [m, ...a.shape.slice(1)], data: a.data.slice(0, m * row) as NDArray['data'] },
      ];
    }),
  );
}

function nanFinding(origin: NanOrigin | undefined, when: string): Finding {
  return {
    rule: 'nan-origin',
    severity: 'error',
    message: origin
      ? `a NaN/Inf first appears ${when} in the ${origin.pass} pass at op ${origin.op} (${origin.where}) from finite inputs`
      : `the loss is not finite ${when}`,
    evidence: origin
      ? { op: origin.op, module: origin.where, pass: origin.pass, inputs: origin.inputRanges }
      : { when },
    why: 'one non-finite value spreads to the loss and every weight at the next update; the run is lost from that step',
    fix:
      origin?.op === 'log' || origin?.op === 'sqrt' || origin?.op === 'div' || origin?.op === 'reciprocal'
        ? `guard the ${origin.op}: clamp its input away from 0 / negatives (add an epsilon), or use the fused stable form (logSoftmax, crossEntropy on logits)`
        : 'lower the learning rate and clip gradients; values grow until they overflow at that op',
    diff:
      origin && ['log', 'sqrt', 'div', 'reciprocal'].includes(origin.op)
        ? undefined
        : [{ path: 'trainer.clipGradNorm', to: 1 }],
    where: origin?.where,
  };
}

function activationFindings(p: ProbeResult, batchRows: number): Finding[] {
  const out: Finding[] = [];
  for (const a of p.activations) {
    const v = a.values.data as Float32Array;
    const shape = a.values.shape;
    if (a.op === 'relu') {
      // a unit is a channel of a conv map [B, C, H, W], a feature of [B, F] or of [B, T, F]
      const unitAxis = shape.length === 4 ? 1 : shape.length - 1;
      const units = shape[unitAxis];
      const inner = shape.slice(unitAxis + 1).reduce((x, y) => x * y, 1);
      const alive = new Uint8Array(units);
      for (let i = 0; i < v.length; i++) if (v[i] > 0) alive[Math.floor(i / inner) % units] = 1;
      const dead = units - alive.reduce((s, x) => s + x, 0);
      // guard: 16+ samples (a unit silent on a handful of inputs may just be selective) and half the layer dead
      if (batchRows >= 16 && units >= 4 && dead / units >= 0.5) {
        out.push({
          rule: 'dead-relu',
          severity: 'warning',
          message: `${dead} of ${units} units after ${a.where} never activate on ${batchRows} samples (${Math.round((100 * dead) / units)} %)`,
          evidence: { dead_units: dead, units, samples: batchRows },
          why: 'a ReLU that outputs 0 for every input passes no gradient: its unit never learns again, and the layer loses that capacity',
          fix: 'check the initialisation and the bias of the layer before it, lower the learning rate, or use LeakyReLU/GELU',
          where: a.where,
        });
      }
    } else {
      let sat = 0;
      for (let i = 0; i < v.length; i++)
        if (a.op === 'tanh' ? Math.abs(v[i]) > 0.99 : v[i] < 0.01 || v[i] > 0.99) sat++;
      // guard: a single batch with half of all values in the flat tails (gates legitimately saturate some units)
      if (v.length >= 64 && sat / v.length >= 0.5) {
        out.push({
          rule: 'saturated-activations',
          severity: 'warning',
          message: `${Math.round((100 * sat) / v.length)} % of the ${a.op} outputs after ${a.where} are in the flat tails (${a.op === 'tanh' ? '|y| > 0.99' : 'y < 0.01 or y > 0.99'})`,
          evidence: { saturated_fraction: sat / v.length, values: v.length },
          why: `the ${a.op} gradient there is below 0.02: the layers before it barely learn`,
          fix: 'scale the initialisation down (xavier for tanh/sigmoid), normalise the inputs, or add a normalisation layer before the activation',
          where: a.where,
        });
      }
    }
  }
  return out;
}

/** Runs the dynamic checks on one batch. */
export async function checkDynamic(spec: DynamicSpec): Promise<DynamicResult> {
  const findings: Finding[] = [];
  const checked = [
    'softmax-before-loss',
    'init-loss',
    'nan-origin',
    'vanishing-gradients',
    'exploding-gradients',
    'dead-relu',
    'saturated-activations',
    'update-ratio',
    'cannot-overfit-batch',
  ];
  const batchRows = Object.values(spec.batch)[0].shape[0];
  const p = await probe(spec);

  if (p.outputOp === 'softmax' || p.outputOp === 'sigmoid') {
    findings.push({
      rule: 'softmax-before-loss',
      severity: 'error',
      message: `the model's output comes from a ${p.outputOp}, and the loss applies its own (log-)softmax`,
      evidence: { output_op: p.outputOp },
      why: 'cross-entropy takes logits: a softmax before it squashes them into [0, 1], so the loss can barely fall below ln(C) − 1 and gradients shrink',
      fix: 'remove the final Softmax/Sigmoid from the model; apply it only at inference',
    });
  }

  const layers: LayerStats[] = [...p.grads.entries()]
    .filter(([k]) => (p.params.get(k)?.shape.length ?? 0) >= 2)
    .map(([k, g]) => ({ name: k, gradRms: rms(g), weightRms: rms(p.params.get(k)!) }));
  const nonfinite = !Number.isFinite(p.loss) || [...p.grads.values()].some((g) => !Number.isFinite(rms(g)));
  if (nonfinite) {
    findings.push(nanFinding(await traceNonFinite(spec), 'at initialisation'));
    return { findings, checked, initLoss: p.loss, layers };
  }

  if (spec.classes && spec.classes >= 2) {
    const expected = Math.log(spec.classes);
    // guard: only for a classifier/LM with known classes; a band of ±max(0.5·ln C, 1) nats around ln C
    if (Math.abs(p.loss - expected) > Math.max(0.5 * expected, 1)) {
      findings.push({
        rule: 'init-loss',
        severity: 'warning',
        message: `the loss at initialisation is ${p.loss.toFixed(3)}, expected about ln(${spec.classes}) = ${expected.toFixed(3)}`,
        evidence: { init_loss: p.loss, expected, classes: spec.classes },
        why:
          p.loss > expected
            ? 'the untrained model is confidently wrong: its logits are too large (initialisation scale or unnormalised inputs), and the first steps are spent undoing it'
            : 'a loss far below chance before training means the target leaks into the input or the loss is not what it seems',
        fix:
          p.loss > expected
            ? "scale the last layer's initial weights down (zeros or ×0.01 works) and normalise the inputs"
            : 'check that the labels are not part of the inputs',
      });
    }
  }

  if (layers.length >= 3) {
    const rel = layers.map((l) => l.gradRms / Math.max(l.weightRms, 1e-12));
    const first = rel[0];
    const last = rel[rel.length - 1];
    // guard: 3+ weight layers and the first layer's relative gradient 10,000× below the last's (healthy nets stay
    // within ~100×)
    if (last > 0 && first / last < 1e-4) {
      findings.push({
        rule: 'vanishing-gradients',
        severity: 'warning',
        message: `the gradient reaching ${layers[0].name} is ${(last / Math.max(first, 1e-30)).toExponential(1)}× smaller (relative to its weights) than at ${layers[layers.length - 1].name}`,
        evidence: {
          first_layer: layers[0].name,
          first_rel_grad: first,
          last_layer: layers[layers.length - 1].name,
          last_rel_grad: last,
          depth: layers.length,
        },
        why: 'the early layers then barely move: the network trains like a shallow one, or not at all',
        fix: 'use ReLU/GELU instead of sigmoid/tanh in deep stacks, He/Xavier initialisation, normalisation layers or residual connections',
        where: layers[0].name,
      });
    }
  }
  {
    const worst = layers.reduce<LayerStats | undefined>(
      (w, l) => (!w || l.gradRms / Math.max(l.weightRms, 1e-12) > w.gradRms / Math.max(w.weightRms, 1e-12) ? l : w),
      undefined,
    );
    const total = Math.sqrt([...p.grads.values()].reduce((s, g) => s + rms(g) ** 2 * g.data.length, 0));
    const ratio = worst ? worst.gradRms / Math.max(worst.weightRms, 1e-12) : 0;
    // guard: a gradient 100× the size of its weights (one step of lr 0.01 would replace them), or a global norm
    // above 1,000; with clipping configured the update is bounded, so it is reported as info
    if (worst && (ratio > 100 || total > 1e3)) {
      findings.push({
        rule: 'exploding-gradients',
        severity: spec.clipGradNorm ? 'info' : 'warning',
        message: `gradient norm ${total.toExponential(2)} at initialisation; at ${worst.name} the gradient is ${ratio.toExponential(2)}× its weights (RMS)`,
        evidence: { global_grad_norm: total, layer: worst.name, grad_to_weight: ratio },
        why: 'steps this large overshoot: the loss jumps or becomes NaN within a few updates',
        fix: 'clip the gradient norm, lower the learning rate, and check the initialisation scale and the input normalisation',
        diff: spec.clipGradNorm ? undefined : [{ path: 'trainer.clipGradNorm', to: 1 }],
        where: worst.name,
      });
    }
  }
  findings.push(...activationFindings(p, batchRows));

  // overfit one batch with the configured optimizer; the first steps also give the update-to-weight ratio
  const overfitRows = Math.min(batchRows, 32);
  const small = headRows(spec.batch, overfitRows);
  const steps = spec.overfitSteps ?? 60;
  const step = await createStep({ ...spec, batch: small });
  const copy = (r: Record<string, NDArray>): Record<string, NDArray> =>
    Object.fromEntries(Object.entries(r).map(([k, a]) => [k, { ...a, data: a.data.slice() as NDArray['data'] }]));
  const losses: number[] = [];
  const ratios = new Map<string, number[]>();
  let before = copy(step.params());
  try {
    for (let i = 0; i < steps; i++) {
      const r = await step.run(small, spec.lr);
      losses.push(r.loss);
      const after = step.params();
      if (!Number.isFinite(r.loss) || Object.values(after).some((a) => !Number.isFinite(rms(a)))) {
        findings.push(
          nanFinding(
            await traceNonFinite({ ...spec, batch: small, params: before }),
            `at step ${i + 1} of training on one batch (lr ${spec.lr})`,
          ),
        );
        break;
      }
      if (i >= 1 && i <= 5)
        for (const l of layers) {
          const w0 = before[l.name];
          const w1 = after[l.name];
          if (!w0 || !w1) continue;
          let dn = 0;
          let wn = 0;
          const a = w0.data as Float32Array;
          const b = w1.data as Float32Array;
          for (let j = 0; j < a.length; j++) {
            dn += (b[j] - a[j]) ** 2;
            wn += a[j] ** 2;
          }
          if (wn > 0) ratios.set(l.name, [...(ratios.get(l.name) ?? []), Math.sqrt(dn / wn)]);
        }
      before = copy(after);
    }
  } finally {
    await step.release();
  }
  for (const l of layers) {
    const rs = ratios.get(l.name);
    if (rs?.length) l.updateRatio = rs.reduce((s, x) => s + x, 0) / rs.length;
  }
  const measured = layers.filter((l) => l.updateRatio !== undefined).map((l) => l.updateRatio!);
  if (measured.length) {
    const med = median(measured);
    // guard: the median over weight layers of steps 2–6 (Adam's first step is ±lr by construction); healthy runs
    // sit between 1e-4 and 0.3 per step, so fire only beyond 0.5 or below 1e-5
    if (med > 0.5 || med < 1e-5) {
      const high = med > 0.5;
      const suggested = high ? (spec.lr * 0.05) / med : (spec.lr * 1e-3) / med;
      findings.push({
        rule: 'update-ratio',
        severity: 'warning',
        message: `each step changes the weights by ${med.toExponential(2)} of their norm (median over ${measured.length} layers; healthy is about 1e-3 to 1e-1)`,
        evidence: {
          median_update_ratio: med,
          lr: spec.lr,
          layers: layers.map((l) => `${l.name}: ${(l.updateRatio ?? NaN).toExponential(1)}`),
        },
        why: high
          ? 'updates as large as the weights themselves overwrite what was learnt every step: training is noise or diverges'
          : 'updates this small leave the weights where they started: training needs orders of magnitude more steps',
        fix: `${high ? 'lower' : 'raise'} the learning rate (try ${suggested.toPrecision(2)}, or run lathe lr-find)`,
        diff: [{ path: 'optimizer.lr', from: spec.lr, to: Number(suggested.toPrecision(2)) }],
      });
    }
  }
  const finiteLosses = losses.filter(Number.isFinite);
  const overfit = finiteLosses.length
    ? { first: finiteLosses[0], last: Math.min(...finiteLosses.slice(-5)), steps: finiteLosses.length }
    : undefined;
  // guard: only when the loss started above 0.05 and every step stayed finite (divergence is nan-origin's finding);
  // a model that fits a batch of ≤ 32 rows must lower its loss by 30 % in `steps` steps
  if (overfit && finiteLosses.length === steps && overfit.first > 0.05 && overfit.last > 0.7 * overfit.first) {
    findings.push({
      rule: 'cannot-overfit-batch',
      severity: 'error',
      message: `after ${steps} steps on one batch of ${overfitRows} rows the loss only went from ${overfit.first.toFixed(4)} to ${overfit.last.toFixed(4)}`,
      evidence: { first_loss: overfit.first, last_loss: overfit.last, steps, rows: overfitRows, lr: spec.lr },
      why: 'a model that cannot memorise 32 samples will not learn the dataset: the learning rate is far off, gradients do not reach the weights, or labels and inputs do not match',
      fix: 'fix this before tuning anything else: check the learning rate (lathe lr-find), the loss/output pairing and that labels match the inputs',
    });
  }
  return { findings, checked, initLoss: p.loss, layers, overfit };
}
