// Registries of dataset, transform and batch-transform kinds, so a pipeline can be described as plain data
// (`{ dataset: { kind: 'idx', ... }, transforms: [{ kind: 'randomCrop', size: 28, padding: 2 }] }`) and rebuilt in
// a worker thread or from a config file.
import type { Dataset } from './dataset.js';
import type { ArrayTransform } from './transforms/transform.js';
import type { BatchTransform } from './transforms/mix.js';

/** A description: a registered kind plus its (JSON-serializable) options. */
export interface KindSpec {
  readonly kind: string;
  readonly [option: string]: unknown;
}

type Factory<T> = (options: Record<string, unknown>) => T | Promise<T>;

function registry<T>(what: string) {
  const map = new Map<string, { factory: Factory<T>; options?: readonly string[] }>();
  return {
    /** Registers `factory` under `kind` (replacing any earlier one) with the option names it accepts, when given. */
    register(kind: string, factory: Factory<T>, options?: readonly string[]): void {
      map.set(kind, { factory, options });
    },
    /**
     * Builds the object `spec` describes by calling its kind's factory with the other fields as options; throws an
     * Error prefixed with `where` for an unknown kind or when the factory throws.
     */
    async build(spec: KindSpec, where: string): Promise<T> {
      const entry = map.get(spec.kind);
      if (!entry)
        throw new Error(`${where}: unknown ${what} kind "${spec.kind}" (known: ${[...map.keys()].sort().join(', ')})`);
      const { kind: _kind, ...options } = spec;
      const unknown = entry.options && Object.keys(options).find((k) => !entry.options!.includes(k));
      if (unknown)
        throw new Error(`${where} (${spec.kind}): unknown option "${unknown}" (known: ${entry.options!.join(', ')})`);
      try {
        return await entry.factory(options);
      } catch (e) {
        throw new Error(`${where} (${spec.kind}): ${(e as Error).message}`);
      }
    },
    /** The registered kind names, sorted. */
    kinds: (): string[] => [...map.keys()].sort(),
  };
}

/** The registry of dataset kinds (idx, csv, image-folder, ...) that a pipeline's `dataset` spec names. */
export const datasetKinds = registry<Dataset>('dataset');
/** The registry of array transform kinds (randomCrop, normalize, ...) that a pipeline's `transforms` name. */
export const transformKinds = registry<ArrayTransform>('transform');
/** The registry of batch transform kinds (mixup, cutmix) that a pipeline's `batchTransforms` name. */
export const batchTransformKinds = registry<BatchTransform>('batch transform');

/**
 * Registers a dataset kind (a module that calls this can be listed in a pipeline's `imports`). With `options`, any
 * other option in a spec is an error naming it before the factory runs (otherwise the factory must check).
 */
export const registerDatasetKind = (kind: string, factory: Factory<Dataset>, options?: readonly string[]): void =>
  datasetKinds.register(kind, factory, options);
/** Registers an array transform kind, applied to the sample key named by the spec's `key` (default 'x'). */
export const registerTransformKind = (
  kind: string,
  factory: Factory<ArrayTransform>,
  options?: readonly string[],
): void => transformKinds.register(kind, factory, options);
/** Registers a batch transform kind (mixup-like, applied to collated batches) for pipelines' `batchTransforms`. */
export const registerBatchTransformKind = (
  kind: string,
  factory: Factory<BatchTransform>,
  options?: readonly string[],
): void => batchTransformKinds.register(kind, factory, options);
