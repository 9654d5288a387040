// Full-quality tasks for `npm run quality -- seq2seq | classifier` (scripts/quality.ts dispatches here).
//   seq2seq     date-format conversion ("Thursday, March 7, 2024", "7 Mar 2024", "07/03/2024", ... → "2024-03-07"):
//               a rule-generated transduction task; exact-match accuracy of greedy decoding on held-out dates
//               (dates never seen in training, chosen by a hash of the day).
//   classifier  Debian `fortunes` categories (apt-get install fortune-mod fortunes): the byte-level encoder
//               classifier against a bag-of-words logistic regression trained in the same run on the same split.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ndarray, type NDArray } from '../src/graph/ndarray.js';
import { manualSeed } from '../src/nn/index.js';
import { Generator } from '../src/nn/init.js';
import { adam, cosineWithWarmup } from '../src/optim/index.js';
import { Trainer } from '../src/train/trainer.js';
import { ArrayLoader } from '../src/train/loader.js';
import { Seq2Seq, greedyDecode, seq2seqLoss } from '../src/models/seq2seq.js';
import { EncoderClassifier } from '../src/models/transformer.js';
import { accuracy } from '../src/nn/losses.js';

// ---- seq2seq: dates ---------------------------------------------------------------------------------

/** LATHE_THREADS=n limits ORT's intra-op threads (when other runs share the cores). */
const session = process.env.LATHE_THREADS ? { threads: Number(process.env.LATHE_THREADS) } : undefined;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
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
    case 0: return `${day} ${MONTHS[m]} ${y}`;
    case 1: return `${MONTHS[m]} ${day}, ${y}`;
    case 2: return `${pad2(day)}/${pad2(m + 1)}/${y}`;
    case 3: return `${day} ${MONTHS[m].slice(0, 3).toLowerCase()} ${y}`;
    case 4: return `${DAYS[wd]}, ${MONTHS[m]} ${day}, ${y}`;
    default: return `${DAYS[wd].slice(0, 3)} ${pad2(day)}.${pad2(m + 1)}.${y}`;
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
function encodeDates(days: readonly Date[], n: number, g: Generator): { src: NDArray; tgtIn: NDArray; y: NDArray; want: string[]; shown: string[] } {
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
  return { src: ndarray('int64', [n, SRC_LEN], src), tgtIn: ndarray('int64', [n, TGT_LEN], tgtIn), y: ndarray('int64', [n, TGT_LEN], y), want, shown };
}

export async function seq2seqDates(epochs: number): Promise<void> {
  const { train, test } = dateSplit();
  const g = new Generator(1);
  const tr = encodeDates(train, 20_000, g);
  const te = encodeDates(test, 1000, new Generator(2));
  manualSeed(0);
  const model = new Seq2Seq({ vocab: 3 + ALPHABET.length, srcLen: SRC_LEN, tgtLen: TGT_LEN, dim: 64, encoderLayers: 2, decoderLayers: 2, heads: 4, dropout: 0 });
  const batch = 64;
  const steps = epochs * Math.floor(20_000 / batch);
  const t0 = Date.now();
  const trainer = new Trainer({
    model, optimizer: adam({ weightDecay: 0.01, decoupled: true }), lr: cosineWithWarmup(2e-3, steps, { warmup: 100 }), epochs, seed: 1, clipGradNorm: 1, session,
    inputKeys: ['src', 'tgt_in'], loss: (o, b) => seq2seqLoss(o, b.y, PAD),
    callbacks: [{
      name: 'progress',
      onBatchEnd: (_t, l) => {
        if ((l.batch + 1) % 100 === 0) console.log(JSON.stringify({ epoch: l.epoch + 1, batch: l.batch + 1, of: l.batches, loss: Math.round(l.loss * 1e4) / 1e4, elapsed_s: Math.round((Date.now() - t0) / 1000) }));
      },
    }],
  });
  await trainer.fit(new ArrayLoader({ src: tr.src, tgt_in: tr.tgtIn, y: tr.y }, { batchSize: batch, shuffle: true, seed: 3, dropLast: true }));
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
  console.log(JSON.stringify({
    quality: 'seq2seq-dates', params: model.parameterCount(), train_examples: 20_000, train_days: train.length, test_days: test.length, test_examples: 1000,
    epochs, steps, batch, train_seconds: Math.round(trainSeconds), exact_match: exact / 1000, sample_errors: errors,
  }));
}

// ---- classifier: fortunes ---------------------------------------------------------------------------

export const FORTUNE_DIR = '/usr/share/games/fortunes';
export const FORTUNE_CATEGORIES = ['computers', 'definitions', 'politics', 'science', 'songs-poems'] as const;
const PER_CLASS = 600;
const CONTEXT = 128;

