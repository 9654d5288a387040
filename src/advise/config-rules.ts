// Static checks of a training config: the learning rate against the optimizer's usual range, BatchNorm with tiny
// batches, weight decay on normalisation parameters, augmentation the data cannot take, an implicit seed, model
// selection on the test split, and model/data shape, class and vocabulary mismatches.
import type { TrainConfig } from '../train/config.js';
import type { Module } from '../nn/module.js';
import { BatchNorm, GroupNorm, LayerNorm, RMSNorm } from '../nn/layers/norm.js';
import type { Finding } from './finding.js';
import { checkpointMonitor } from '../train/run.js';

/** The usual learning-rate range of each optimizer (from the literature and the optimizers' defaults). */
export const LR_RANGE: Readonly<Record<TrainConfig['optimizer']['name'], readonly [number, number]>> = {
  sgd: [1e-4, 0.5],
  adam: [1e-5, 1e-2],
  adamw: [1e-5, 1e-2],
  rmsprop: [1e-5, 1e-2],
  lion: [1e-6, 1e-3],
};
const DEFAULT_LR: Readonly<Record<TrainConfig['optimizer']['name'], number>> = {
  sgd: 0.05,
  adam: 1e-3,
  adamw: 1e-3,
  rmsprop: 1e-3,
  lion: 1e-4,
};

export interface ConfigFacts {
  /** The config file as written (before defaults), to tell an explicit field from a default. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly cfg: TrainConfig;
  readonly model?: Module;
  /** Per-sample input shape the model expects, and the data's. */
  readonly modelInput?: readonly number[];
  readonly dataInput?: readonly number[];
  /** Output classes (last dim of the model output) and classes in the data. */
  readonly modelClasses?: number;
  readonly dataClasses?: number;
  /** Vocabulary of the model and of the tokenised data. */
  readonly modelVocab?: number;
  readonly dataVocab?: number;
  /** Whether the dataset supports augmentation (image data with a worker source). */
  readonly augmentable?: boolean;
}

/**
 * Runs the static config rules (learning rate against its optimizer's range, BatchNorm with tiny batches, weight
 * decay on norms, augmentation/data mismatch, implicit seed, test split used for selection, model/data shape
 * mismatch) and returns the findings with the ids of the rules checked.
 */
