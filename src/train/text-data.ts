// Text files as language-modelling data: a file's tokens (UTF-8 bytes or characters) cut into windows of `context`
// ids with next-token targets, split by position: the last `testFraction` of the file is the test split, the
// `valFraction` before it the validation split (checkpoint selection, early stopping), the rest trains.
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ndarray } from '../graph/ndarray.js';
import { ByteTokenizer, CharTokenizer, type Tokenizer } from '../data/text/tokenizer.js';
import type { DatasetSplits, Split } from '../data/catalog.js';

export const textDataOptions = z
  .object({
    /** A UTF-8 text file. */
    path: z.string().min(1),
    /** Tokens per training window. */
    context: z.number().int().positive().default(64),
    /** Offset between training windows (default: context, non-overlapping); held-out windows never overlap. */
    stride: z.number().int().positive().optional(),
    /** 'byte': UTF-8 bytes, vocabulary 256; 'char': the file's characters (id 0 = unknown), vocabulary from the file. */
    tokenizer: z.enum(['byte', 'char']).default('byte'),
    /** Fraction of the file (its end) held out for testing. */
    testFraction: z.number().gt(0).lt(1).default(0.1),
    /** Fraction of the file (just before the test part) held out for validation. */
    valFraction: z.number().gt(0).lt(1).default(0.1),
  })
  .strict()
  .refine((o) => o.testFraction + o.valFraction < 1, {
    message: 'testFraction + valFraction must be below 1 (something must be left to train on)',
  });
export type TextDataOptions = z.input<typeof textDataOptions>;

/** Windows [n, T] of ids and their next-token targets. */
function windows(ids: readonly number[], context: number, stride: number): Split {
  const xs: number[] = [];
  const ys: number[] = [];
  let n = 0;
  for (let o = 0; o + context + 1 <= ids.length; o += stride) {
    for (let i = 0; i < context; i++) {
      xs.push(ids[o + i]);
      ys.push(ids[o + i + 1]);
    }
    n++;
  }
  return { x: ndarray('int64', [n, context], xs), y: ndarray('int64', [n, context], ys) };
}

export interface TextSplits extends DatasetSplits {
  /** The validation windows (non-overlapping), from the part of the file just before the test part. */
  readonly val: Split;
  readonly tokenizer: Tokenizer;
  readonly vocabSize: number;
  readonly tokens: number;
}

/** Reads, tokenizes and windows a text file; throws naming the path when it is missing or too short. */
export function loadTextWindows(opts: TextDataOptions, limit?: number): TextSplits {
  const o = textDataOptions.parse(opts);
  if (!existsSync(o.path)) throw new Error(`data.text.path: ${o.path}: text file not found`);
  const text = readFileSync(o.path, 'utf8');
  const cut = Math.floor(text.length * (1 - o.testFraction - o.valFraction));
  const testCut = Math.floor(text.length * (1 - o.testFraction));
  // the character vocabulary comes from the training part only (held-out characters it lacks become <unk>)
  const tokenizer: Tokenizer =
    o.tokenizer === 'byte' ? new ByteTokenizer() : CharTokenizer.fromCorpus(text.slice(0, cut));
  const trainIds = tokenizer.encode(text.slice(0, cut));
  const valIds = tokenizer.encode(text.slice(cut, testCut));
  const testIds = tokenizer.encode(text.slice(testCut));
  let train = windows(trainIds, o.context, o.stride ?? o.context);
  const val = windows(valIds, o.context, o.context);
  const test = windows(testIds, o.context, o.context);
  if (train.x.shape[0] === 0 || val.x.shape[0] === 0 || test.x.shape[0] === 0) {
    throw new Error(
      `data.text.path: ${o.path} is too short for windows of ${o.context} + 1 tokens in every split (${trainIds.length} train / ${valIds.length} validation / ${testIds.length} test tokens)`,
    );
  }
  if (limit !== undefined && limit < train.x.shape[0]) {
    const k = limit * o.context;
    train = {
      x: ndarray('int64', [limit, o.context], (train.x.data as BigInt64Array).slice(0, k)),
      y: ndarray('int64', [limit, o.context], (train.y.data as BigInt64Array).slice(0, k)),
    };
  }
  return {
    train,
    val,
    test,
    classes: [],
    source: o.path,
    tokenizer,
    vocabSize: tokenizer.vocabSize,
    tokens: trainIds.length + valIds.length + testIds.length,
  };
}
