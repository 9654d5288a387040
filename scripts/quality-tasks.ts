// Full-quality tasks for `npm run quality -- seq2seq | classifier` (scripts/quality.ts dispatches here).
//   seq2seq     date-format conversion ("Thursday, March 7, 2024", "7 Mar 2024", "07/03/2024", ... → "2024-03-07"):
//               a rule-generated transduction task; exact-match accuracy of greedy decoding on held-out dates
//               (dates never seen in training, chosen by a hash of the day).
//   classifier  Debian `fortunes` categories (apt-get install fortune-mod fortunes): the encoder classifier over
//               BPE tokens learned from the training texts (optionally after masked-LM pre-training on the other
//               fortunes on the machine) against a bag-of-words logistic regression trained in the same run on the
//               same split; `validate` scores a held-out fifth of the training split instead of the test split.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ndarray, type NDArray } from '../src/graph/ndarray.js';
import { manualSeed, Module } from '../src/nn/index.js';
import type { Tensor } from '../src/graph/tensor.js';
import { linear } from '../src/graph/ops/linalg.js';
import { Generator } from '../src/nn/init.js';
import { adam, cosineWithWarmup } from '../src/optim/index.js';
import { Trainer } from '../src/train/trainer.js';
import { ArrayLoader } from '../src/train/loader.js';
import { Seq2Seq, greedyDecode, seq2seqLoss } from '../src/models/seq2seq.js';
import { EncoderClassifier, lmLoss } from '../src/models/transformer.js';
import { accuracy, crossEntropy } from '../src/nn/losses.js';
import { BpeTokenizer } from '../src/data/text/bpe.js';

// ---- seq2seq: dates ---------------------------------------------------------------------------------

