// One metric naming convention: `<split>/<name>` (`train/loss`, `val/accuracy`). The underscore spelling the
// Trainer's epoch logs use (`train_loss`, `val_accuracy`) is rewritten at log time, and accepted on read.

const SPLIT_PREFIX = /^(train|val|valid|validation|test|eval)_(.+)$/;

/**
 * The canonical spelling of a metric key: a leading `train_`, `val_`, `valid_`, `validation_`, `test_` or `eval_` becomes
 * `train/`, `val/`, ... (`train_loss` → `train/loss`); every other key is returned as it is.
 */
export function canonicalMetricKey(key: string): string {
  const m = SPLIT_PREFIX.exec(key);
  return m ? `${m[1]}/${m[2]}` : key;
}

/**
 * Every spelling a canonical key may be stored under: the key itself and, for `<split>/<name>`, the underscore form
 * written by runs logged before the convention (`train/loss` → `train/loss`, `train_loss`).
 */
export function metricKeySpellings(key: string): readonly string[] {
  const canonical = canonicalMetricKey(key);
  const m = /^(train|val|valid|validation|test|eval)\/(.+)$/.exec(canonical);
  return m ? [canonical, `${m[1]}_${m[2]}`] : [canonical];
}