export function checkConfig(f: ConfigFacts): { findings: Finding[]; checked: string[] } {
  const { cfg, raw } = f;
  const findings: Finding[] = [];
  const checked = [
    'lr-out-of-range',
    'batchnorm-tiny-batch',
    'weight-decay-on-norms',
    'augment-mismatch',
    'seed-implicit',
    'test-split-selection',
    'shape-mismatch',
  ];
  const opt = cfg.optimizer;
  const [lo, hi] = LR_RANGE[opt.name];
  // guard: a factor of 3 beyond the usual range on either side (schedules and warm-up make the edges legitimate)
  if (opt.lr > 3 * hi || opt.lr < lo / 3) {
    findings.push({
      rule: 'lr-out-of-range',
      severity: 'warning',
      message: `optimizer.lr ${opt.lr} is ${opt.lr > hi ? 'above' : 'below'} the usual range of ${opt.name} (${lo} to ${hi})`,
      evidence: { lr: opt.lr, optimizer: opt.name, usual_low: lo, usual_high: hi },
      why:
        opt.lr > hi
          ? 'too high a rate makes the loss oscillate or diverge'
          : 'too low a rate makes training crawl: the same accuracy needs many times more epochs',
      fix: `use a rate inside the range (${opt.name}'s common default is ${DEFAULT_LR[opt.name]}), or run lathe lr-find`,
      diff: [{ path: 'optimizer.lr', from: opt.lr, to: DEFAULT_LR[opt.name] }],
    });
  }
  const modules = f.model ? allModules(f.model) : [];
  const bn = modules.filter((m) => m instanceof BatchNorm);
  // guard: batch statistics over fewer than 8 samples; accumulation does not help (each micro-batch is normalised alone)
  if (bn.length && cfg.data.batchSize < 8) {
    findings.push({
      rule: 'batchnorm-tiny-batch',
      severity: 'warning',
      message: `the model has ${bn.length} BatchNorm layer(s) and data.batchSize is ${cfg.data.batchSize}`,
      evidence: { batch_size: cfg.data.batchSize, batchnorm_layers: bn.length, accumulate: cfg.trainer.accumulate },
      why: 'BatchNorm normalises with the statistics of each batch: over a handful of samples they are noise, training is unstable and eval-mode statistics do not match training',
      fix: 'use a batch of 16 or more (gradient accumulation does not help BatchNorm), or GroupNorm/LayerNorm instead',
      diff: [{ path: 'data.batchSize', from: cfg.data.batchSize, to: 32 }],
    });
  }
  const norms = modules.filter(
    (m) => m instanceof BatchNorm || m instanceof LayerNorm || m instanceof GroupNorm || m instanceof RMSNorm,
  );
  const wd = opt.weightDecay;
  // guard: lathe's optimizers decay every parameter; below 0.01 (decoupled) or 1e-3 (L2 in the gradient) the pull on
  // norm gains over a run is negligible, so fire only above that and only when the model has norm layers
  const limit = opt.name === 'adamw' || opt.name === 'lion' ? 0.05 : 1e-3;
  if (norms.length && wd > limit) {
    findings.push({
      rule: 'weight-decay-on-norms',
      severity: 'warning',
      message: `weight decay ${wd} applies to the gains and biases of ${norms.length} normalisation layer(s) as well as to the weights`,
      evidence: { weight_decay: wd, norm_layers: norms.length, optimizer: opt.name },
      why: "decaying a norm layer's gain toward 0 shrinks its activations instead of regularising: lathe's optimizers decay every parameter, so the usual exclusion of norms and biases does not happen",
      fix: `lower the weight decay to ${limit} or below, or remove the norm layers' parameters from decay by freezing them`,
      diff: [{ path: 'optimizer.weightDecay', from: wd, to: limit }],
    });
  }
  // augmentation: only image datasets with a worker source can take it; elsewhere it is ignored or corrupts samples
  if (cfg.data.augment && f.augmentable === false) {
    findings.push({
      rule: 'augment-mismatch',
      severity: 'warning',
      message: `data.augment is set, but ${cfg.data.name} is not image data that the crop-and-flip augmentation applies to`,
      evidence: { dataset: cfg.data.name, augment: true },
      why: 'random crops and flips are label-preserving only for natural images; on tokens, tables or graphs they either do nothing or scramble the input against its label',
      fix: "remove data.augment (or use an augmentation that preserves this data's labels)",
      diff: [{ path: 'data.augment', from: true, to: false }],
    });
  }
  // guard: lathe's default seed is 0, so an omitted seed is still reproducible: info, not a warning
  if (!('seed' in raw)) {
    findings.push({
      rule: 'seed-implicit',
      severity: 'info',
      message: 'the config sets no seed; it runs with seed 0',
      evidence: { seed: cfg.seed },
      why: 'runs are reproducible either way, but an explicit seed records intent and makes seed sweeps (several seeds per config) deliberate',
      fix: 'write the seed in the config',
      diff: [{ path: 'seed', to: cfg.seed }],
    });
  }
  // model selection on the test split: validation is the test split and something selects on it
  const selects =
    cfg.trainer.epochs > 1 && (cfg.callbacks.earlyStopping !== undefined || cfg.callbacks.checkpoint.saveTopK >= 1);
  if (
    cfg.data.valFraction === 0 &&
    selects &&
    cfg.data.name !== 'text' &&
    cfg.data.name !== 'cora' &&
    cfg.data.name !== 'graph'
  ) {
    findings.push({
      rule: 'test-split-selection',
      severity: 'warning',
      message: `data.valFraction is 0, so validation runs on the test split, and ${cfg.callbacks.earlyStopping ? 'early stopping' : `the best of ${cfg.trainer.epochs} epochs`} is chosen on it`,
      evidence: {
        valFraction: 0,
        epochs: cfg.trainer.epochs,
        early_stopping: cfg.callbacks.earlyStopping !== undefined,
        monitor: checkpointMonitor(cfg),
      },
      why: 'choosing a checkpoint by test accuracy makes the reported test accuracy optimistic: it is no longer a held-out estimate',
      fix: 'hold out part of the training split for validation',
      diff: [{ path: 'data.valFraction', from: 0, to: 0.1 }],
    });
  }
  const same = (a?: readonly number[], b?: readonly number[]) =>
    !a || !b || (a.length === b.length && a.every((v, i) => v === b[i]));
  const mismatches: string[] = [];
  if (!same(f.modelInput, f.dataInput))
    mismatches.push(`the model takes inputs [${f.modelInput}] per sample, the data has [${f.dataInput}]`);
  if (
    f.modelClasses !== undefined &&
    f.dataClasses !== undefined &&
    f.modelClasses !== f.dataClasses &&
    cfg.loss !== 'lm'
  )
    mismatches.push(`the model outputs ${f.modelClasses} classes, the data has ${f.dataClasses}`);
  if (f.modelVocab !== undefined && f.dataVocab !== undefined && f.modelVocab < f.dataVocab)
    mismatches.push(`the model's vocabulary is ${f.modelVocab}, the data's tokens need ${f.dataVocab}`);
  if (mismatches.length) {
    const diff =
      f.modelClasses !== undefined && f.dataClasses !== undefined && f.modelClasses !== f.dataClasses
        ? [{ path: 'model.options.classes', from: f.modelClasses, to: f.dataClasses }]
        : f.modelVocab !== undefined && f.dataVocab !== undefined && f.modelVocab < f.dataVocab
          ? [{ path: 'model.options.vocab', from: f.modelVocab, to: f.dataVocab }]
          : undefined;
    findings.push({
      rule: 'shape-mismatch',
      severity: 'error',
      message: mismatches.join('; '),
      evidence: {
        ...(f.modelInput ? { model_input: [...f.modelInput] } : {}),
        ...(f.dataInput ? { data_input: [...f.dataInput] } : {}),
        ...(f.modelClasses !== undefined ? { model_classes: f.modelClasses } : {}),
        ...(f.dataClasses !== undefined ? { data_classes: f.dataClasses } : {}),
        ...(f.modelVocab !== undefined ? { model_vocab: f.modelVocab, data_vocab: f.dataVocab ?? 0 } : {}),
      },
      why: 'the run fails at the first batch, or — with too many output classes or a too-large vocabulary — trains silently with slots no label uses; with too few, labels index past the logits',
      fix: 'make the model options match the data',
      diff,
    });
  }
  return { findings, checked };
}

function allModules(m: Module): Module[] {
  return [m, ...m.children().flatMap(([, c]) => allModules(c))];
}
