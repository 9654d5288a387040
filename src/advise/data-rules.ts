// Data checks over arrays: train/test leakage by content hash, duplicates, conflicting labels, class imbalance,
// constant, unscaled, out-of-range and non-finite features, and a label-noise estimate from nearest neighbours.
// Each rule's false-positive guard is written beside its threshold (and in docs/expert.md).
import { createHash } from 'node:crypto';
import type { NDArray } from '../graph/ndarray.js';
import { Rng } from '../util/random.js';
import type { Finding } from './finding.js';

/** Arrays of one split: inputs x [N, ...] and integer class labels y [N] (or regression targets). */
export interface DataSplit {
  readonly x: NDArray;
  readonly y: NDArray;
}

/**
 * A dataset handed to {@link checkData}: the train split (and the test split when there is one) as `x`/`y` arrays
 * with samples on the first axis, plus optional class and feature names used in messages.
 */
export interface DataUnderReview {
  readonly train: DataSplit;
  readonly test?: DataSplit;
  /** Class names when the targets are classes. */
  readonly classes?: readonly string[];
  /** Feature names of tabular data (one per column), for messages. */
  readonly features?: readonly string[];
  /** Inputs already normalised by the loader (catalog images): the scale checks do not apply. */
  readonly normalized?: boolean;
}

const rowSize = (a: NDArray): number => a.shape.slice(1).reduce((p, q) => p * q, 1);
const rows = (a: NDArray): number => a.shape[0];
const floats = (a: NDArray): ArrayLike<number> => a.data as unknown as ArrayLike<number>;
const labels = (y: NDArray): number[] => Array.from(y.data as ArrayLike<number | bigint>, Number);

function rowHashes(x: NDArray): string[] {
  const n = rows(x);
  const bytes = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
  const per = bytes.byteLength / Math.max(1, n);
  const out: string[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      createHash('sha1')
        .update(bytes.subarray(i * per, (i + 1) * per))
        .digest('base64'),
    );
  return out;
}

/** Whether targets look like class indices (integers, few distinct values). */
function isClassification(d: DataUnderReview): boolean {
  if (d.train.y.shape.length !== 1) return false; // per-token targets (language models) or dense targets
  if (d.classes?.length) return true;
  const y = labels(d.train.y);
  if (d.train.y.dtype === 'int64' || d.train.y.dtype === 'int32') return true;
  const distinct = new Set(y);
  return y.every(Number.isInteger) && distinct.size <= Math.max(2, Math.min(100, y.length / 5));
}

const pct = (v: number): number => Math.round(v * 10000) / 100;

/**
 * Runs the dataset rules (non-finite features, train/test leakage, duplicate and conflicting samples, class
 * imbalance, constant, unscaled or out-of-range features, label noise) on the data and returns the findings
 * with the ids of the rules checked. Pure: it reads the arrays and changes nothing.
 */
