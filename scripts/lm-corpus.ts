// The character-LM corpora of `npm run quality -- gpt|lstm|gru` (scripts/quality-lm.ts), each with a fixed,
// documented extraction, a 96-symbol character vocabulary and a train/validation/test split by position.
//
//   kjv       The King James Bible of Debian's bible-kjv-text, printed by its `bible` program (package bible-kjv):
//             `COLUMNS= bible -l100000 gen1:1-rev22:21` prints every verse, Genesis 1:1 to Revelation 22:21, in
//             canonical order, each on one line (the width never wraps a verse) as "  <n> <text>" under chapter
//             headings. The extraction keeps the verse lines, drops the leading verse number and its spaces, and
//             joins the 31,102 verses with "\n" (and a final "\n"): about 4.2 million characters of printable ASCII.
//   licenses  The Debian licence texts (/usr/share/common-licenses, regular files only, sorted by name, read as
//             latin1, joined with "\n"): ~214,000 characters, the small fast case for CI.
//
// The split is by position over the encoded characters: the first 90 % train, the next 5 % validation, the last
// 5 % test. The corpus fingerprint is the sha256 of the extracted text (UTF-8).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type CorpusName = 'kjv' | 'licenses';
export const CORPORA: readonly CorpusName[] = ['kjv', 'licenses'];

/** Printable ASCII 32..126 and newline: 96 symbols; a tab reads as a space, anything else maps to space. */
export const VOCAB = '\n' + Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

const LICENSES_DIR = '/usr/share/common-licenses';
const KJV_VERSES = 31102;
const KJV_ARGS = ['-l100000', 'gen1:1-rev22:21'] as const;

export interface Corpus {
  readonly name: CorpusName;
  /** Where the text came from and how it was extracted (one line). */
  readonly source: string;
  readonly text: string;
  /** sha256 of the extracted text (UTF-8), hex. */
  readonly sha256: string;
}

/** The KJV as one verse per line (see the header); throws a clear error when the `bible` program is missing. */
export function extractKjv(): string {
  const r = spawnSync('bible', [...KJV_ARGS], {
    encoding: 'latin1',
    env: { ...process.env, COLUMNS: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error || r.status !== 0) {
    throw new Error(
      `corpus kjv: running \`bible ${KJV_ARGS.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}: ${r.stderr}`}); install the Debian packages bible-kjv and bible-kjv-text`,
    );
  }
  const verses: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^ +\d+ (.*)$/.exec(line);
    if (m) verses.push(m[1]);
  }
  if (verses.length !== KJV_VERSES)
    throw new Error(`corpus kjv: expected ${KJV_VERSES} verses from \`bible\`, got ${verses.length}`);
  return verses.join('\n') + '\n';
}

export function extractLicenses(dir = LICENSES_DIR): string {
  const files = readdirSync(dir)
    .sort()
    .filter((f) => lstatSync(join(dir, f)).isFile());
  return files.map((f) => readFileSync(join(dir, f), 'latin1')).join('\n');
}

export function loadCorpus(name: CorpusName): Corpus {
  const text = name === 'kjv' ? extractKjv() : extractLicenses();
  const source =
    name === 'kjv'
      ? `Debian bible-kjv-text via \`COLUMNS= bible ${KJV_ARGS.join(' ')}\`, verse numbers and chapter headings removed, one verse per line`
      : `${LICENSES_DIR} (regular files, sorted by name, latin1, joined with "\\n")`;
  return { name, source, text, sha256: createHash('sha256').update(text, 'utf8').digest('hex') };
}

const CODE = (() => {
  const t = new Uint8Array(256).fill(1); // unknown → space (id 1)
  for (let i = 0; i < VOCAB.length; i++) t[VOCAB.charCodeAt(i)] = i;
  t[9] = 1; // tab → space
  return t;
})();

/** Character ids (0..95) of a text; characters outside the vocabulary read as a space. */
export function encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c < 256 ? CODE[c] : 1;
  }
  return out;
}

export const decode = (ids: ArrayLike<number>): string => Array.from(ids, (i) => VOCAB[i]).join('');

export interface CorpusSplits {
  /** Every id of the corpus; the splits are [0, trainEnd), [trainEnd, valEnd), [valEnd, ids.length). */
  readonly ids: Uint8Array;
  readonly trainEnd: number;
  readonly valEnd: number;
}

/** 90/5/5 by position. */
export function splitCorpus(ids: Uint8Array): CorpusSplits {
  return { ids, trainEnd: Math.floor(ids.length * 0.9), valEnd: Math.floor(ids.length * 0.95) };
}
