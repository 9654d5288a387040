// Loading a Hugging Face `tokenizer.json` (the `tokenizers` library's format) for BPE and WordPiece models:
// normalizer → added tokens → pre-tokenizer → model → post-processor, and the matching decoder.
// Supported pieces: normalizers BertNormalizer, Lowercase, NFC/NFD/NFKC/NFKD, StripAccents, Sequence;
// pre-tokenizers BertPreTokenizer, Whitespace, WhitespaceSplit, ByteLevel, Sequence; post-processors
// BertProcessing, TemplateProcessing (single sequence); decoders WordPiece, ByteLevel. Anything else is an error
// naming the field, never a silent mis-tokenization.
import { readFileSync } from 'node:fs';
import type { Tokenizer } from './tokenizer.js';

type Json = Record<string, unknown> | null | undefined;
type Normalize = (s: string) => string;
type Split = (s: string) => string[];

/** GPT-2's reversible map from bytes to printable characters (so byte-level tokens are valid strings). */
function byteChars(): { toChar: string[]; toByte: Map<string, number> } {
  const bs: number[] = [];
  for (const [a, b] of [[33, 126], [161, 172], [174, 255]]) for (let i = a; i <= b; i++) bs.push(i);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) (bs.push(b), cs.push(256 + n++));
  const toChar: string[] = new Array(256);
  bs.forEach((b, i) => (toChar[b] = String.fromCodePoint(cs[i])));
  return { toChar, toByte: new Map(toChar.map((c, b) => [c, b])) };
}
const BYTES = byteChars();
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const PUNCT = /[\p{P}\p{S}]/u;

function normalizer(j: Json, where: string): Normalize {
  if (!j) return (s) => s;
  const stripAccents = (s: string) => s.normalize('NFD').replace(/\p{Mn}/gu, '');
  switch (j.type) {
    case 'BertNormalizer': {
      const lower = j.lowercase !== false;
      const strip = j.strip_accents === null || j.strip_accents === undefined ? lower : j.strip_accents === true;
      return (s) => {
        let t = j.clean_text !== false ? s.replace(/[\u0000\ufffd\p{Cc}]/gu, (c) => (/\s/.test(c) ? ' ' : '')) : s;
        if (j.handle_chinese_chars !== false) t = t.replace(/[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]/gu, (c) => ` ${c} `);
        if (strip) t = stripAccents(t);
        return lower ? t.toLowerCase() : t;
      };
    }
    case 'Lowercase': return (s) => s.toLowerCase();
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': return (s) => s.normalize(j.type as string);
    case 'StripAccents': return stripAccents;
    case 'Sequence': {
      const parts = ((j.normalizers ?? []) as Json[]).map((n, i) => normalizer(n, `${where}.normalizers[${i}]`));
      return (s) => parts.reduce((t, f) => f(t), s);
    }
    default: throw new Error(`${where}: normalizer type "${String(j.type)}" is not supported`);
  }
}

function preTokenizer(j: Json, where: string): { split: Split; byteLevel: boolean } {
  if (!j) return { split: (s) => (s ? [s] : []), byteLevel: false };
  switch (j.type) {
    case 'BertPreTokenizer':
      return { split: (s) => s.split(/\s+/u).filter(Boolean).flatMap((w) => w.split(/([\p{P}\p{S}])/u).filter(Boolean)), byteLevel: false };
    case 'Whitespace': return { split: (s) => s.match(/\w+|[^\w\s]+/gu) ?? [], byteLevel: false };
    case 'WhitespaceSplit': return { split: (s) => s.split(/\s+/u).filter(Boolean), byteLevel: false };
    case 'ByteLevel': {
      const prefix = j.add_prefix_space === true;
      const regex = j.use_regex !== false;
      const enc = new TextEncoder();
      return {
        byteLevel: true,
        split: (s) => {
          const t = prefix && s && !s.startsWith(' ') ? ' ' + s : s;
          return (regex ? t.match(GPT2_SPLIT) ?? [] : [t]).map((w) => Array.from(enc.encode(w), (b) => BYTES.toChar[b]).join(''));
        },
      };
    }
    case 'Sequence': {
      const parts = ((j.pretokenizers ?? []) as Json[]).map((p, i) => preTokenizer(p, `${where}.pretokenizers[${i}]`));
      return { split: (s) => parts.reduce<string[]>((ws, p) => ws.flatMap(p.split), [s]), byteLevel: parts.some((p) => p.byteLevel) };
    }
    default: throw new Error(`${where}: pre_tokenizer type "${String(j.type)}" is not supported`);
  }
}