/** LATHE_THREADS=n limits ORT's intra-op threads (when other runs share the cores). */
const session = process.env.LATHE_THREADS ? { threads: Number(process.env.LATHE_THREADS) } : undefined;

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const ALPHABET = ' ,./-0123456789' + 'abcdefghijklmnopqrstuvwxyz' + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const [PAD, BOS, EOS] = [0, 1, 2];
const charId = (c: string): number => {
  const i = ALPHABET.indexOf(c);
  if (i < 0) throw new Error(`date task: character ${JSON.stringify(c)} is not in the alphabet`);
  return 3 + i;
};
const SRC_LEN = 32;
const TGT_LEN = 11; // BOS/EOS + "yyyy-mm-dd"
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The same day written in one of six formats. */
function formatDate(d: Date, f: number): string {
  const [y, m, day, wd] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCDay()];
  switch (f) {
    case 0:
      return `${day} ${MONTHS[m]} ${y}`;
    case 1:
      return `${MONTHS[m]} ${day}, ${y}`;
    case 2:
      return `${pad2(day)}/${pad2(m + 1)}/${y}`;
    case 3:
      return `${day} ${MONTHS[m].slice(0, 3).toLowerCase()} ${y}`;
    case 4:
      return `${DAYS[wd]}, ${MONTHS[m]} ${day}, ${y}`;
    default:
      return `${DAYS[wd].slice(0, 3)} ${pad2(day)}.${pad2(m + 1)}.${y}`;
  }
}
const iso = (d: Date): string => `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;

/** Days 1900-01-01 .. 2099-12-31; a day is held out when a multiplicative hash of its index falls in the last 10 %. */
function dateSplit(): { train: Date[]; test: Date[] } {
  const start = Date.UTC(1900, 0, 1);
  const end = Date.UTC(2099, 11, 31);
  const train: Date[] = [];
  const test: Date[] = [];
  for (let k = 0, t = start; t <= end; k++, t += 86_400_000) {
    const h = Math.imul(k + 1, 2654435761) >>> 0;
    (h % 10 === 0 ? test : train).push(new Date(t));
  }
  return { train, test };
}

/** Source ids [n, SRC_LEN], decoder input ids [n, TGT_LEN] (BOS + target) and targets [n, TGT_LEN] (target + EOS). */
function encodeDates(
  days: readonly Date[],
  n: number,
  g: Generator,
): { src: NDArray; tgtIn: NDArray; y: NDArray; want: string[]; shown: string[] } {
  const tgtIn = new Array<number>(n * TGT_LEN).fill(PAD);
  const y = new Array<number>(n * TGT_LEN).fill(PAD);
  const src = new Array<number>(n * SRC_LEN).fill(PAD);
  const want: string[] = [];
  const shown: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = days[g.int(days.length)];
    const s = formatDate(d, g.int(6));
    const t = iso(d);
    [...s].forEach((c, j) => (src[i * SRC_LEN + j] = charId(c)));
    tgtIn[i * TGT_LEN] = BOS;
    [...t].forEach((c, j) => {
      tgtIn[i * TGT_LEN + 1 + j] = charId(c);
      y[i * TGT_LEN + j] = charId(c);
    });
    y[i * TGT_LEN + t.length] = EOS;
    want.push(t);
    shown.push(s);
  }
  return {
    src: ndarray('int64', [n, SRC_LEN], src),
    tgtIn: ndarray('int64', [n, TGT_LEN], tgtIn),
    y: ndarray('int64', [n, TGT_LEN], y),
    want,
    shown,
  };
}

export async function seq2seqDates(epochs: number): Promise<void> {
  const { train, test } = dateSplit();
  const g = new Generator(1);
  const tr = encodeDates(train, 20_000, g);
  const te = encodeDates(test, 1000, new Generator(2));
  manualSeed(0);
  const model = new Seq2Seq({
    vocab: 3 + ALPHABET.length,
    srcLen: SRC_LEN,
    tgtLen: TGT_LEN,
    dim: 64,
    encoderLayers: 2,
    decoderLayers: 2,
    heads: 4,
    dropout: 0,
  });
  const batch = 64;
  const steps = epochs * Math.floor(20_000 / batch);
  const t0 = Date.now();
  const trainer = new Trainer({
    model,
    optimizer: adam({ weightDecay: 0.01, decoupled: true }),
    lr: cosineWithWarmup(2e-3, steps, { warmup: 100 }),
    epochs,
    seed: 1,
    clipGradNorm: 1,
    session,
    inputKeys: ['src', 'tgt_in'],
    loss: (o, b) => seq2seqLoss(o, b.y, PAD),
    callbacks: [
      {
        name: 'progress',
        onBatchEnd: (_t, l) => {
          if ((l.batch + 1) % 100 === 0)
            console.log(
              JSON.stringify({
                epoch: l.epoch + 1,
                batch: l.batch + 1,
                of: l.batches,
                loss: Math.round(l.loss * 1e4) / 1e4,
                elapsed_s: Math.round((Date.now() - t0) / 1000),
              }),
            );
        },
      },
    ],
  });
  await trainer.fit(
    new ArrayLoader(
      { src: tr.src, tgt_in: tr.tgtIn, y: tr.y },
      { batchSize: batch, shuffle: true, seed: 3, dropLast: true },
    ),
  );
  trainer.syncModel();
  await trainer.release();
  const trainSeconds = (Date.now() - t0) / 1000;
  const out = await greedyDecode(model, te.src);
  const decode = (ids: number[]): string => ids.map((i) => (i >= 3 ? ALPHABET[i - 3] : '?')).join('');
  let exact = 0;
  const errors: string[] = [];
  out.forEach((ids, i) => {
    const got = decode(ids);
    if (got === te.want[i]) exact++;
    else if (errors.length < 5) errors.push(`${te.shown[i]} → ${got} (want ${te.want[i]})`);
  });
  console.log(
    JSON.stringify({
      quality: 'seq2seq-dates',
      params: model.parameterCount(),
      train_examples: 20_000,
      train_days: train.length,
      test_days: test.length,
      test_examples: 1000,
      epochs,
      steps,
      batch,
      train_seconds: Math.round(trainSeconds),
      exact_match: exact / 1000,
      sample_errors: errors,
    }),
  );
}

// ---- classifier: fortunes ---------------------------------------------------------------------------

export const FORTUNE_DIR = '/usr/share/games/fortunes';
export const FORTUNE_CATEGORIES = ['computers', 'definitions', 'politics', 'science', 'songs-poems'] as const;
const PER_CLASS = 600;

/** Fortunes of a category file: entries between '%' lines, control characters (overstrike) removed, whitespace collapsed. */
function readFortunes(cat: string): string[] {
  const raw = readFileSync(join(FORTUNE_DIR, cat), 'latin1');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of raw.split(/\n%\n/)) {
    const t = e
      .replace(/.\x08/g, '')
      .replace(/[\x00-\x1f\x7f]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (t.length >= 10 && !seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

interface Example {
  readonly text: string;
  readonly label: number;
}

/** 600 fortunes per category (a seeded shuffle, then the first 600); every 5th of each class is test (20 %). */
function fortuneSplit(): { train: Example[]; test: Example[]; counts: Record<string, number> } {
  const train: Example[] = [];
  const test: Example[] = [];
  const counts: Record<string, number> = {};
  FORTUNE_CATEGORIES.forEach((cat, label) => {
    const all = readFortunes(cat);
    counts[cat] = all.length;
    const g = new Generator(100 + label);
    for (let i = all.length - 1; i > 0; i--) {
      const j = g.int(i + 1);
      [all[i], all[j]] = [all[j], all[i]];
    }
    if (all.length < PER_CLASS) throw new Error(`fortunes: ${cat} has ${all.length} entries, fewer than ${PER_CLASS}`);
    all.slice(0, PER_CLASS).forEach((text, i) => (i % 5 === 0 ? test : train).push({ text, label }));
  });
  return { train, test, counts };
}

/**
 * Token ids of the first `context` BPE tokens of each text, right-padded with `pad` (the padding mask of
 * `EncoderClassifier` is `ids != padId`).
 */
function tokenIds(tok: BpeTokenizer, xs: readonly Example[], context: number, pad: number): { x: NDArray; y: NDArray } {
  const ids = new Array<number>(xs.length * context).fill(pad);
  xs.forEach((e, i) =>
    tok
      .encode(e.text)
      .slice(0, context)
      .forEach((id, j) => (ids[i * context + j] = id)),
  );
  return {
    x: ndarray('int64', [xs.length, context], ids),
    y: ndarray(
      'int64',
      [xs.length],
      xs.map((e) => e.label),
    ),
  };
}

const words = (t: string): string[] => t.toLowerCase().match(/[a-z0-9']+/g) ?? [];

/**
 * Multinomial logistic regression on binary bag-of-words features (words seen ≥ 2 times in training, each row
 * L2-normalised), mini-batch SGD with L2 — fixed hyperparameters, not tuned on the test split.
 */
function bowLogReg(
  train: readonly Example[],
  test: readonly Example[],
  classes: number,
): { predictions: number[]; vocab: number } {
  const counts = new Map<string, number>();
  for (const e of train) for (const w of new Set(words(e.text))) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const [w, c] of [...counts].sort()) if (c >= 2) vocab.set(w, vocab.size);
  const feats = (e: Example): number[] => [
    ...new Set(
      words(e.text)
        .map((w) => vocab.get(w))
        .filter((i): i is number => i !== undefined),
    ),
  ];
  const tr = train.map(feats);
  const te = test.map(feats);
  const V = vocab.size;
  const W = new Float64Array(classes * (V + 1)); // [class][features + bias]
  const g = new Generator(5);
  const lr = 0.5;
  const l2 = 1e-4;
  const logits = (f: number[]): number[] => {
    const s = 1 / Math.sqrt(Math.max(1, f.length));
    return Array.from({ length: classes }, (_, c) =>
      f.reduce((a, i) => a + W[c * (V + 1) + i] * s, W[c * (V + 1) + V]),
    );
  };
  for (let epoch = 0; epoch < 40; epoch++) {
    const order = Array.from(tr.keys());
    for (let i = order.length - 1; i > 0; i--) {
      const j = g.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const step = lr / (1 + epoch * 0.1);
    for (const k of order) {
      const z = logits(tr[k]);
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, b) => a + b, 0);
      const s = 1 / Math.sqrt(Math.max(1, tr[k].length));
      for (let c = 0; c < classes; c++) {
        const grad = e[c] / sum - (train[k].label === c ? 1 : 0);
        for (const i of tr[k]) W[c * (V + 1) + i] -= step * (grad * s + l2 * W[c * (V + 1) + i]);
        W[c * (V + 1) + V] -= step * grad;
      }
    }
  }
  const predictions = te.map((f) => {
    const z = logits(f);
    return z.indexOf(Math.max(...z));
  });
  return { predictions, vocab: V };
}

function perClass(pred: readonly number[], test: readonly Example[]): Record<string, number> {
  return Object.fromEntries(
    FORTUNE_CATEGORIES.map((cat, c) => {
      const rows = test.map((e, i) => [e.label, pred[i]]).filter(([l]) => l === c);
      return [cat, Math.round((rows.filter(([l, p]) => l === p).length / rows.length) * 1000) / 1000];
    }),
  );
}

/** Tied token head on the classifier's encoder body: ids [B, T] → token logits [B, T, vocab] (masked-LM pre-training). */
class MaskedLm extends Module {
  constructor(readonly encoder: EncoderClassifier) {
    super();
  }
  forward(ids: Tensor): Tensor {
    return linear(this.encoder.encode(ids), this.encoder.wte.t);
  }
}

/**
 * Every fortune of every file in FORTUNE_DIR (all 40-odd categories, not just the five) except `exclude`: the
 * unlabeled corpus of masked-LM pre-training.
 */
function unlabeledFortunes(exclude: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const f of readdirSync(FORTUNE_DIR).sort()) {
    if (/\.(dat|u8)$/.test(f) || !statSync(join(FORTUNE_DIR, f)).isFile()) continue;
    for (const t of readFortunes(f)) if (!exclude.has(t)) out.push(t);
  }
  return [...new Set(out)];
}

/**
 * BERT-style masked-LM pre-training of `model`'s encoder body (its class head frozen): the first `context` tokens of
 * each text; each real token is picked with p 0.15 and then replaced by `mask` (80 %), a random token (10 %) or
 * kept (10 %); the loss is the cross-entropy at picked positions only. A fresh draw of masks for every pass.
 */
async function maskedLmPretrain(
  model: EncoderClassifier,
  tok: BpeTokenizer,
  texts: readonly string[],
  cfg: ClassifierSetup,
  ids: { pad: number; mask: number },
): Promise<{ seconds: number; loss: number }> {
  const c = cfg.context;
  const g = new Generator(7);
  const enc = texts.map((t) => tok.encode(t).slice(0, c));
  const rows = enc.length * cfg.mlmEpochs;
  const x = new Array<number>(rows * c).fill(ids.pad);
  const y = new Array<number>(rows * c).fill(-100);
  for (let r = 0; r < rows; r++) {
    enc[r % enc.length].forEach((id, j) => {
      const at = r * c + j;
      x[at] = id;
      if (g.uniform() >= 0.15) return;
      y[at] = id;
      const u = g.uniform();
      if (u < 0.8) x[at] = ids.mask;
      else if (u < 0.9) x[at] = g.int(ids.pad); // a random non-special token (the specials come last)
    });
  }
  model.freeze('head');
  const mlm = new MaskedLm(model);
  const batch = 64;
  const steps = Math.ceil(rows / batch);
  const t0 = Date.now();
  const trainer = new Trainer({
    model: mlm,
    optimizer: adam({ weightDecay: cfg.weightDecay, decoupled: true }),
    lr: cosineWithWarmup(cfg.lr, steps, { warmup: 100 }),
    epochs: 1,
    seed: 3,
    clipGradNorm: 1,
    session,
    loss: (o, b) => lmLoss(o, b.y),
    callbacks: [
      {
        name: 'progress',
        onBatchEnd: (_t, l) => {
          if ((l.batch + 1) % 100 === 0)
            console.log(
              JSON.stringify({
                mlm_batch: l.batch + 1,
                of: l.batches,
                loss: Math.round(l.loss * 1e4) / 1e4,
                elapsed_s: Math.round((Date.now() - t0) / 1000),
              }),
            );
        },
      },
    ],
  });
  // one epoch over the `mlmEpochs` differently masked copies, in shuffled order
  const logs = await trainer.fit(
    new ArrayLoader(
      { x: ndarray('int64', [rows, c], x), y: ndarray('int64', [rows, c], y) },
      { batchSize: batch, shuffle: true, seed: 4 },
    ),
  );
  await trainer.release();
  model.unfreeze('head');
  return { seconds: (Date.now() - t0) / 1000, loss: logs?.metrics.train_loss ?? NaN };
}

/** The encoder setup of the classifier task (defaults: the configuration chosen on the validation split). */
export interface ClassifierSetup {
  /** BPE vocabulary (256 bytes + merges + '<pad>', '<mask>'), trained on the training texts only. */
  readonly vocab: number;
  /** Tokens kept per text (the head; the rest is cut). */
  readonly context: number;
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly dropout: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly labelSmoothing: number;
  readonly batch: number;
  /** Masked-LM pre-training passes over the unlabeled fortunes before fine-tuning (0: none). */
  readonly mlmEpochs: number;
}

export const CLASSIFIER_SETUP: ClassifierSetup = {
  vocab: 2048,
  context: 64,
  dim: 64,
  layers: 1,
  heads: 4,
  dropout: 0.1,
  lr: 1e-3,
  weightDecay: 0.01,
  labelSmoothing: 0.1,
  batch: 32,
  mlmEpochs: 0,
};

/**
 * Trains the encoder and the bag-of-words baseline on the same split. `validate`: every 5th training fortune of
 * each class is held out and scored instead of the test split (the test split is not read) — the mode every
 * choice of setup and epochs was made in; without it both models train on all 2,400 and score the 600 test fortunes.
 */
export async function fortuneClassifier(
  epochs: number,
  opts: { validate?: boolean; setup?: Partial<ClassifierSetup> } = {},
): Promise<void> {
  if (!existsSync(join(FORTUNE_DIR, FORTUNE_CATEGORIES[0]))) {
    throw new Error(`${FORTUNE_DIR}: no fortunes — apt-get install -y fortune-mod fortunes`);
  }
  const cfg: ClassifierSetup = { ...CLASSIFIER_SETUP, ...opts.setup };
  const split = fortuneSplit();
  const { counts } = split;
  // validation mode: the held-out part of TRAIN plays the test split's role
  const train = opts.validate ? split.train.filter((_, i) => i % 5 !== 1) : split.train;
  const test = opts.validate ? split.train.filter((_, i) => i % 5 === 1) : split.test;
  const scored = opts.validate ? 'validation' : 'test';
  const k = FORTUNE_CATEGORIES.length;
  // baseline
  const tb = Date.now();
  const bow = bowLogReg(train, test, k);
  const bowAcc = bow.predictions.filter((p, i) => p === test[i].label).length / test.length;
  const bowSeconds = (Date.now() - tb) / 1000;
  // tokenizer: byte-level BPE learned from the training texts only
  const tt = Date.now();
  const tok = BpeTokenizer.train(
    train.map((e) => e.text),
    { vocabSize: cfg.vocab, specials: ['<pad>', '<mask>'] },
  );
  const pad = tok.tokenToId('<pad>')!;
  const mask = tok.tokenToId('<mask>')!;
  const tr = tokenIds(tok, train, cfg.context, pad);
  const te = tokenIds(tok, test, cfg.context, pad);
  const bpeSeconds = (Date.now() - tt) / 1000;
  const truncated = test.filter((e) => tok.encode(e.text).length > cfg.context).length / test.length;
  // encoder classifier over BPE tokens
  manualSeed(0);
  const model = new EncoderClassifier({
    vocab: tok.vocabSize,
    context: cfg.context,
    dim: cfg.dim,
    layers: cfg.layers,
    heads: cfg.heads,
    classes: k,
    padId: pad,
    dropout: cfg.dropout,
  });
  // optional masked-LM pre-training on every fortune file, minus the scored texts (and the test split always)
  let mlm: { corpus: number; seconds: number; loss: number } | undefined;
  if (cfg.mlmEpochs > 0) {
    const corpus = unlabeledFortunes(new Set([...split.test, ...test].map((e) => e.text)));
    mlm = { corpus: corpus.length, ...(await maskedLmPretrain(model, tok, corpus, cfg, { pad, mask })) };
    console.log(JSON.stringify({ mlm }));
  }
  const steps = epochs * Math.ceil(train.length / cfg.batch);
  const t0 = Date.now();
  const trainer = new Trainer({
    model,
    optimizer: adam({ weightDecay: cfg.weightDecay, decoupled: true }),
    lr: cosineWithWarmup(cfg.lr, steps, { warmup: 50 }),
    epochs,
    seed: 1,
    clipGradNorm: 1,
    session,
    loss: (o, b) => crossEntropy(o, b.y, { labelSmoothing: cfg.labelSmoothing }),
    metrics: { acc: (o, b) => accuracy(o, b.y) },
    callbacks: [
      {
        name: 'progress',
        onEpochEnd: (_t, l) =>
          console.log(
            JSON.stringify({
              epoch: l.epoch + 1,
              train_loss: Math.round(l.metrics.train_loss * 1e4) / 1e4,
              ...(opts.validate ? { val_accuracy: Math.round(l.metrics.val_acc * 1e4) / 1e4 } : {}),
              epoch_seconds: Math.round(l.seconds),
            }),
          ),
      },
    ],
  });
  const testLoader = new ArrayLoader(te, { batchSize: 200 });
  // validation mode scores the held-out part after every epoch (progress); test mode passes no validation loader
  await trainer.fit(
    new ArrayLoader(tr, { batchSize: cfg.batch, shuffle: true, seed: 2 }),
    opts.validate ? testLoader : undefined,
  );
  const trainSeconds = (Date.now() - t0) / 1000;
  const r = await trainer.evaluate(testLoader, { collect: true });
  await trainer.release();
  const out = r.outputs!;
  const pred = Array.from({ length: test.length }, (_, i) => {
    const row = Array.from(out.subarray(i * k, (i + 1) * k));
    return row.indexOf(Math.max(...row));
  });
  const acc = pred.filter((p, i) => p === test[i].label).length / test.length;
  console.log(
    JSON.stringify({
      quality: 'fortunes-classifier',
      scored,
      categories: FORTUNE_CATEGORIES,
      available: counts,
      per_class: PER_CLASS,
      train: train.length,
      [scored]: test.length,
      encoder: {
        setup: cfg,
        bpe_vocab: tok.vocabSize,
        ...(mlm
          ? {
              mlm: {
                corpus: mlm.corpus,
                train_seconds: Math.round(mlm.seconds),
                loss: Math.round(mlm.loss * 1e4) / 1e4,
              },
            }
          : {}),
        bpe_seconds: Math.round(bpeSeconds),
        truncated: Math.round(truncated * 1000) / 1000,
        params: model.parameterCount(),
        epochs,
        steps,
        train_seconds: Math.round(trainSeconds),
        [`${scored}_accuracy`]: Math.round(acc * 1e4) / 1e4,
        per_class: perClass(pred, test),
      },
      bow_logreg: {
        vocab: bow.vocab,
        epochs: 40,
        train_seconds: Math.round(bowSeconds * 10) / 10,
        [`${scored}_accuracy`]: Math.round(bowAcc * 1e4) / 1e4,
        per_class: perClass(bow.predictions, test),
      },
    }),
  );
}