export function checkData(d: DataUnderReview): { findings: Finding[]; checked: string[] } {
  const findings: Finding[] = [];
  const checked: string[] = [];
  const classification = isClassification(d);
  const trainHash = rowHashes(d.train.x);
  const ytrain = labels(d.train.y);
  const n = trainHash.length;

  // non-finite features: one NaN or Inf poisons every gradient it reaches
  checked.push('nonfinite-features');
  if (d.train.x.dtype === 'float32' || d.train.x.dtype === 'float64') {
    const xs = floats(d.train.x);
    let bad = 0;
    for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i])) bad++;
    if (bad > 0) {
      findings.push({
        rule: 'nonfinite-features',
        severity: 'error',
        message: `${bad} training input values are NaN or infinite (${pct(bad / xs.length)} % of ${xs.length})`,
        evidence: { nonfinite_values: bad, values: xs.length },
        why: 'a single NaN input makes the loss and every gradient it reaches NaN; training diverges at the first batch that holds it',
        fix: 'impute missing values (median per column) or drop the rows before training',
      });
    }
  }

  // leakage: test samples whose exact content is in the training split
  if (d.test) {
    checked.push('train-test-leakage');
    const inTrain = new Set(trainHash);
    const testHash = rowHashes(d.test.x);
    const leaked = testHash.filter((h) => inTrain.has(h)).length;
    // guard: exact duplicates happen naturally in big image sets (a blank sample, a repeated photo); fire from 1 %
    // of the test split and at least 3 samples
    if (leaked >= 3 && leaked / testHash.length >= 0.01) {
      findings.push({
        rule: 'train-test-leakage',
        severity: 'error',
        message: `${leaked} of ${testHash.length} test samples (${pct(leaked / testHash.length)} %) also occur in the training split (same bytes)`,
        evidence: { leaked, test_samples: testHash.length, fraction: leaked / testHash.length },
        why: 'the test score then measures memorisation of those samples, not generalisation, and overstates accuracy',
        fix: 'deduplicate across splits before splitting (hash each sample, keep each hash on one side)',
      });
    }
  }

  // duplicates and conflicting labels inside the training split
  checked.push('duplicate-samples', 'conflicting-labels');
  {
    const groups = new Map<string, number[]>();
    trainHash.forEach((h, i) => {
      const g = groups.get(h);
      if (g) g.push(i);
      else groups.set(h, [i]);
    });
    let dupRows = 0;
    let conflictRows = 0;
    const conflictExamples: number[] = [];
    for (const g of groups.values()) {
      if (g.length < 2) continue;
      dupRows += g.length - 1;
      if (classification && new Set(g.map((i) => ytrain[i])).size > 1) {
        conflictRows += g.length;
        if (conflictExamples.length < 5) conflictExamples.push(g[0]);
      }
    }
    // guard: a few repeats are normal; fire when more than 5 % of training rows are copies
    if (dupRows / n > 0.05) {
      findings.push({
        rule: 'duplicate-samples',
        severity: 'warning',
        message: `${dupRows} of ${n} training rows (${pct(dupRows / n)} %) are exact copies of another row`,
        evidence: { duplicate_rows: dupRows, rows: n, fraction: dupRows / n },
        why: 'copies weight some samples more than others and, with a validation split cut from train, leak into validation',
        fix: 'drop exact duplicates (keep one row per content hash) unless the repetition is deliberate oversampling',
      });
    }
    // guard: at least 3 rows and 0.1 % of the split, so one mislabelled pair in a big set stays silent
    if (classification && conflictRows >= 3 && conflictRows / n >= 0.001) {
      findings.push({
        rule: 'conflicting-labels',
        severity: 'warning',
        message: `${conflictRows} training rows share their exact input with a row of another label (first rows: ${conflictExamples.join(', ')})`,
        evidence: { conflicting_rows: conflictRows, rows: n, first_rows: conflictExamples },
        why: 'identical inputs with different labels cap the reachable accuracy and usually mean labelling errors or a key column missing from the features',
        fix: 'inspect those rows: fix the labels, or add the feature that tells them apart',
      });
    }
  }

  if (classification) {
    checked.push('class-imbalance');
    const counts = new Map<number, number>();
    for (const c of ytrain) counts.set(c, (counts.get(c) ?? 0) + 1);
    const declared = d.classes?.length ?? 0;
    const values = [...counts.values()];
    const missing = declared ? Array.from({ length: declared }, (_, i) => i).filter((c) => !counts.has(c)) : [];
    const max = Math.max(...values);
    const min = missing.length ? 0 : Math.min(...values);
    // guard: ratios under 10:1 are common and handled by the loss as is; fire from 10:1 or a class with no sample
    if (missing.length || max / min >= 10) {
      const minority = [...counts.entries()].sort((a, b) => a[1] - b[1])[0];
      findings.push({
        rule: 'class-imbalance',
        severity: 'warning',
        message: missing.length
          ? `classes ${missing.join(', ')} have no training sample`
          : `the largest class has ${max} samples, the smallest (${minority[0]}) ${min}: ${(max / min).toFixed(1)}:1`,
        evidence: {
          largest: max,
          smallest: min,
          ratio: min ? max / min : Infinity,
          classes: counts.size,
          ...(missing.length ? { missing_classes: missing } : {}),
        },
        why: 'accuracy then rewards predicting the majority class; the minority classes are learnt late or never',
        fix: 'use class weights in the loss (crossEntropy weight option) or resample the minority classes, and report per-class recall or macro F1',
      });
    }
  }

  // feature checks for tabular data (one row per sample); image pixels may be constant (borders) by nature
  const tabular =
    d.train.x.shape.length === 2 && !d.normalized && (d.train.x.dtype === 'float32' || d.train.x.dtype === 'float64');
  if (tabular) {
    checked.push('constant-feature', 'unscaled-features', 'out-of-range-features');
    const dim = rowSize(d.train.x);
    const xs = floats(d.train.x);
    const mean = new Float64Array(dim);
    const sq = new Float64Array(dim);
    const lo = new Float64Array(dim).fill(Infinity);
    const hi = new Float64Array(dim).fill(-Infinity);
    const cnt = new Float64Array(dim);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < dim; j++) {
        const v = xs[i * dim + j];
        if (!Number.isFinite(v)) continue;
        mean[j] += v;
        sq[j] += v * v;
        cnt[j]++;
        if (v < lo[j]) lo[j] = v;
        if (v > hi[j]) hi[j] = v;
      }
    const std = new Float64Array(dim);
    for (let j = 0; j < dim; j++) {
      mean[j] /= Math.max(1, cnt[j]);
      std[j] = Math.sqrt(Math.max(0, sq[j] / Math.max(1, cnt[j]) - mean[j] * mean[j]));
    }
    const name = (j: number) => d.features?.[j] ?? `column ${j}`;
    const constant = [...Array(dim).keys()].filter((j) => cnt[j] > 0 && hi[j] === lo[j]);
    if (constant.length) {
      findings.push({
        rule: 'constant-feature',
        severity: 'warning',
        message: `${constant.length} feature(s) never change in the training split: ${constant.slice(0, 5).map(name).join(', ')}`,
        evidence: { constant_features: constant.map(name).slice(0, 10), features: dim },
        why: 'a constant column carries no information; standardising it divides by zero',
        fix: 'drop the constant columns',
        where: constant.slice(0, 3).map(name).join(', '),
      });
    }
    const varying = [...Array(dim).keys()].filter((j) => std[j] > 0);
    if (varying.length) {
      const stds = varying.map((j) => std[j]);
      const spread = Math.max(...stds) / Math.min(...stds);
      const offCentre = varying.filter((j) => Math.abs(mean[j]) > 10 * std[j] && Math.abs(mean[j]) > 10);
      const worst = varying.reduce((a, j) => (std[j] > std[a] ? j : a), varying[0]);
      // guard: standardised data has spread ~1–10; fire from 100× between column scales, or a column whose magnitude
      // (|mean| or std) is beyond 100 — scales a default initialisation does not expect
      if (spread >= 100 || std[worst] >= 100 || offCentre.length) {
        findings.push({
          rule: 'unscaled-features',
          severity: 'warning',
          message: `features are not normalised: column scales differ ${spread.toFixed(0)}× (std of ${name(worst)} is ${std[worst].toPrecision(3)})${offCentre.length ? `, ${offCentre.length} column(s) far from zero mean` : ''}`,
          evidence: { std_ratio: spread, largest_std: std[worst], off_centre_columns: offCentre.length },
          why: 'gradient descent on unscaled inputs is ill-conditioned: the large columns dominate the first layer and the learning rate that suits them is too small for the rest',
          fix: 'standardise each column with the training mean and std (data/transforms/tabular.ts standardize), computed on train only',
          where: name(worst),
        });
      }
      if (d.test && d.test.x.shape.length === 2) {
        const tx = floats(d.test.x);
        const tn = rows(d.test.x);
        let outRows = 0;
        const cols = new Set<number>();
        for (let i = 0; i < tn; i++) {
          let out = false;
          for (const j of varying) {
            const v = tx[i * dim + j];
            if (Number.isFinite(v) && (v > hi[j] + 5 * std[j] || v < lo[j] - 5 * std[j])) {
              out = true;
              cols.add(j);
            }
          }
          if (out) outRows++;
        }
        // guard: 5 training stds beyond the training range, on more than 1 % of test rows (a few outliers are normal)
        if (outRows / tn > 0.01) {
          findings.push({
            rule: 'out-of-range-features',
            severity: 'warning',
            message: `${outRows} of ${tn} test rows (${pct(outRows / tn)} %) have a feature more than 5 training stds outside the training range (${[...cols].slice(0, 5).map(name).join(', ')})`,
            evidence: { rows_out_of_range: outRows, test_rows: tn, columns: [...cols].map(name).slice(0, 10) },
            why: 'the model never saw such values; its predictions there are extrapolation, and a unit change or a shifted source is the usual cause',
            fix: 'check the units and source of those columns; clip or retrain with data that covers the range',
            where: [...cols].slice(0, 3).map(name).join(', '),
          });
        }
      }
    }
  }

  if (classification && n >= 50 && (d.train.x.dtype === 'float32' || d.train.x.dtype === 'float64')) {
    checked.push('label-noise');
    const est = labelNoise(d.train.x, ytrain, tabular);
    // guard: only samples whose 5 nearest neighbours agree (4 or 5 of them) on one other label count — plain kNN
    // error is high on hard but clean data (the Fashion-MNIST subset: 5.75 % by this count); fire from 10 %
    if (est.fraction >= 0.1) {
      findings.push({
        rule: 'label-noise',
        severity: 'warning',
        message: `about ${pct(est.fraction)} % of training labels look wrong: for ${est.contradicted} of ${est.probed} probed samples at least 4 of the 5 nearest neighbours agree on another class`,
        evidence: {
          contradicted: est.contradicted,
          probed: est.probed,
          fraction: est.fraction,
          examples: est.examples,
        },
        why: 'noisy labels cap accuracy and, once memorised, hurt generalisation; a model trained on them learns the noise late in training',
        fix: 'inspect the listed rows and relabel them, or train with label smoothing (crossEntropy labelSmoothing 0.1) and early stopping',
      });
    }
  }
  return { findings, checked };
}