type Model = (word: string) => number[];

function wordPiece(m: Record<string, unknown>, vocab: Map<string, number>): Model {
  const prefix = (m.continuing_subword_prefix as string | undefined) ?? '##';
  const maxChars = (m.max_input_chars_per_word as number | undefined) ?? 100;
  const unk = vocab.get((m.unk_token as string | undefined) ?? '[UNK]');
  if (unk === undefined) throw new Error(`tokenizer.json: model.unk_token "${String(m.unk_token)}" is not in model.vocab`);
  return (word) => {
    const chars = Array.from(word);
    if (chars.length > maxChars) return [unk];
    const out: number[] = [];
    for (let start = 0; start < chars.length; ) {
      // greedy longest match first
      let end = chars.length;
      let id: number | undefined;
      for (; end > start; end--) {
        id = vocab.get((start > 0 ? prefix : '') + chars.slice(start, end).join(''));
        if (id !== undefined) break;
      }
      if (id === undefined) return [unk];
      out.push(id);
      start = end;
    }
    return out;
  };
}

function bpe(m: Record<string, unknown>, vocab: Map<string, number>, where: string): Model {
  const merges = (m.merges ?? []) as (string | [string, string])[];
  const ranks = new Map<string, number>();
  merges.forEach((x, i) => {
    const [a, b] = typeof x === 'string' ? x.split(' ') : x;
    if (a === undefined || b === undefined) throw new Error(`${where}.merges[${i}]: expected "a b" or ["a", "b"]`);
    ranks.set(`${a}\u0000${b}`, i);
  });
  if (m.continuing_subword_prefix || m.end_of_word_suffix) throw new Error(`${where}: continuing_subword_prefix / end_of_word_suffix are not supported`);
  const unkName = m.unk_token as string | null | undefined;
  const unk = unkName ? vocab.get(unkName) : undefined;
  return (word) => {
    let parts = Array.from(word);
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = ranks.get(`${parts[i]}\u0000${parts[i + 1]}`);
        if (r !== undefined && r < best) (best = r), (at = i);
      }
      if (at < 0) break;
      const [a, b] = [parts[at], parts[at + 1]];
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) (next.push(a + b), i++);
        else next.push(parts[i]);
      }
      parts = next;
    }
    return parts.map((p) => {
      const id = vocab.get(p) ?? unk;
      if (id === undefined) throw new Error(`tokenizer.json BPE: "${p}" is not in the vocabulary and there is no unk_token`);
      return id;
    });
  };
}

export interface HfEncodeOptions {
  /** Add the post-processor's special tokens ([CLS] … [SEP]); default true. */
  readonly addSpecialTokens?: boolean;
}

