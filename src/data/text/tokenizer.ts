// The Tokenizer interface and the two tokenizers that need no training: bytes (UTF-8) and characters (a vocabulary
// read from a corpus, with an unknown token). Special tokens (e.g. '<eos>') are matched literally in the text.

/**
 * Text ↔ token ids.
 *
 * Contract: `encode` is deterministic; ids are integers in [0, vocabSize); `decode(encode(s)) === s` for every
 * string the tokenizer can represent (a byte-level tokenizer: every string; others: strings without unknown
 * characters). `toJSON()` returns plain JSON from which the matching `fromJSON` rebuilds an equal tokenizer.
 */
export interface Tokenizer {
  readonly vocabSize: number;
  /** Text to token ids, deterministic; every id is in [0, vocabSize). */
  encode(text: string): number[];
  /**
   * Token ids to text (`decode(encode(s)) === s` for representable strings); throws on an id outside [0, vocabSize).
   */
  decode(ids: readonly number[]): string;
  /** The id of a token string (a special token, a character, ...) or undefined. */
  tokenToId(token: string): number | undefined;
  /** Plain JSON from which the implementation's `fromJSON` rebuilds an equal tokenizer. */
  toJSON(): unknown;
}

/** Splits `text` around literal occurrences of `specials` (longest first); pieces are text or a special's index. */
export function splitSpecials(text: string, specials: readonly string[]): (string | number)[] {
  if (specials.length === 0 || text === '') return text === '' ? [] : [text];
  const order = specials
    .map((s, i) => [s, i] as const)
    .filter(([s]) => s !== '')
    .sort((a, b) => b[0].length - a[0].length);
  const out: (string | number)[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const hit = order.find(([s]) => text.startsWith(s, i));
    if (hit) {
      if (i > start) out.push(text.slice(start, i));
      out.push(hit[1]);
      i += hit[0].length;
      start = i;
    } else i++;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

function checkIds(name: string, ids: readonly number[], vocabSize: number): void {
  for (const id of ids)
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
      throw new Error(`${name}.decode: id ${id} is not in [0, ${vocabSize})`);
}

/** Options of {@link ByteTokenizer}: the special tokens that get ids after the 256 byte values. */
export interface ByteTokenizerOptions {
  /** Special tokens, given ids 256, 257, ... in order (default none). */
  readonly specials?: readonly string[];
}

/** UTF-8 bytes as ids 0..255, then specials. Every string round-trips; the vocabulary needs no corpus. */
export class ByteTokenizer implements Tokenizer {
  readonly specials: readonly string[];
  readonly vocabSize: number;
  constructor(options: ByteTokenizerOptions = {}) {
    this.specials = [...(options.specials ?? [])];
    this.vocabSize = 256 + this.specials.length;
  }
  /** UTF-8 bytes of the text as ids 0..255, with special tokens (matched literally) as ids 256 onwards. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of splitSpecials(text, this.specials)) {
      if (typeof piece === 'number') out.push(256 + piece);
      else for (const b of utf8.encode(piece)) out.push(b);
    }
    return out;
  }
  /** Ids back to text (invalid UTF-8 byte runs become U+FFFD); throws if an id is not in [0, vocabSize). */
  decode(ids: readonly number[]): string {
    checkIds('ByteTokenizer', ids, this.vocabSize);
    let text = '';
    let bytes: number[] = [];
    const flush = () => {
      text += utf8Decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (id < 256) bytes.push(id);
      else {
        flush();
        text += this.specials[id - 256];
      }
    }
    flush();
    return text;
  }
  tokenToId(token: string): number | undefined {
    const s = this.specials.indexOf(token);
    if (s >= 0) return 256 + s;
    const b = utf8.encode(token);
    return b.length === 1 ? b[0] : undefined;
  }
  /** The tokenizer as JSON: `{ type: 'byte', specials }`. */
  toJSON(): { readonly type: 'byte'; readonly specials: readonly string[] } {
    return { type: 'byte', specials: this.specials };
  }
  /** Rebuilds a ByteTokenizer from its JSON; throws if it is not `{ type: "byte", specials: string[] }`. */
  static fromJSON(json: unknown): ByteTokenizer {
    const j = json as { type?: unknown; specials?: unknown };
    if (j?.type !== 'byte' || !isStringArray(j.specials))
      throw new Error('ByteTokenizer.fromJSON: expected { type: "byte", specials: string[] }');
    return new ByteTokenizer({ specials: j.specials });
  }
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Options of {@link CharTokenizer.fromCorpus}: the unknown token (id 0) and the special tokens (ids 1..). */
export interface CharTokenizerOptions {
  /** The unknown token, id 0 (default '<unk>'). */
  readonly unk?: string;
  /** Special tokens, ids 1.. (default none). */
  readonly specials?: readonly string[];
}

/** One id per Unicode code point seen in the corpus (sorted by code point), after `unk` and the specials. */
export class CharTokenizer implements Tokenizer {
  private readonly ids: Map<string, number>;
  readonly unk: string;
  readonly specials: readonly string[];
  /** The characters, ids specials.length + 1 onwards. */
  readonly chars: readonly string[];
  private constructor(chars: readonly string[], unk: string, specials: readonly string[]) {
    this.unk = unk;
    this.specials = [...specials];
    this.chars = [...chars];
    this.ids = new Map([
      [unk, 0],
      ...this.specials.map((s, i) => [s, i + 1] as const),
      ...this.chars.map((c, i) => [c, i + 1 + this.specials.length] as const),
    ]);
  }
  /** The vocabulary of `corpus`: every distinct code point. */
  static fromCorpus(corpus: string | readonly string[], options: CharTokenizerOptions = {}): CharTokenizer {
    const seen = new Set<string>();
    for (const text of typeof corpus === 'string' ? [corpus] : corpus) for (const ch of text) seen.add(ch);
    // Each entry is one code point (never empty), so `?? 0` is never taken; code point order, not UTF-16 order.
    const codePoint = (ch: string): number => ch.codePointAt(0) ?? 0;
    const chars = [...seen].sort((a, b) => codePoint(a) - codePoint(b));
    return new CharTokenizer(chars, options.unk ?? '<unk>', options.specials ?? []);
  }
  get vocabSize(): number {
    return 1 + this.specials.length + this.chars.length;
  }
  /** Characters not in the vocabulary become the unknown id 0. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of splitSpecials(text, [this.unk, ...this.specials])) {
      if (typeof piece === 'number') out.push(piece);
      else for (const ch of piece) out.push(this.ids.get(ch) ?? 0);
    }
    return out;
  }
  /** Ids back to text (id 0 becomes the unknown token); throws if an id is not in [0, vocabSize). */
  decode(ids: readonly number[]): string {
    checkIds('CharTokenizer', ids, this.vocabSize);
    return ids
      .map((id) =>
        id === 0
          ? this.unk
          : id <= this.specials.length
            ? this.specials[id - 1]
            : this.chars[id - 1 - this.specials.length],
      )
      .join('');
  }
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }
  /** The tokenizer as JSON: `{ type: 'char', unk, specials, chars }`. */
  toJSON(): {
    readonly type: 'char';
    readonly unk: string;
    readonly specials: readonly string[];
    readonly chars: readonly string[];
  } {
    return { type: 'char', unk: this.unk, specials: this.specials, chars: this.chars };
  }
  /**
   * Rebuilds a CharTokenizer from its JSON; throws if it is not `{ type: "char", unk, specials: string[], chars:
   * string[] }`.
   */
  static fromJSON(json: unknown): CharTokenizer {
    const j = json as { type?: unknown; unk?: unknown; specials?: unknown; chars?: unknown };
    if (j?.type !== 'char' || typeof j.unk !== 'string' || !isStringArray(j.specials) || !isStringArray(j.chars))
      throw new Error('CharTokenizer.fromJSON: expected { type: "char", unk, specials: string[], chars: string[] }');
    return new CharTokenizer(j.chars, j.unk, j.specials);
  }
}
