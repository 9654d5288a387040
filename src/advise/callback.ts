// reviewCallback(): the run-time review rules as a Trainer callback. It checks the first step's loss against
// ln(classes), the epoch history after every epoch (divergence, a flat loss, overfitting, chance accuracy), warns on
// stderr once per rule, writes each finding to the trainer's log and hands it to `onFinding` (the CLI logs findings
// to the tracking run as tags `review.<rule>`).
import type { Callback } from '../train/callbacks.js';
import { suppress, type Finding } from './finding.js';
import { checkHistory, type EpochRow } from './run-rules.js';

/**
 * Options of {@link reviewCallback}: what the run trains (for the init-loss and chance-accuracy rules), which
 * rules to silence, and how findings are reported.
 */
export interface ReviewCallbackOptions {
  /** Classes of a classifier (or vocabulary of an LM): enables init-loss and chance-accuracy. */
  readonly classes?: number;
  readonly lm?: boolean;
  readonly ignore?: readonly string[];
  /** Called once per rule that fires. */
  readonly onFinding?: (f: Finding) => void;
  /** Print a warning line on stderr per finding (default true). */
  readonly warn?: boolean;
}

/**
 * A Trainer callback that reviews a run while it trains: after the first step it compares the loss with ln(classes)
 * (init-loss), and after each epoch it runs {@link checkHistory} on the metrics so far. Each rule is reported at most
 * once per run, as a `review` log event, a stderr line (unless `warn: false`) and `onFinding`; its state is
 * checkpointed so a resumed run does not repeat findings.
 */
export function reviewCallback(opts: ReviewCallbackOptions = {}): Callback {
  const seen = new Set<string>();
  const history: EpochRow[] = [];
  const found: Finding[] = [];
  const report = (t: { log(r: Record<string, unknown>): void }, fs: readonly Finding[]): void => {
    for (const f of suppress(fs, opts.ignore ?? []).kept) {
      if (seen.has(f.rule)) continue;
      seen.add(f.rule);
      found.push(f);
      t.log({ event: 'review', rule: f.rule, severity: f.severity, message: f.message, evidence: f.evidence });
      if (opts.warn ?? true)
        process.stderr.write(`lathe review: ${f.severity} ${f.rule}: ${f.message} (fix: ${f.fix})\n`);
      opts.onFinding?.(f);
    }
  };
  return {
    name: 'Review',
    onBatchEnd(t, logs) {
      if (logs.step !== 1 || !opts.classes || opts.classes < 2) return;
      const expected = Math.log(opts.classes);
      // the loss of the first step is the loss at initialisation (the update comes after it); same band as review
      if (Math.abs(logs.loss - expected) > Math.max(0.5 * expected, 1)) {
        report(t, [
          {
            rule: 'init-loss',
            severity: 'warning',
            message: `the first step's loss is ${logs.loss.toFixed(3)}, expected about ln(${opts.classes}) = ${expected.toFixed(3)}`,
            evidence: { init_loss: logs.loss, expected, classes: opts.classes },
            why: 'an untrained classifier should be unsure of every class; a loss far from ln(C) means a bad initial scale or leaking labels',
            fix: 'run `lathe review` on the config for the layer-by-layer statistics',
          },
        ]);
      }
    },
    onEpochEnd(t, logs) {
      history.push(logs.metrics);
      report(t, checkHistory(history, { classes: opts.classes, lm: opts.lm }).findings);
    },
    state: () => ({ history, seen: [...seen] }),
    load(s) {
      history.splice(0, history.length, ...((s.history as EpochRow[]) ?? []));
      for (const r of (s.seen as string[]) ?? []) seen.add(r);
    },
  };
}