/** A tokenizer read from a Hugging Face tokenizer.json. */
export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf';
  readonly model: 'BPE' | 'WordPiece';
  private readonly vocab: Map<string, number>;
  private readonly inverse: Map<number, string>;
  private readonly specials = new Set<number>();
  private readonly added: { content: string; id: number }[];
  private readonly normalize: Normalize;
  private readonly pre: { split: Split; byteLevel: boolean };
  private readonly run: Model;
  private readonly wrap: (ids: number[]) => number[];

  constructor(readonly json: Record<string, unknown>, readonly source = '<tokenizer.json>') {
    const m = json.model as Record<string, unknown> | undefined;
    if (!m || typeof m.vocab !== 'object' || m.vocab === null) throw new Error(`${source}: model.vocab is missing`);
    if (m.type !== 'BPE' && m.type !== 'WordPiece') throw new Error(`${source}: model.type "${String(m.type)}" is not supported (BPE, WordPiece)`);
    this.model = m.type;
    this.vocab = new Map(Object.entries(m.vocab as Record<string, number>));
    this.added = ((json.added_tokens ?? []) as { content: string; id: number; special?: boolean }[]).map((t) => {
      this.vocab.set(t.content, t.id);
      if (t.special) this.specials.add(t.id);
      return { content: t.content, id: t.id };
    });
    this.inverse = new Map([...this.vocab].map(([k, v]) => [v, k]));
    this.normalize = normalizer(json.normalizer as Json, `${source}: normalizer`);
    this.pre = preTokenizer(json.pre_tokenizer as Json, `${source}: pre_tokenizer`);
    this.run = m.type === 'WordPiece' ? wordPiece(m, this.vocab) : bpe(m, this.vocab, `${source}: model`);
    this.wrap = this.postProcessor(json.post_processor as Json);
  }

  static load(path: string): HfTokenizer {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${path}: cannot read tokenizer.json (${(e as Error).message})`);
    }
    return new HfTokenizer(j, path);
  }

  private postProcessor(j: Json): (ids: number[]) => number[] {
    if (!j) return (ids) => ids;
    if (j.type === 'BertProcessing') {
      const [cls, sep] = [(j.cls as [string, number])[1], (j.sep as [string, number])[1]];
      return (ids) => [cls, ...ids, sep];
    }
    if (j.type === 'TemplateProcessing') {
      const special = (j.special_tokens ?? {}) as Record<string, { ids: number[] }>;
      const items = (j.single ?? []) as Record<string, { id: string }>[];
      return (ids) => items.flatMap((it) => {
        if (it.Sequence) return ids;
        const s = special[it.SpecialToken?.id ?? ''];
        if (!s) throw new Error(`${this.source}: post_processor special token "${it.SpecialToken?.id}" is not in special_tokens`);
        return s.ids;
      });
    }
    throw new Error(`${this.source}: post_processor type "${String(j.type)}" is not supported`);
  }

  get vocabSize(): number {
    return Math.max(...this.vocab.values()) + 1;
  }

  /** Id of a token string (e.g. '[PAD]'), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
  idToToken(id: number): string | undefined {
    return this.inverse.get(id);
  }

  encode(text: string, o: HfEncodeOptions = {}): number[] {
    const ids: number[] = [];
    // added tokens are matched verbatim before normalization and split the text around them
    const pieces: (string | number)[] = [text];
    for (const t of [...this.added].sort((a, b) => b.content.length - a.content.length)) {
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i];
        if (typeof p !== 'string' || !p.includes(t.content)) continue;
        const parts = p.split(t.content).flatMap((s, k) => (k === 0 ? [s] : [t.id, s]));
        pieces.splice(i, 1, ...parts);
        i += parts.length - 1;
      }
    }
    for (const p of pieces) {
      if (typeof p === 'number') ids.push(p);
      else for (const w of this.pre.split(this.normalize(p))) ids.push(...this.run(w));
    }
    return o.addSpecialTokens === false ? ids : this.wrap(ids);
  }

  decode(ids: readonly number[], o: { readonly skipSpecialTokens?: boolean } = {}): string {
    const toks = ids.filter((i) => !(o.skipSpecialTokens !== false && this.specials.has(i))).map((i) => {
      const t = this.inverse.get(i);
      if (t === undefined) throw new Error(`${this.source}: id ${i} is not in the vocabulary`);
      return t;
    });
    const d = this.json.decoder as Json;
    if (this.pre.byteLevel || d?.type === 'ByteLevel') {
      const bytes = Array.from(toks.join(''), (c) => BYTES.toByte.get(c) ?? 0x3f);
      return new TextDecoder().decode(Uint8Array.from(bytes));
    }
    if (this.model === 'WordPiece' || d?.type === 'WordPiece') {
      const prefix = (d?.prefix as string | undefined) ?? '##';
      return toks.map((t, i) => (t.startsWith(prefix) ? t.slice(prefix.length) : i > 0 ? ' ' + t : t)).join('')
        .replace(/ ([.,!?;:'])/g, '$1');
    }
    return toks.join('');
  }

  toJSON(): object {
    return this.json;
  }
}
