// Tokenizers: byte-level, char-level, BPE trained here, and Hugging Face tokenizer.json files.
import { BpeTokenizer } from './bpe.js';
import { HfTokenizer } from './hf.js';
import { ByteTokenizer, CharTokenizer, type Tokenizer } from './tokenizer.js';

export {
  ByteTokenizer,
  CharTokenizer,
  splitSpecials,
  type Tokenizer,
  type ByteTokenizerOptions,
  type CharTokenizerOptions,
} from './tokenizer.js';
export { BpeTokenizer, GPT2_SPLIT, type BpeJson, type BpeTrainOptions } from './bpe.js';
export { HfTokenizer, BYTE_TO_UNICODE, type HfEncodeOptions, type HfDecodeOptions } from './hf.js';

/**
 * Rebuilds a tokenizer from the JSON its `toJSON()` wrote (lathe's `byte`, `char`, `bpe`), or from a Hugging Face
 * `tokenizer.json` object (recognised by its `model` field).
 */
export function loadTokenizer(json: unknown): Tokenizer {
  const j = json as { type?: unknown; model?: unknown } | null;
  switch (j?.type) {
    case 'byte':
      return ByteTokenizer.fromJSON(j);
    case 'char':
      return CharTokenizer.fromJSON(j);
    case 'bpe':
      return BpeTokenizer.fromJSON(j);
    default:
      if (j !== null && typeof j === 'object' && typeof j.model === 'object' && j.model !== null)
        return new HfTokenizer(j as Record<string, unknown>);
      throw new Error(
        `loadTokenizer: unknown tokenizer type ${JSON.stringify(j?.type)} (expected "byte", "char", "bpe" or a Hugging Face tokenizer.json with a "model")`,
      );
  }
}
