// The Transform extension point and the glue that applies transforms to samples and datasets.
import type { Dataset, SampleContext } from '../dataset.js';
import type { Sample } from '../tensor.js';
import type { NDArray } from '../../graph/ndarray.js';

/**
 * A transform: a named function from a value to a new value.
 *
 * Contract:
 * - Pure given (value, ctx): all randomness comes from `ctx.random()`, so results are identical on any thread, with
 *   any number of workers, and after a resume. A transform draws the same number of random values whatever
 *   branch it takes when that is cheap, but callers must not rely on it.
 * - Never mutates its input (cached samples are shared); returns new arrays.
 * - Throws an Error naming the transform and the field at fault for input it cannot handle (wrong dtype or rank).
 * - Built by a factory (`randomCrop({ size: 28, padding: 2 })`) that merges typed defaults and validates options.
 */
export type Transform<I, O = I> = (value: I, ctx: SampleContext) => O;

/** Transforms on one array (image, spectrogram, feature vector). */
export type ArrayTransform = Transform<NDArray>;
/** Transforms on a whole sample. */
export type SampleTransform = Transform<Sample>;

/** Applies transforms in order. */
export function compose<T>(...transforms: readonly Transform<T>[]): Transform<T> {
  return function composed(value, ctx) {
    let v = value;
    for (const t of transforms) v = t(v, ctx);
    return v;
  };
}

/** Lifts array transforms to a sample transform on `key` (default 'x'); other keys pass through. */
export function onKey(key: string, ...transforms: readonly ArrayTransform[]): SampleTransform {
  const t = compose(...transforms);
  return function onKeyTransform(sample, ctx) {
    const v = sample[key];
    if (v === undefined || typeof v === 'number')
      throw new Error(`onKey("${key}"): sample has no array "${key}" (keys: ${Object.keys(sample).join(', ')})`);
    return { ...sample, [key]: t(v, ctx) };
  };
}

/** A dataset whose samples pass through `transforms` (a view: nothing is copied or cached). */
export function mapDataset(dataset: Dataset, ...transforms: readonly SampleTransform[]): Dataset {
  const t = compose(...transforms);
  return {
    length: dataset.length,
    collate: dataset.collate,
    batchTransform: dataset.batchTransform,
    describe: dataset.describe,
    async get(i, ctx) {
      return t(await dataset.get(i, ctx), ctx);
    },
  };
}

/** Throws naming the first key of `options` not in `known` (a typo would otherwise be ignored silently). */
export function rejectUnknown(name: string, options: object | undefined, known: readonly string[]): void {
  for (const k of Object.keys(options ?? {}))
    if (!known.includes(k)) throw new Error(`${name}: unknown option "${k}" (known: ${known.join(', ')})`);
}

/** Merges typed defaults with user options, rejecting unknown keys. */
export function withDefaults<T extends object>(
  name: string,
  defaults: Required<T>,
  options: Partial<T> | undefined,
): Required<T> {
  rejectUnknown(name, options, Object.keys(defaults));
  const out = { ...defaults } as Required<T>;
  for (const [k, v] of Object.entries(options ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
