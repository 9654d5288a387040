// Losses, with PyTorch's semantics (mean reduction by default).
import { isInteger } from '../graph/dtype.js';
import {
  abs,
  add,
  cast,
  div,
  equal,
  exp,
  log,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  relu,
  square,
  sub,
  where,
} from '../graph/ops/elementwise.js';
import { gather, gatherElements } from '../graph/ops/indexing.js';
import { scalar } from '../graph/ops/leaf.js';
import { reshape, squeeze, unsqueeze } from '../graph/ops/movement.js';
import { logSoftmax } from '../graph/ops/norm.js';
import { argmax, mean, reducedCount, sum } from '../graph/ops/reduce.js';
import { formatShape } from '../graph/shape.js';
import type { Tensor } from '../graph/tensor.js';

/**
 * How a loss reduces its per-element values: `'mean'` (the default of every loss but klDiv, whose default is
 * its own `'batchmean'`), `'sum'`, or `'none'` (the unreduced tensor, same shape as the elementwise loss).
 */
export type Reduction = 'mean' | 'sum' | 'none';
const reduce = (x: Tensor, r: Reduction): Tensor => (r === 'mean' ? mean(x) : r === 'sum' ? sum(x) : x);

/** Options of {@link crossEntropy} and {@link nllLoss}, with PyTorch's semantics. */
export interface CrossEntropyOptions {
  /**
   * Label smoothing ε in [0, 1) (default 0): the target becomes (1 − ε)·one-hot + ε/C on every one of the C classes.
   */
  readonly labelSmoothing?: number;
  /** Targets equal to this are skipped (default -100, as PyTorch). */
  readonly ignoreIndex?: number;
  /** Per-class weights [C]. */
  readonly weight?: Tensor;
  /**
   * Default `'mean'`, which divides by the summed weights of the non-ignored targets (their count without `weight`).
   */
  readonly reduction?: Reduction;
}

/** Negative log-likelihood of log-probabilities [N, C] at integer targets [N]. */
export function nllLoss(logp: Tensor, target: Tensor, opts: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return crossEntropyFromLogProbs(logp, target, { ...opts, labelSmoothing: 0 });
}

/** Cross-entropy of logits [N, C] against integer class targets [N], with label smoothing, ignore index, class weights. */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, C], got ${formatShape(logits.shape)}`);
  return crossEntropyFromLogProbs(logSoftmax(logits, 1), target, opts);
}

function crossEntropyFromLogProbs(logp: Tensor, target: Tensor, opts: CrossEntropyOptions): Tensor {
  if (!isInteger(target.dtype))
    throw new Error(`crossEntropy: targets must be integer class indices, got ${target.dtype}`);
  if (target.rank !== 1) throw new Error(`crossEntropy: targets must be [N], got ${formatShape(target.shape)}`);
  const c = logp.shape[1];
  if (typeof c !== 'number') throw new Error('crossEntropy: the class dim must be static');
  const ignore = opts.ignoreIndex ?? -100;
  const t64 = cast(target, 'int64');
  const valid = notEqual(t64, scalar(ignore, 'int64'));
  const safeT = where(valid, t64, scalar(0, 'int64'));
  const validF = cast(valid, logp.dtype);
  const picked = squeeze(gatherElements(logp, unsqueeze(safeT, 1), 1), 1); // [N]
  const eps = opts.labelSmoothing ?? 0;
  // per-sample weights: w[target] (1 without class weights), zero where ignored
  const wT = opts.weight ? mul(gather(opts.weight, safeT, 0), validF) : validF;
  let loss = neg(mul(picked, wT));
  const denom = sum(wT);
  if (eps > 0) {
    // PyTorch: (1 − ε)·nll + ε/C·Σ_c −w_c·logp_c, both normalised by Σ w[target]
    const smooth = opts.weight ? neg(sum(mul(logp, reshape(opts.weight, [1, c])), 1)) : neg(sum(logp, 1));
    loss = add(mul(loss, 1 - eps), mul(mul(smooth, validF), eps / c));
  }
  if ((opts.reduction ?? 'mean') === 'mean') return div(sum(loss), denom);
  return reduce(loss, opts.reduction ?? 'mean');
}

/** Binary cross-entropy on logits, numerically stable: max(x,0) − x·y + log(1 + e^{−|x|}). */
export function bceWithLogits(
  logits: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction; posWeight?: Tensor } = {},
): Tensor {
  const y = cast(target, logits.dtype);
  const sp = add(relu(neg(abs(logits))), log(add(exp(neg(abs(logits))), 1))); // log(1 + e^{−|x|})
  let l: Tensor;
  if (opts.posWeight) {
    const lw = add(mul(sub(opts.posWeight, 1), y), 1);
    l = add(mul(sub(1, y), logits), mul(lw, add(sp, relu(neg(logits)))));
  } else l = add(sub(relu(logits), mul(logits, y)), sp);
  return reduce(l, opts.reduction ?? 'mean');
}

/**
 * Mean squared error (x − y)² between same-shaped (or broadcastable) tensors, reduced by `reduction` (default mean).
 */
export const mseLoss = (x: Tensor, y: Tensor, reduction: Reduction = 'mean'): Tensor =>
  reduce(square(sub(x, y)), reduction);
/**
 * Mean absolute error |x − y| between same-shaped (or broadcastable) tensors, reduced by `reduction` (default mean).
 */
export const l1Loss = (x: Tensor, y: Tensor, reduction: Reduction = 'mean'): Tensor =>
  reduce(abs(sub(x, y)), reduction);

/** Huber loss: ½d² where |d| < δ, else δ(|d| − ½δ). */
export function huberLoss(x: Tensor, y: Tensor, delta = 1, reduction: Reduction = 'mean'): Tensor {
  const d = abs(sub(x, y));
  const q = minimum(d, delta);
  return reduce(add(mul(mul(q, q), 0.5), mul(sub(d, q), delta)), reduction);
}

/** KL(target ‖ input) with `input` as log-probabilities (torch.nn.functional.kl_div). */
export function klDiv(
  input: Tensor,
  target: Tensor,
  opts: { logTarget?: boolean; reduction?: Reduction | 'batchmean' } = {},
): Tensor {
  const r = opts.reduction ?? 'batchmean';
  const l = opts.logTarget
    ? mul(exp(target), sub(target, input))
    : where(notEqual(target, 0), mul(target, sub(log(maximum(target, 1e-38)), input)), 0);
  if (r === 'batchmean') return div(sum(l), reducedCount(l, [0], l.dtype));
  return reduce(l, r);
}

/** Mean accuracy of argmax(logits) against integer targets (a metric: no gradient). */
export function accuracy(logits: Tensor, target: Tensor): Tensor {
  return mean(cast(equal(argmax(logits, -1), cast(target, 'int64')), logits.dtype));
}
