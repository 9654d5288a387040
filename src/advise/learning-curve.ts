// Predicting accuracy for a plan shorter than any recorded run: test error falls as a power of the epochs trained,
// err(e) = err(E)·(E/e)^α (each run completing its own schedule). α is fitted (least squares on log error against
// log epochs) over the records of the same setup when there are two or more; otherwise the default below, the mean
// of the two fits this project's records allow: the 431k CNN (9 and 15 epochs: α 0.17) and ResNet 1-1-1 (12 and 30
// epochs: α 0.20). Checked out of sample in docs/expert.md.
import type { QualityRecord } from './quality.js';

/** The power-law exponent used when a setup has a single record. */
export const DEFAULT_ALPHA = 0.18;

/** What {@link scaleToEpochs} predicts: the accuracy, the exponent, the record scaled from and how α was found. */
export interface ScaledAccuracy {
  readonly accuracy: number;
  readonly alpha: number;
  readonly from: QualityRecord;
  readonly how: string;
}

/** Least-squares slope of log error against log epochs, negated (records with distinct epoch counts). */
function fitAlpha(records: readonly QualityRecord[]): number | undefined {
  const pts = records.filter((r) => r.accuracy < 1).map((r) => [Math.log(r.epochs), Math.log(1 - r.accuracy)]);
  if (new Set(pts.map((p) => p[0])).size < 2) return undefined;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const sxy = pts.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = pts.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const alpha = -sxy / sxx;
  // a fit where more epochs made it worse says nothing about shorter plans: fall back to the default
  return alpha > 0 ? alpha : undefined;
}

/**
 * The expected accuracy after `epochs` from the records of one setup (same model, options and dataset), scaled from
 * the shortest record of at least `epochs` epochs (or the longest, for a plan longer than all of them — no
 * extrapolation upwards: the record itself).
 */
export function scaleToEpochs(records: readonly QualityRecord[], epochs: number): ScaledAccuracy {
  if (!records.length) throw new Error('scaleToEpochs: no records');
  if (!(epochs >= 1)) throw new Error(`scaleToEpochs: epochs must be at least 1, got ${epochs}`);
  const sorted = [...records].sort((a, b) => a.epochs - b.epochs);
  const from = sorted.find((r) => r.epochs >= epochs) ?? sorted[sorted.length - 1];
  const fitted = fitAlpha(sorted);
  const alpha = fitted ?? DEFAULT_ALPHA;
  const how =
    fitted !== undefined
      ? `α ${alpha.toFixed(2)} fitted on the ${sorted.map((r) => r.epochs).join('/')}-epoch records`
      : `α ${alpha} (default)`;
  if (from.epochs <= epochs) return { accuracy: from.accuracy, alpha, from, how };
  const err = (1 - from.accuracy) * (from.epochs / epochs) ** alpha;
  return { accuracy: Math.max(0, 1 - err), alpha, from, how };
}
