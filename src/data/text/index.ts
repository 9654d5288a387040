// Tokenizers: byte-level, char-level, BPE trained here, and Hugging Face tokenizer.json files.
import { BpeTokenizer, type BpeJSON } from './bpe.js';
import { HfTokenizer } from './hf.js';
import { ByteTokenizer, CharTokenizer, type Tokenizer } from './tokenizer.js';

export { BpeTokenizer, HfTokenizer, ByteTokenizer, CharTokenizer, type Tokenizer, type BpeJSON };
export { preTokenize } from './bpe.js';

/** Rebuilds a tokenizer from its `toJSON()` (lathe's byte/char/bpe, or a Hugging Face tokenizer.json object). */
export function loadTokenizer(j: Readonly<Record<string, unknown>>): Tokenizer {
  switch (j.kind) {
    case 'byte': return new ByteTokenizer((j.specials as string[] | undefined) ?? []);
    case 'char': return new CharTokenizer(j.chars as string[], (j.unk as string | undefined) ?? '<unk>');
    case 'bpe': return BpeTokenizer.fromJSON(j as unknown as BpeJSON);
    default:
      if (typeof j.model === 'object') return new HfTokenizer(j as Record<string, unknown>);
      throw new Error(`loadTokenizer: unknown tokenizer kind ${JSON.stringify(j.kind)}`);
  }
}
