// Loading a Hugging Face `tokenizer.json` (the `tokenizers` library's format) with a BPE or WordPiece model, so a
// model trained with a published vocabulary can be fed the same ids. Supported pieces (others are an error that
// names them): normalizers Lowercase, NFC/NFD/NFKC/NFKD, StripAccents, BertNormalizer, Sequence; pre-tokenizers
// Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, ByteLevel, Sequence; post-processors
// TemplateProcessing (single sequence), BertProcessing, RobertaProcessing, ByteLevel; decoders ByteLevel,
// WordPiece, BPEDecoder. As in `tokenizers`, a BPE symbol missing from the vocabulary becomes `unk_token` when the
// model has one and is dropped when it has none.
import { readFileSync } from 'node:fs';
import { splitSpecials, type Tokenizer } from './tokenizer.js';
import { GPT2_SPLIT } from './bpe.js';
import { FileFormatError } from '../../util/errors.js';

type Json = Readonly<Record<string, unknown>>;

/** GPT-2's reversible map from bytes to printable characters (space → 'Ġ', newline → 'Ċ'). */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return out;
})();
const UNICODE_TO_BYTE = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
/** BERT's punctuation: ASCII symbols (so '$', '+', '^' split too) and Unicode category P. */
const isPunct = (ch: string): boolean => /^[!-/:-@[-`{-~]$/.test(ch) || /^\p{P}$/u.test(ch);

function kind(what: string, j: Json): string {
  if (typeof j.type !== 'string') throw new Error(`tokenizer.json: ${what} has no "type"`);
  return j.type;
}

/** `j[field]` when it is an object (a JSON object, not an array), else undefined when absent or null. */
function optionalObject(j: Json, field: string, what: string): Json | undefined {
  const v = j[field];
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new FileFormatError(`tokenizer.json: ${what} "${field}" is not an object`);
  return v as Json;
}

/** `j[field]`, which must be a JSON array. */
function list(j: Json, field: string, what: string): readonly unknown[] {
  const v = j[field];
  if (!Array.isArray(v)) throw new FileFormatError(`tokenizer.json: ${what} has no "${field}" list`);
  return v;
}

/** `j[field]`, which must be a list of JSON objects. */
function objectList(j: Json, field: string, what: string): Json[] {
  return list(j, field, what).map((v, i) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new FileFormatError(`tokenizer.json: ${what} "${field}"[${i}] is not an object`);
    return v as Json;
  });
}

function normalizer(j: Json | undefined): (s: string) => string {
  if (j === undefined) return (s) => s;
  const t = kind('normalizer', j);
  const stripAccents = (s: string) => s.normalize('NFD').replace(/\p{Mn}/gu, '');
  switch (t) {
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (s) => s.normalize(t);
    case 'StripAccents':
      return stripAccents;
    case 'Sequence': {
      const fs = objectList(j, 'normalizers', 'normalizer Sequence').map(normalizer);
      return (s) => fs.reduce((v, f) => f(v), s);
    }
    case 'BertNormalizer': {
      const lower = j.lowercase !== false;
      const strip = j.strip_accents === null || j.strip_accents === undefined ? lower : j.strip_accents === true;
      const clean = j.clean_text !== false;
      const chinese = j.handle_chinese_chars !== false;
      return (s) => {
        let v = s;
        if (clean) v = v.replace(/[\uFFFD\p{Cc}\p{Cf}]/gu, (c) => (/\s/.test(c) ? ' ' : '')).replace(/\s/gu, ' ');
        if (chinese)
          v = v.replace(
            /[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]/gu,
            (c) => ` ${c} `,
          );
        if (strip) v = stripAccents(v);
        return lower ? v.toLowerCase() : v;
      };
    }
    default:
      throw new Error(`tokenizer.json: normalizer "${t}" is not supported`);
  }
}

/** A pre-tokenizer maps each piece to the list of words it splits into. */
type PreTokenizer = (pieces: string[]) => string[];

function splitPunct(w: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of w) {
    if (isPunct(ch)) {
      if (cur) out.push(cur);
      out.push(ch);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

function preTokenizer(j: Json | undefined, byteLevel: { on: boolean }): PreTokenizer {
  if (j === undefined) return (p) => p;
  const t = kind('pre_tokenizer', j);
  switch (t) {
    case 'WhitespaceSplit':
      return (p) => p.flatMap((s) => s.split(/\s+/u).filter((w) => w !== ''));
    case 'Whitespace':
      return (p) => p.flatMap((s) => s.match(/\w+|[^\w\s]+/gu) ?? []);
    case 'BertPreTokenizer':
      return (p) =>
        p.flatMap((s) =>
          s
            .split(/\s+/u)
            .filter((w) => w !== '')
            .flatMap(splitPunct),
        );
    case 'Punctuation':
      return (p) => p.flatMap(splitPunct);
    case 'ByteLevel': {
      byteLevel.on = true;
      const prefix = j.add_prefix_space === true;
      const regex = j.use_regex !== false;
      return (p) =>
        p.flatMap((s, i) => {
          const v = prefix && i === 0 && !s.startsWith(' ') ? ` ${s}` : s;
          return (regex ? (v.match(GPT2_SPLIT) ?? []) : [v]).map((w) =>
            Array.from(utf8.encode(w), (b) => BYTE_TO_UNICODE[b]).join(''),
          );
        });
    }
    case 'Sequence': {
      const fs = objectList(j, 'pretokenizers', 'pre_tokenizer Sequence').map((x) => preTokenizer(x, byteLevel));
      return (p) => fs.reduce((v, f) => f(v), p);
    }
    default:
      throw new Error(`tokenizer.json: pre_tokenizer "${t}" is not supported`);
  }
}

interface Model {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unk?: string;
  tokenize(word: string): number[];
}

/** The model's `vocab`: token → id. */
function vocabOf(j: Json, model: string): Map<string, number> {
  const v = optionalObject(j, 'vocab', `${model} model`);
  if (v === undefined) throw new FileFormatError(`tokenizer.json: ${model} model has no "vocab" object`);
  const out = new Map<string, number>();
  for (const [tok, id] of Object.entries(v)) {
    if (!Number.isInteger(id) || (id as number) < 0)
      throw new FileFormatError(
        `tokenizer.json: ${model} vocab id of "${tok}" is ${JSON.stringify(id)}, not an integer ≥ 0`,
      );
    out.set(tok, id as number);
  }
  return out;
}

function bpeModel(j: Json): Model {
  const vocab = vocabOf(j, 'BPE');
  const unk = typeof j.unk_token === 'string' ? j.unk_token : undefined;
  const prefix = typeof j.continuing_subword_prefix === 'string' ? j.continuing_subword_prefix : '';
  const suffix = typeof j.end_of_word_suffix === 'string' ? j.end_of_word_suffix : '';
  const ranks = new Map<string, number>();
  list(j, 'merges', 'BPE model').forEach((m, i) => {
    const [a, b] = splitMerge(m, i);
    ranks.set(`${a}\u0000${b}`, i);
  });
  const cache = new Map<string, number[]>();
  return {
    vocab,
    unk,
    tokenize(word) {
      const hit = cache.get(word);
      if (hit) return hit;
      const chars = Array.from(word);
      let syms = chars.map((c, i) => (i > 0 ? prefix : '') + c + (i === chars.length - 1 ? suffix : ''));
      for (;;) {
        let best = Infinity;
        let at = -1;
        for (let i = 0; i + 1 < syms.length; i++) {
          const r = ranks.get(`${syms[i]}\u0000${syms[i + 1]}`);
          if (r !== undefined && r < best) [best, at] = [r, i];
        }
        if (at < 0) break;
        const [a, b] = [syms[at], syms[at + 1]];
        const merged = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
        const next: string[] = [];
        for (let i = 0; i < syms.length; i++) {
          if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
            next.push(merged);
            i++;
          } else next.push(syms[i]);
        }
        syms = next;
      }
      const ids: number[] = [];
      for (const s of syms) {
        const id = vocab.get(s) ?? (unk !== undefined ? vocab.get(unk) : undefined);
        if (id !== undefined) ids.push(id);
      }
      if (cache.size < 100_000) cache.set(word, ids);
      return ids;
    },
  };
}

/** A merge is "left right" or, in newer files, ["left", "right"]. */
function splitMerge(m: unknown, i: number): [string, string] {
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
  if (typeof m !== 'string')
    throw new FileFormatError(
      `tokenizer.json: merges[${i}] ${JSON.stringify(m)} is neither "left right" nor ["left", "right"]`,
    );
  const k = m.indexOf(' ', 1);
  if (k < 0) throw new Error(`tokenizer.json: merges[${i}] "${m}" is not "left right"`);
  return [m.slice(0, k), m.slice(k + 1)];
}

function wordPieceModel(j: Json): Model {
  const vocab = vocabOf(j, 'WordPiece');
  const unk = typeof j.unk_token === 'string' ? j.unk_token : '[UNK]';
  const prefix = typeof j.continuing_subword_prefix === 'string' ? j.continuing_subword_prefix : '##';
  const maxChars = typeof j.max_input_chars_per_word === 'number' ? j.max_input_chars_per_word : 100;
  const unkId = vocab.get(unk);
  if (unkId === undefined) throw new Error(`tokenizer.json: WordPiece unk_token "${unk}" is not in the vocabulary`);
  return {
    vocab,
    unk,
    tokenize(word) {
      const chars = Array.from(word);
      if (chars.length > maxChars) return [unkId];
      const ids: number[] = [];
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: number | undefined;
        for (; end > start; end--) {
          const sub = (start > 0 ? prefix : '') + chars.slice(start, end).join('');
          found = vocab.get(sub);
          if (found !== undefined) break;
        }
        if (found === undefined) return [unkId]; // greedy longest-match failed: the whole word is unknown
        ids.push(found);
        start = end;
      }
      return ids;
    },
  };
}

/** Options of {@link HfTokenizer.encode}: whether the post-processor's special tokens are added around the ids. */
export interface HfEncodeOptions {
  /** Add the post-processor's special tokens ([CLS] … [SEP], <s> … </s>) (default true, as `tokenizers`). */
  readonly addSpecialTokens?: boolean;
}

/** Options of {@link HfTokenizer.decode}: whether special added tokens are left out of the text. */
export interface HfDecodeOptions {
  /** Leave out special added tokens (default true). */
  readonly skipSpecialTokens?: boolean;
}

/** A tokenizer built from a `tokenizer.json`. */
export class HfTokenizer implements Tokenizer {
  readonly modelType: 'BPE' | 'WordPiece';
  private readonly model: Model;
  private readonly idToToken: string[] = [];
  private readonly added: readonly { readonly content: string; readonly id: number; readonly special: boolean }[];
  private readonly normalize: (s: string) => string;
  private readonly preTokenize: PreTokenizer;
  private readonly byteLevel = { on: false };
  private readonly template: { readonly before: number[]; readonly after: number[] };
  private readonly decoder: { readonly type: string; readonly json: Json } | undefined;

  constructor(readonly json: Json) {
    const model = optionalObject(json, 'model', 'tokenizer');
    if (model === undefined) throw new FileFormatError('tokenizer.json: no "model" object');
    const type = model.type ?? ('merges' in model ? 'BPE' : undefined);
    if (type === 'BPE') this.model = bpeModel(model);
    else if (type === 'WordPiece') this.model = wordPieceModel(model);
    else throw new Error(`tokenizer.json: model type "${String(type)}" is not supported (BPE, WordPiece)`);
    this.modelType = type;
    this.added = (
      json.added_tokens === undefined || json.added_tokens === null ? [] : objectList(json, 'added_tokens', 'tokenizer')
    ).map((t, i) => {
      if (typeof t.content !== 'string' || !Number.isInteger(t.id) || (t.id as number) < 0)
        throw new FileFormatError(
          `tokenizer.json: added_tokens[${i}] needs a string "content" and an integer "id" ≥ 0`,
        );
      return { content: t.content, id: t.id as number, special: t.special === true };
    });
    for (const [tok, id] of this.model.vocab) this.idToToken[id] = tok;
    for (const t of this.added) this.idToToken[t.id] = t.content;
    this.normalize = normalizer(optionalObject(json, 'normalizer', 'tokenizer'));
    this.preTokenize = preTokenizer(optionalObject(json, 'pre_tokenizer', 'tokenizer'), this.byteLevel);
    this.template = this.postProcessor(optionalObject(json, 'post_processor', 'tokenizer'));
    const decoder = optionalObject(json, 'decoder', 'tokenizer');
    this.decoder = decoder === undefined ? undefined : { type: kind('decoder', decoder), json: decoder };
    if (this.decoder !== undefined && !['ByteLevel', 'WordPiece', 'BPEDecoder'].includes(this.decoder.type))
      throw new Error(`tokenizer.json: decoder "${this.decoder.type}" is not supported`);
  }

  /**
   * Reads a Hugging Face `tokenizer.json` file; throws an Error naming the file when it cannot be read or parsed, or
   * when its model, decoder or post-processor is not supported.
   */
  static load(path: string): HfTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`HfTokenizer.load: ${path}: ${(e as Error).message}`);
    }
    return new HfTokenizer(json as Json);
  }

  private postProcessor(j: Json | undefined): { before: number[]; after: number[] } {
    if (j === undefined) return { before: [], after: [] };
    const t = kind('post_processor', j);
    const idOf = (tok: string): number => {
      const id = this.tokenToId(tok);
      if (id === undefined) throw new Error(`tokenizer.json: post_processor token "${tok}" is not in the vocabulary`);
      return id;
    };
    switch (t) {
      case 'ByteLevel':
        return { before: [], after: [] };
      case 'BertProcessing':
      case 'RobertaProcessing': {
        /** `cls` and `sep` are [token, id] pairs. */
        const idIn = (field: string): number => {
          const pair = list(j, field, `post_processor ${t}`);
          if (pair.length !== 2 || typeof pair[0] !== 'string' || !Number.isInteger(pair[1]))
            throw new FileFormatError(`tokenizer.json: post_processor ${t} "${field}" is not a [token, id] pair`);
          return pair[1] as number;
        };
        return { before: [idIn('cls')], after: [idIn('sep')] };
      }
      case 'TemplateProcessing': {
        const specials = (optionalObject(j, 'special_tokens', 'post_processor TemplateProcessing') ?? {}) as Record<
          string,
          { ids: number[] } | undefined
        >;
        const before: number[] = [];
        const after: number[] = [];
        let seen = false;
        for (const piece of objectList(j, 'single', 'post_processor TemplateProcessing')) {
          if ('Sequence' in piece) seen = true;
          else if ('SpecialToken' in piece) {
            const name = (piece.SpecialToken as { id: string }).id;
            (seen ? after : before).push(...(specials[name]?.ids ?? [idOf(name)]));
          }
        }
        return { before, after };
      }
      default:
        throw new Error(`tokenizer.json: post_processor "${t}" is not supported`);
    }
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  tokenToId(token: string): number | undefined {
    return this.added.find((t) => t.content === token)?.id ?? this.model.vocab.get(token);
  }

  /** The token string of `id`, or undefined when the id is not in the vocabulary. */
  idToTokenString(id: number): string | undefined {
    return this.idToToken[id];
  }

  /**
   * Encodes text as `tokenizers` does: added tokens matched literally, the rest normalized, pre-tokenized and split by
   * the BPE or WordPiece model; with the post-processor's special tokens unless `addSpecialTokens` is false.
   */
  encode(text: string, options: HfEncodeOptions = {}): number[] {
    const ids: number[] = [];
    for (const piece of splitSpecials(
      text,
      this.added.map((t) => t.content),
    )) {
      if (typeof piece === 'number') ids.push(this.added[piece].id);
      else for (const w of this.preTokenize([this.normalize(piece)])) ids.push(...this.model.tokenize(w));
    }
    return options.addSpecialTokens === false ? ids : [...this.template.before, ...ids, ...this.template.after];
  }

  /** The token strings of `encode(text)`. */
  tokenize(text: string, options: HfEncodeOptions = {}): string[] {
    return this.encode(text, options).map((id) => this.idToToken[id]);
  }

  /**
   * Decodes ids to text with the file's decoder (ByteLevel, WordPiece or BPEDecoder), leaving out special tokens unless
   * `skipSpecialTokens` is false; throws on an id not in the vocabulary.
   */
  decode(ids: readonly number[], options: HfDecodeOptions = {}): string {
    const skip = options.skipSpecialTokens !== false;
    const specialIds = new Set(this.added.filter((t) => t.special).map((t) => t.id));
    const tokens: string[] = [];
    for (const id of ids) {
      const tok = this.idToToken[id];
      if (tok === undefined) throw new Error(`HfTokenizer.decode: id ${id} is not in the vocabulary`);
      if (!(skip && specialIds.has(id))) tokens.push(tok);
    }
    const d = this.decoder?.json;
    switch (this.decoder?.type) {
      case 'ByteLevel':
        return utf8Decoder.decode(Uint8Array.from(tokens.join(''), (c) => UNICODE_TO_BYTE.get(c) ?? 0x3f));
      case 'WordPiece': {
        const prefix = typeof d?.prefix === 'string' ? d.prefix : '##';
        const text = tokens
          .map((t, i) => (i > 0 && t.startsWith(prefix) ? t.slice(prefix.length) : (i > 0 ? ' ' : '') + t))
          .join('');
        return d?.cleanup === false ? text : cleanup(text);
      }
      case 'BPEDecoder': {
        const suffix = typeof d?.suffix === 'string' ? d.suffix : '</w>';
        return tokens
          .map((t) => t.split(suffix).join(' '))
          .join('')
          .trim();
      }
      default:
        return tokens.join(this.modelType === 'WordPiece' ? ' ' : '');
    }
  }

  /** The `tokenizer.json` content this tokenizer was built from. */
  toJSON(): Json {
    return this.json;
  }
}

/** `tokenizers`' clean-up of spaces before punctuation and contractions. */
function cleanup(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