/** Samples of which at least 4 of the 5 nearest neighbours (L2, standardised columns for tabular data) carry one other label. */
export function labelNoise(
  x: NDArray,
  y: readonly number[],
  standardise: boolean,
): { contradicted: number; probed: number; fraction: number; examples: number[] } {
  const n = rows(x);
  const dim = rowSize(x);
  const xs = floats(x);
  const rng = new Rng(7);
  const pick = (k: number): number[] => {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < Math.min(k, n); i++) {
      const j = i + rng.int(n - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, Math.min(k, n));
  };
  // bounded work: ~400 probes against ~3000 references
  const budget = 1.2e9 / Math.max(1, dim);
  const refs = pick(Math.min(3000, Math.max(200, Math.floor(Math.sqrt(budget * 7)))));
  const probes = refs.slice(0, Math.min(400, refs.length));
  let scale = new Float64Array(dim).fill(1);
  if (standardise) {
    const m = new Float64Array(dim);
    const s = new Float64Array(dim);
    for (const i of refs)
      for (let j = 0; j < dim; j++) {
        const v = xs[i * dim + j];
        m[j] += v;
        s[j] += v * v;
      }
    scale = scale.map((_, j) => {
      const mu = m[j] / refs.length;
      const sd = Math.sqrt(Math.max(0, s[j] / refs.length - mu * mu));
      return sd > 0 ? 1 / sd : 0;
    });
  }
  let contradicted = 0;
  const examples: number[] = [];
  const k = 5;
  for (const p of probes) {
    const best: { d: number; i: number }[] = [];
    for (const r of refs) {
      if (r === p) continue;
      let dist = 0;
      for (let j = 0; j < dim; j++) {
        const t = (xs[p * dim + j] - xs[r * dim + j]) * scale[j];
        dist += t * t;
      }
      if (best.length < k || dist < best[best.length - 1].d) {
        best.push({ d: dist, i: r });
        best.sort((a, b) => a.d - b.d);
        if (best.length > k) best.pop();
      }
    }
    const ls = best.map((b) => y[b.i]);
    const votes = new Map<number, number>();
    for (const l of ls) votes.set(l, (votes.get(l) ?? 0) + 1);
    const [top, count] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] ?? [y[p], 0];
    if (ls.length === k && count >= k - 1 && top !== y[p]) {
      contradicted++;
      if (examples.length < 8) examples.push(p);
    }
  }
  return { contradicted, probed: probes.length, fraction: contradicted / Math.max(1, probes.length), examples };
}