/** Fortunes of a category file: entries between '%' lines, control characters (overstrike) removed, whitespace collapsed. */
function readFortunes(cat: string): string[] {
  const raw = readFileSync(join(FORTUNE_DIR, cat), 'latin1');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of raw.split(/\n%\n/)) {
    const t = e.replace(/.\x08/g, '').replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ').trim();
    if (t.length >= 10 && !seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

interface Example { readonly text: string; readonly label: number }

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

/** Bytes 1..255 of the first CONTEXT bytes (latin1), right-padded with 0. */
function byteIds(xs: readonly Example[]): { x: NDArray; y: NDArray } {
  const ids = new Array<number>(xs.length * CONTEXT).fill(0);
  xs.forEach((e, i) => {
    for (let j = 0; j < Math.min(CONTEXT, e.text.length); j++) ids[i * CONTEXT + j] = Math.max(1, e.text.charCodeAt(j) & 255);
  });
  return { x: ndarray('int64', [xs.length, CONTEXT], ids), y: ndarray('int64', [xs.length], xs.map((e) => e.label)) };
}

const words = (t: string): string[] => t.toLowerCase().match(/[a-z0-9']+/g) ?? [];

/**
 * Multinomial logistic regression on binary bag-of-words features (words seen ≥ 2 times in training, each row
 * L2-normalised), mini-batch SGD with L2 — fixed hyperparameters, not tuned on the test split.
 */
function bowLogReg(train: readonly Example[], test: readonly Example[], classes: number): { predictions: number[]; vocab: number } {
  const counts = new Map<string, number>();
  for (const e of train) for (const w of new Set(words(e.text))) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const [w, c] of [...counts].sort()) if (c >= 2) vocab.set(w, vocab.size);
  const feats = (e: Example): number[] => [...new Set(words(e.text).map((w) => vocab.get(w)).filter((i): i is number => i !== undefined))];
  const tr = train.map(feats);
  const te = test.map(feats);
  const V = vocab.size;
  const W = new Float64Array(classes * (V + 1)); // [class][features + bias]
  const g = new Generator(5);
  const lr = 0.5;
  const l2 = 1e-4;
  const logits = (f: number[]): number[] => {
    const s = 1 / Math.sqrt(Math.max(1, f.length));
    return Array.from({ length: classes }, (_, c) => f.reduce((a, i) => a + W[c * (V + 1) + i] * s, W[c * (V + 1) + V]));
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
  return Object.fromEntries(FORTUNE_CATEGORIES.map((cat, c) => {
    const rows = test.map((e, i) => [e.label, pred[i]]).filter(([l]) => l === c);
    return [cat, Math.round((rows.filter(([l, p]) => l === p).length / rows.length) * 1000) / 1000];
  }));
}

export async function fortuneClassifier(epochs: number): Promise<void> {
  if (!existsSync(join(FORTUNE_DIR, FORTUNE_CATEGORIES[0]))) {
    throw new Error(`${FORTUNE_DIR}: no fortunes — apt-get install -y fortune-mod fortunes`);
  }
  const { train, test, counts } = fortuneSplit();
  const k = FORTUNE_CATEGORIES.length;
  // baseline
  const tb = Date.now();
  const bow = bowLogReg(train, test, k);
  const bowAcc = bow.predictions.filter((p, i) => p === test[i].label).length / test.length;
  const bowSeconds = (Date.now() - tb) / 1000;
  // encoder classifier, bytes
  manualSeed(0);
  const model = new EncoderClassifier({ vocab: 256, context: CONTEXT, dim: 64, layers: 2, heads: 4, classes: k, padId: 0, dropout: 0.1 });
  const tr = byteIds(train);
  const te = byteIds(test);
  const batch = 32;
  const steps = epochs * Math.ceil(train.length / batch);
  const t0 = Date.now();
  const trainer = new Trainer({
    model, optimizer: adam({ weightDecay: 0.01, decoupled: true }), lr: cosineWithWarmup(1e-3, steps, { warmup: 50 }), epochs, seed: 1, clipGradNorm: 1, session,
    metrics: { acc: (o, b) => accuracy(o, b.y) },
    callbacks: [{ name: 'progress', onEpochEnd: (_t, l) => console.log(JSON.stringify({ epoch: l.epoch + 1, train_loss: Math.round(l.metrics.train_loss * 1e4) / 1e4, epoch_seconds: Math.round(l.seconds) })) }],
  });
  await trainer.fit(new ArrayLoader(tr, { batchSize: batch, shuffle: true, seed: 2 }));
  const r = await trainer.evaluate(new ArrayLoader(te, { batchSize: 200 }), { collect: true });
  await trainer.release();
  const out = r.outputs!;
  const pred = Array.from({ length: test.length }, (_, i) => {
    const row = Array.from(out.subarray(i * k, (i + 1) * k));
    return row.indexOf(Math.max(...row));
  });
  console.log(JSON.stringify({
    quality: 'fortunes-classifier', categories: FORTUNE_CATEGORIES, available: counts, per_class: PER_CLASS, train: train.length, test: test.length,
    encoder: { params: model.parameterCount(), context_bytes: CONTEXT, epochs, steps, train_seconds: Math.round((Date.now() - t0) / 1000), test_accuracy: Math.round((r.accuracy ?? NaN) * 1e4) / 1e4, per_class: perClass(pred, test) },
    bow_logreg: { vocab: bow.vocab, epochs: 40, train_seconds: Math.round(bowSeconds * 10) / 10, test_accuracy: Math.round(bowAcc * 1e4) / 1e4, per_class: perClass(bow.predictions, test) },
  }));
}
