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
  const map = new Map<string, Factory<T>>();
  return {
    /** Registers `factory` under `kind`, replacing any earlier factory of that kind. */
    register(kind: string, factory: Factory<T>): void {
      map.set(kind, factory);
    },
    /**
     * Builds the object `spec` describes by calling its kind's factory with the other fields as options; throws an
     * Error prefixed with `where` for an unknown kind or when the factory throws.
     */
    async build(spec: KindSpec, where: string): Promise<T> {
      const f = map.get(spec.kind);
      if (!f) throw new Error(`${where}: unknown ${what} kind "${spec.kind}" (known: ${[...map.keys()].sort().join(', ')})`);
      const { kind: _kind, ...options } = spec;
      try {
        return await f(options);
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

/** Registers a dataset kind (a module that calls this can be listed in a pipeline's `imports`). */
export const registerDatasetKind = (kind: string, factory: Factory<Dataset>): void => datasetKinds.register(kind, factory);
/** Registers an array transform kind, applied to the sample key named by the spec's `key` (default 'x'). */
export const registerTransformKind = (kind: string, factory: Factory<ArrayTransform>): void => transformKinds.register(kind, factory);
/** Registers a batch transform kind (mixup-like, applied to collated batches) for pipelines' `batchTransforms`. */
export const registerBatchTransformKind = (kind: string, factory: Factory<BatchTransform>): void => batchTransformKinds.register(kind, factory);
