// Host-side evaluation metrics over collected predictions (the training graph reports per-batch loss and
// in-graph metrics; these are computed once per validation over the whole split).

/** Fraction of rows whose argmax equals the target. */
export function accuracy(scores: ArrayLike<number>, classes: number, target: ArrayLike<number>): number {
  return topKAccuracy(scores, classes, target, 1);
}

/** Fraction of rows whose target is among the k highest scores. */
export function topKAccuracy(scores: ArrayLike<number>, classes: number, target: ArrayLike<number>, k: number): number {
  const n = target.length;
  let hit = 0;
  for (let i = 0; i < n; i++) {
    const t = Number(target[i]);
    const st = scores[i * classes + t];
    let above = 0;
    for (let c = 0; c < classes; c++) {
      const v = scores[i * classes + c];
      if (v > st || (v === st && c < t)) above++;
    }
    if (above < k) hit++;
  }
  return n ? hit / n : 0;
}

/**
 * The index of the highest score of each row of a row-major [N, classes] score array (the first on ties), as an
 * Int32Array [N].
 */
export function argmaxRows(scores: ArrayLike<number>, classes: number): Int32Array {
  const n = scores.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** confusion[t][p] counts. */
export function confusionMatrix(pred: ArrayLike<number>, target: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < target.length; i++) m[Number(target[i])][Number(pred[i])]++;
  return m;
}

/** Precision, recall and F1 of a classifier, each in [0, 1] (0 where a denominator is 0). */
export interface PrecisionRecallF1 {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/** Macro (mean over classes) or micro (pooled counts) precision, recall and F1. */
export function precisionRecallF1(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  classes: number,
  average: 'macro' | 'micro' = 'macro',
): PrecisionRecallF1 {
  const m = confusionMatrix(pred, target, classes);
  const tp = m.map((row, c) => row[c]);
  const fp = m[0].map((_, c) => m.reduce((s, row, t) => s + (t !== c ? row[c] : 0), 0));
  const fn = m.map((row, c) => row.reduce((s, v, p) => s + (p !== c ? v : 0), 0));
  const safe = (a: number, b: number) => (b === 0 ? 0 : a / b);
  if (average === 'micro') {
    const T = tp.reduce((a, b) => a + b, 0);
    const P = safe(T, T + fp.reduce((a, b) => a + b, 0));
    const R = safe(T, T + fn.reduce((a, b) => a + b, 0));
    return { precision: P, recall: R, f1: safe(2 * P * R, P + R) };
  }
  const ps = tp.map((t, c) => safe(t, t + fp[c]));
  const rs = tp.map((t, c) => safe(t, t + fn[c]));
  const fs = ps.map((p, c) => safe(2 * p * rs[c], p + rs[c]));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / classes;
  return { precision: mean(ps), recall: mean(rs), f1: mean(fs) };
}

/** Area under the ROC curve for binary scores (ties count half), by the rank-sum formula. */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const ranks = new Float64Array(scores.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let pos = 0;
  let sumPos = 0;
  for (let i = 0; i < labels.length; i++)
    if (Number(labels[i]) === 1) {
      pos++;
      sumPos += ranks[i];
    }
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (sumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean squared error of predictions against targets (same length; NaN when empty). */
export function mse(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
  return s / pred.length;
}
/** Mean absolute error of predictions against targets (same length; NaN when empty). */
export function mae(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += Math.abs(pred[i] - target[i]);
  return s / pred.length;
}
/**
 * Coefficient of determination R² = 1 − SS_res/SS_tot of predictions against targets (1 is perfect; −Infinity or NaN
 * when the targets are constant).
 */
export function r2(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < target.length; i++) mean += target[i];
  mean /= target.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < target.length; i++) {
    ssRes += (target[i] - pred[i]) ** 2;
    ssTot += (target[i] - mean) ** 2;
  }
  return 1 - ssRes / ssTot;
}
/** exp(mean negative log-likelihood per token). */
export const perplexity = (meanNll: number): number => Math.exp(meanNll);
