// Byte-level BPE (as GPT-2): text is split into words by a regex, each word into UTF-8 bytes (ids 0..255), and
// learned merges join the most frequent adjacent pair into a new id, 256 onwards. Specials come after the merges.
// Every string round-trips through encode/decode. Training is deterministic: ties go to the smallest pair.
import { readFileSync } from 'node:fs';
import { writeAtomicFile } from '../../util/write-atomic.js';
import { splitSpecials, type Tokenizer } from './tokenizer.js';

/** GPT-2's pre-tokenizer: contractions, letters, digits and other symbols with an optional leading space, spaces. */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
const pairKey = (a: number, b: number): number => a * 0x100000 + b; // ids < 2^20

/**
 * Options of {@link BpeTokenizer.train}: the final vocabulary size, the minimum pair frequency to merge, and the
 * special tokens.
 */
export interface BpeTrainOptions {
  /** Final vocabulary size including the 256 bytes and the specials. */
  readonly vocabSize: number;
  /** Stop when the best pair occurs fewer times than this (default 2). */
  readonly minFrequency?: number;
  readonly specials?: readonly string[];
}

/** The JSON form of a {@link BpeTokenizer}: its merges in order and its special tokens. */
export interface BpeJson {
  readonly type: 'bpe';
  readonly version: 1;
  /** Merge i creates id 256 + i from the pair [left, right]. */
  readonly merges: readonly (readonly [number, number])[];
  readonly specials: readonly string[];
}

/**
 * Byte-level BPE tokenizer (as GPT-2): UTF-8 bytes are ids 0–255, merge i creates id 256 + i, specials follow the
 * merges; every string round-trips. Build it with {@link BpeTokenizer.train} or from saved JSON; the constructor throws
 * if a merge refers to an id not yet defined.
 */
