// Byte-level BPE (Sennrich et al. 2016; GPT-2 style over UTF-8 bytes): trained on a corpus by repeatedly merging
// the most frequent adjacent pair of tokens within words. Ids 0..255 are bytes, 256+i is merge i, so any text
// encodes (no unknown token) and decode(encode(s)) === s.

/** Splits text into words, each keeping its leading whitespace (so spaces survive the round trip). */
export function preTokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+/gu) ?? [];
}

import type { Tokenizer } from './tokenizer.js';

const utf8 = new TextEncoder();

export interface BpeJSON {
  readonly kind: 'bpe';
  /** Merge i joins tokens merges[i][0] and merges[i][1] into token 256 + i. */
  readonly merges: readonly (readonly [number, number])[];
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  private readonly ranks = new Map<string, number>();
  /** Bytes of each token id. */
  private readonly bytes: Uint8Array[];

  constructor(readonly merges: readonly (readonly [number, number])[]) {
    this.bytes = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
    merges.forEach(([a, b], i) => {
      if (!(a < 256 + i && b < 256 + i)) throw new Error(`BpeTokenizer: merge ${i} (${a}, ${b}) refers to a later token`);
      this.ranks.set(`${a},${b}`, i);
      const t = new Uint8Array(this.bytes[a].length + this.bytes[b].length);
      t.set(this.bytes[a]);
      t.set(this.bytes[b], this.bytes[a].length);
      this.bytes.push(t);
    });
  }

  get vocabSize(): number {
    return 256 + this.merges.length;
  }

  /** Learns `vocabSize - 256` merges from a corpus (ties broken by the smaller pair, so training is deterministic). */
  static train(corpus: string, vocabSize: number): BpeTokenizer {
    if (!(vocabSize >= 256)) throw new Error(`BpeTokenizer.train: vocabSize must be ≥ 256, got ${vocabSize}`);
    const counts = new Map<string, number>();
    for (const w of preTokenize(corpus)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts].map(([w, n]) => ({ ids: Array.from(utf8.encode(w)), n }));
    const merges: [number, number][] = [];
    while (256 + merges.length < vocabSize) {
      const pairs = new Map<number, number>();
      for (const { ids, n } of words) for (let i = 0; i + 1 < ids.length; i++) {
        const key = ids[i] * 0x100000 + ids[i + 1];
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
      let best = -1;
      let bestN = 0;
      for (const [k, n] of pairs) if (n > bestN || (n === bestN && k < best)) (best = k), (bestN = n);
      if (bestN < 2) break; // nothing repeats: more merges would only memorise single words
      const a = Math.floor(best / 0x100000);
      const b = best % 0x100000;
      const id = 256 + merges.length;
      merges.push([a, b]);
      for (const w of words) w.ids = mergePair(w.ids, a, b, id);
    }
    return new BpeTokenizer(merges);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of preTokenize(text)) {
      let ids = Array.from(utf8.encode(w));
      for (;;) {
        // apply the earliest-learned merge present, as training did
        let rank = Infinity;
        let at = -1;
        for (let i = 0; i + 1 < ids.length; i++) {
          const r = this.ranks.get(`${ids[i]},${ids[i + 1]}`);
          if (r !== undefined && r < rank) (rank = r), (at = i);
        }
        if (at < 0) break;
        const [a, b] = this.merges[rank];
        ids = mergePair(ids, a, b, 256 + rank);
      }
      out.push(...ids);
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    const parts = ids.map((i) => {
      const b = this.bytes[i];
      if (!b) throw new Error(`BpeTokenizer.decode: id ${i} is not in [0, ${this.vocabSize})`);
      return b;
    });
    const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) all.set(p, (o += p.length) - p.length);
    return new TextDecoder().decode(all);
  }

  /** The bytes of a token as text (for inspecting the vocabulary). */
  token(id: number): string {
    return new TextDecoder().decode(this.bytes[id]);
  }

  toJSON(): BpeJSON {
    return { kind: 'bpe', merges: this.merges };
  }

  static fromJSON(j: BpeJSON): BpeTokenizer {
    if (j.kind !== 'bpe' || !Array.isArray(j.merges)) throw new Error('BpeTokenizer.fromJSON: not a lathe BPE tokenizer ({ kind: "bpe", merges })');
    return new BpeTokenizer(j.merges);
  }
}

function mergePair(ids: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(ids[i]);
  }
  return out;
}
