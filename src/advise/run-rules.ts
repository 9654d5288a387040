// Checks of a run's epoch history (metrics.csv of a run directory, or the epochs a Trainer callback has seen):
// divergence, a loss that does not decrease, overfitting, accuracy at chance level.
import type { Finding } from './finding.js';

export type EpochRow = Readonly<Record<string, number>>;

const series = (h: readonly EpochRow[], k: string): number[] => h.map((r) => r[k]).filter((v) => v !== undefined);

/**
 * Runs the training-history rules (diverged, loss not decreasing, overfitting, chance accuracy) on per-epoch
 * metric rows (`train_loss`, `val_loss`, `val_accuracy`); `classes` sets the chance level, and `lm` turns the
 * chance-accuracy rule off.
 */
export function checkHistory(
  history: readonly EpochRow[],
  opts: { classes?: number; lm?: boolean } = {},
): { findings: Finding[]; checked: string[] } {
  const findings: Finding[] = [];
  const checked = ['diverged', 'loss-not-decreasing', 'overfitting', 'chance-accuracy'];
  const train = series(history, 'train_loss');
  const val = series(history, 'val_loss');
  const bad = history.findIndex((r) =>
    ['train_loss', 'val_loss'].some((k) => r[k] !== undefined && !Number.isFinite(r[k])),
  );
  const minTrain = Math.min(...train.filter(Number.isFinite));
  const blowUp = train.findIndex((v, i) => i > 0 && Number.isFinite(v) && v > 3 * minTrain && v > train[0]);
  // guard: a loss that rises above its first value and 3× its best, or a non-finite loss; noise does neither
  if (bad >= 0 || blowUp >= 0) {
    const at = bad >= 0 ? bad : blowUp;
    findings.push({
      rule: 'diverged',
      severity: 'error',
      message:
        bad >= 0
          ? `the loss is not finite from epoch ${at + 1}`
          : `the training loss rose to ${train[blowUp].toPrecision(3)} at epoch ${blowUp + 1}, ${(train[blowUp] / minTrain).toFixed(1)}× its best`,
      evidence: {
        epoch: at + 1,
        train_loss: train.map((v) => (Number.isFinite(v) ? Number(v.toPrecision(4)) : String(v))),
      },
      why: "a diverged run's weights are useless; later epochs only waste time",
      fix: 'lower the learning rate (÷10 as a first step) and clip gradients',
      diff: [{ path: 'trainer.clipGradNorm', to: 1 }],
    });
  }
  // guard: at least 3 epochs, and less than a 5 % fall from first to best epoch
  if (train.length >= 3 && bad < 0 && minTrain > 0.95 * train[0]) {
    findings.push({
      rule: 'loss-not-decreasing',
      severity: 'warning',
      message: `the training loss went from ${train[0].toPrecision(4)} to at best ${minTrain.toPrecision(4)} in ${train.length} epochs (${((1 - minTrain / train[0]) * 100).toFixed(1)} % lower)`,
      evidence: { first: train[0], best: minTrain, epochs: train.length },
      why: 'a model that does not fit its training data learns nothing: the learning rate is far off, the labels do not match the inputs, or the gradient does not reach the weights',
      fix: 'run `lathe lr-find` on the config and use the learning rate it suggests; run `lathe review <config>` for the dynamic checks (overfit one batch)',
    });
  }
  if (val.length >= 4 && train.length === val.length && bad < 0) {
    const best = val.indexOf(Math.min(...val));
    const last = val[val.length - 1];
    const trainFalls = train[train.length - 1] < train[best];
    // guard: 4+ epochs, the best validation epoch at least 2 epochs back, validation loss 10 % above its best while
    // the training loss kept falling (noise alone rarely does all three)
    if (val.length - 1 - best >= 2 && last > 1.1 * val[best] && trainFalls) {
      findings.push({
        rule: 'overfitting',
        severity: 'warning',
        message: `validation loss bottomed at ${val[best].toPrecision(4)} in epoch ${best + 1} and rose to ${last.toPrecision(4)} by epoch ${val.length} while the training loss kept falling`,
        evidence: {
          best_epoch: best + 1,
          best_val_loss: val[best],
          last_val_loss: last,
          last_train_loss: train[train.length - 1],
        },
        why: 'past the best epoch the model memorises the training set; the later epochs cost time and accuracy',
        fix: 'stop early on validation loss, add regularisation (dropout, weight decay, augmentation) or more data',
        diff: [{ path: 'callbacks.earlyStopping', to: { monitor: 'val_loss', patience: 2 } }],
      });
    }
  }
  const acc = series(history, 'val_accuracy');
  if (opts.classes && opts.classes >= 2 && !opts.lm && acc.length >= 2) {
    const best = Math.max(...acc);
    const chance = 1 / opts.classes;
    // guard: 2+ epochs and the best accuracy within 1.5× chance (so a slow but learning model stays silent)
    if (best <= 1.5 * chance) {
      findings.push({
        rule: 'chance-accuracy',
        severity: 'error',
        message: `the best validation accuracy ${(best * 100).toFixed(1)} % is at chance level (${(chance * 100).toFixed(1)} % for ${opts.classes} classes)`,
        evidence: { best_val_accuracy: best, chance, classes: opts.classes, epochs: acc.length },
        why: 'the model predicts no better than guessing: the inputs do not reach it, the labels are shuffled against the inputs, or training diverged to a constant',
        fix: 'check that labels match inputs (view a few samples), then run `lathe review <config>` for the dynamic checks',
      });
    }
  }
  return { findings, checked };
}

/** Reads metrics.csv (one row per epoch, a header of metric names). */
export function parseMetricsCsv(text: string): EpochRow[] {
  const lines = text.split('\n').filter((l) => l.trim());
  if (!lines.length) return [];
  const head = lines[0].split(',');
  return lines
    .slice(1)
    .map((l) =>
      Object.fromEntries(
        l.split(',').flatMap((v, i) => (v === '' || head[i] === undefined ? [] : [[head[i], Number(v)] as const])),
      ),
    );
}