export class BpeTokenizer implements Tokenizer {
  readonly merges: readonly (readonly [number, number])[];
  readonly specials: readonly string[];
  private readonly ranks = new Map<number, number>();
  private readonly bytes: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  constructor(merges: readonly (readonly [number, number])[], specials: readonly string[] = []) {
    this.merges = merges.map(([a, b]) => [a, b] as const);
    this.specials = [...specials];
    for (let b = 0; b < 256; b++) this.bytes.push(Uint8Array.of(b));
    this.merges.forEach(([a, b], i) => {
      const id = 256 + i;
      if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < id && b < id))
        throw new Error(`BpeTokenizer: merge ${i} [${a}, ${b}] refers to an id not yet defined`);
      this.ranks.set(pairKey(a, b), i);
      const joined = new Uint8Array(this.bytes[a].length + this.bytes[b].length);
      joined.set(this.bytes[a]);
      joined.set(this.bytes[b], this.bytes[a].length);
      this.bytes.push(joined);
    });
  }

  /** Learns merges from a corpus until `vocabSize` or until no pair reaches `minFrequency`. */
  static train(corpus: string | readonly string[], options: BpeTrainOptions): BpeTokenizer {
    const specials = options.specials ?? [];
    const target = options.vocabSize - 256 - specials.length;
    if (!(target >= 0))
      throw new Error(
        `BpeTokenizer.train: vocabSize ${options.vocabSize} is below 256 bytes + ${specials.length} specials`,
      );
    const minFrequency = options.minFrequency ?? 2;
    const counts = new Map<string, number>();
    for (const text of typeof corpus === 'string' ? [corpus] : corpus)
      for (const piece of splitSpecials(text, specials))
        if (typeof piece === 'string')
          for (const w of piece.match(GPT2_SPLIT) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts].map(([w, n]) => ({ ids: Array.from(utf8.encode(w)), n }));
    const merges: [number, number][] = [];
    while (merges.length < target) {
      const pairs = new Map<number, number>();
      for (const { ids, n } of words)
        for (let i = 0; i + 1 < ids.length; i++)
          pairs.set(pairKey(ids[i], ids[i + 1]), (pairs.get(pairKey(ids[i], ids[i + 1])) ?? 0) + n);
      let best = -1;
      let bestCount = 0;
      for (const [k, c] of pairs) if (c > bestCount || (c === bestCount && k < best)) [best, bestCount] = [k, c];
      if (best < 0 || bestCount < minFrequency) break;
      const a = Math.floor(best / 0x100000);
      const b = best % 0x100000;
      const id = 256 + merges.length;
      merges.push([a, b]);
      for (const w of words) w.ids = mergePair(w.ids, a, b, id);
    }
    return new BpeTokenizer(merges, specials);
  }

  get vocabSize(): number {
    return 256 + this.merges.length + this.specials.length;
  }

  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let ids = Array.from(utf8.encode(word));
    for (;;) {
      let bestRank = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i], ids[i + 1]));
        if (r !== undefined && r < bestRank) [bestRank, at] = [r, i];
      }
      if (at < 0) break;
      const [a, b] = this.merges[bestRank];
      ids = mergePair(ids, a, b, 256 + bestRank);
    }
    if (this.cache.size < 100_000) this.cache.set(word, ids);
    return ids;
  }

  /**
   * Encodes text to ids: specials matched literally, the rest split by GPT-2's regex and each word byte-pair encoded.
   */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of splitSpecials(text, this.specials)) {
      if (typeof piece === 'number') out.push(256 + this.merges.length + piece);
      else for (const w of piece.match(GPT2_SPLIT) ?? []) out.push(...this.encodeWord(w));
    }
    return out;
  }

  /** Decodes ids to text (invalid UTF-8 byte runs become U+FFFD); throws if an id is not in [0, vocabSize). */
  decode(ids: readonly number[]): string {
    const n = 256 + this.merges.length;
    let text = '';
    let buf: number[] = [];
    const flush = () => {
      text += utf8Decoder.decode(Uint8Array.from(buf));
      buf = [];
    };
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize))
        throw new Error(`BpeTokenizer.decode: id ${id} is not in [0, ${this.vocabSize})`);
      if (id < n) for (const b of this.bytes[id]) buf.push(b);
      else {
        flush();
        text += this.specials[id - n];
      }
    }
    flush();
    return text;
  }

  tokenToId(token: string): number | undefined {
    const s = this.specials.indexOf(token);
    if (s >= 0) return 256 + this.merges.length + s;
    const ids = this.encodeWord(token);
    return ids.length === 1 ? ids[0] : undefined;
  }

  /** The bytes of token `id` (not a special). */
  tokenBytes(id: number): Uint8Array {
    return this.bytes[id].slice();
  }

  /** The merges and specials as plain JSON, which {@link BpeTokenizer.fromJSON} rebuilds. */
  toJSON(): BpeJson {
    return { type: 'bpe', version: 1, merges: this.merges, specials: this.specials };
  }

  /**
   * Rebuilds a tokenizer from its {@link BpeJson}; throws if the JSON has the wrong type or version or a merge is not a
   * pair.
   */
  static fromJSON(json: unknown): BpeTokenizer {
    const j = json as Partial<BpeJson> | null;
    if (j?.type !== 'bpe' || j.version !== 1 || !Array.isArray(j.merges) || !Array.isArray(j.specials))
      throw new Error(
        'BpeTokenizer.fromJSON: expected { type: "bpe", version: 1, merges: [a, b][], specials: string[] }',
      );
    for (const [i, m] of j.merges.entries())
      if (!Array.isArray(m) || m.length !== 2) throw new Error(`BpeTokenizer.fromJSON: merges[${i}] is not a pair`);
    return new BpeTokenizer(j.merges, j.specials);
  }

  /** Writes the tokenizer's JSON to `path` atomically. */
  save(path: string): void {
    writeAtomicFile(path, JSON.stringify(this.toJSON()));
  }

  /**
   * Reads a tokenizer saved by {@link BpeTokenizer.save}; throws an Error naming the file when it cannot be read or
   * parsed.
   */
  static load(path: string): BpeTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`BpeTokenizer.load: ${path}: ${(e as Error).message}`);
    }
    return BpeTokenizer.fromJSON(json);
  }
}

/** Replaces every non-overlapping (a, b), left to right, with `id`. */
function mergePair(ids: readonly number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(ids[i]);
  }
  return out;
}
