// Experiments: weighted A/B (sticky by a request key), canary split, and shadow traffic.
import type { ExperimentConfig } from './config.js';
import type { HostTensor } from './tensor.js';

/** A model, and optionally one version of it (default: the highest loaded), that a request can be routed to. */
export interface Target {
  readonly model: string;
  readonly version?: string;
}

interface Variant extends Target {
  readonly weight: number;
}

/**
 * A string mapped to [0, 1): the same key always lands in the same bucket. FNV-1a alone leaves
 * keys that differ only in their last characters (user-0, user-1, ...) close together in the high
 * bits, which skewed a 90/10 split of user-0..1999 to 12.3 % (z = 3.4); murmur3's fmix32 finaliser
 * spreads every input bit over every output bit (avalanche).
 */
export function stickyFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/**
 * One experiment's routing: weighted variants (or a canary split) chosen per request, sticky by request key, plus
 * optional shadow mirroring; throws if the variant weights sum to 0.
 */
export class Experiment {
  private readonly variants: readonly Variant[];
  private readonly total: number;
  /** The last variant with a weight above 0: the answer when rounding leaves `u` past the last bucket. */
  private readonly lastLive: Variant;

  constructor(
    readonly name: string,
    readonly config: ExperimentConfig,
  ) {
    let variants: Variant[] = config.variants.map((v) => ({ model: v.model, version: v.version, weight: v.weight }));
    if (config.canary) {
      const base = variants[0];
      const p = config.canary.percent;
      variants = [
        { ...base, weight: 100 - p },
        { model: config.canary.model, version: config.canary.version, weight: p },
      ];
    }
    this.variants = variants;
    this.total = variants.reduce((s, v) => s + v.weight, 0);
    const lastLive = [...variants].reverse().find((v) => v.weight > 0);
    if (this.total <= 0 || lastLive === undefined) throw new Error(`experiment '${name}': variant weights sum to 0`);
    this.lastLive = lastLive;
  }

  /** Every model this experiment routes to (for validation at start). */
  targets(): Target[] {
    return [...this.variants, ...(this.config.shadow ? [this.config.shadow] : [])];
  }

  /** The variant for a request: sticky when a key is given, random otherwise. */
  choose(key: string | undefined): Target {
    const u = key !== undefined && key !== '' ? stickyFraction(`${this.name}\0${key}`) : Math.random();
    let acc = 0;
    for (const v of this.variants) {
      acc += v.weight / this.total;
      if (u < acc && v.weight > 0) return v;
    }
    return this.lastLive;
  }

  /** The shadow target for this request, if it is mirrored. */
  shadowFor(): Target | undefined {
    const s = this.config.shadow;
    return s && Math.random() * 100 < s.percent ? s : undefined;
  }
}

/** How a shadow answer compares with the primary one. */
export interface ShadowComparison {
  readonly agree: boolean;
  readonly maxAbsDiff: number;
  /** Fraction of rows whose argmax over the first output agrees (classifiers). */
  readonly argmaxAgreement: number;
}

/**
 * Compares a shadow answer with the primary one: they agree when every output has the same name and shape and no
 * element differs by more than `tolerance` (default 1e-4); also reports the largest difference (Infinity on a shape
 * mismatch) and the per-row argmax agreement of the first output.
 */
export function compareOutputs(
  primary: readonly HostTensor[],
  shadow: readonly HostTensor[],
  tolerance = 1e-4,
): ShadowComparison {
  let maxAbsDiff = 0;
  let sameShape = primary.length === shadow.length;
  for (const p of primary) {
    const s = shadow.find((t) => t.name === p.name);
    if (!s || s.shape.join() !== p.shape.join()) {
      sameShape = false;
      continue;
    }
    for (let i = 0; i < p.data.length; i++)
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(Number(p.data[i]) - Number(s.data[i])));
  }
  let agreeRows = 0;
  let rows = 0;
  const a = primary[0];
  const b = shadow.find((t) => t.name === a?.name) ?? shadow[0];
  if (a && b && a.shape.length >= 1 && a.shape.join() === b.shape.join()) {
    rows = a.shape[0];
    const width = a.data.length / Math.max(1, rows);
    for (let r = 0; r < rows; r++) {
      let ia = 0;
      let ib = 0;
      for (let j = 1; j < width; j++) {
        if (Number(a.data[r * width + j]) > Number(a.data[r * width + ia])) ia = j;
        if (Number(b.data[r * width + j]) > Number(b.data[r * width + ib])) ib = j;
      }
      if (ia === ib) agreeRows++;
    }
  }
  return {
    agree: sameShape && maxAbsDiff <= tolerance,
    maxAbsDiff: sameShape ? maxAbsDiff : Infinity,
    argmaxAgreement: rows === 0 ? 0 : agreeRows / rows,
  };
}
