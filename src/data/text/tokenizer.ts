// The Tokenizer interface, and the byte- and character-level tokenizers.

/**
 * Text ↔ token ids.
 *
 * Contract: `encode` is deterministic; every id it returns is in [0, vocabSize); `decode(encode(s)) === s` for
 * lossless tokenizers (byte, BPE; char only when every character is in the vocabulary); `toJSON()` is what
 * `loadTokenizer` reads back into an equal tokenizer.
 */
export interface Tokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  toJSON(): object;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** UTF-8 bytes as ids 0..255, plus optional special tokens from 256 on (never produced by encode). */
export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte';
  constructor(readonly specials: readonly string[] = []) {}
  get vocabSize(): number {
    return 256 + this.specials.length;
  }
  /** Id of a special token. */
  special(name: string): number {
    const i = this.specials.indexOf(name);
    if (i < 0) throw new Error(`ByteTokenizer: no special token "${name}" (have ${this.specials.join(', ') || 'none'})`);
    return 256 + i;
  }
  encode(text: string): number[] {
    return Array.from(utf8.encode(text));
  }
  decode(ids: readonly number[]): string {
    return fromUtf8.decode(Uint8Array.from(ids.filter((i) => i < 256)));
  }
  toJSON(): object {
    return { kind: this.kind, specials: this.specials };
  }
}

/** Characters (code points) seen in a corpus, sorted; id 0 is the unknown token. */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  private readonly index: Map<string, number>;
  constructor(readonly chars: readonly string[], readonly unk = '<unk>') {
    this.index = new Map(chars.map((c, i) => [c, i + 1]));
  }
  static fromCorpus(corpus: string, unk = '<unk>'): CharTokenizer {
    return new CharTokenizer([...new Set(Array.from(corpus))].sort(), unk);
  }
  get vocabSize(): number {
    return this.chars.length + 1;
  }
  encode(text: string): number[] {
    return Array.from(text, (c) => this.index.get(c) ?? 0);
  }
  decode(ids: readonly number[]): string {
    return ids.map((i) => (i === 0 ? this.unk : this.chars[i - 1] ?? this.unk)).join('');
  }
  toJSON(): object {
    return { kind: this.kind, chars: this.chars, unk: this.unk };
  }
}
