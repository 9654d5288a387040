// Pipelines as data: a dataset kind, per-sample transforms and batch transforms, all from the registries, so a
// worker thread (or a config file) can rebuild exactly the same pipeline.
import type { Dataset } from './dataset.js';
import type { SourceSpec } from './loader.js';
import { memoryCache } from './memory-cache.js';
import { diskCache } from './disk-cache.js';
import { batchTransformKinds, datasetKinds, transformKinds, type KindSpec } from './registry.js';
import { mapDataset, onKey, type SampleTransform } from './transforms/transform.js';
import type { Batch } from './tensor.js';
import type { BatchTransform } from './transforms/mix.js';
import './builtins.js';

/**
 * A data pipeline described as plain JSON: a dataset kind, array and batch transform kinds, an optional sample cache,
 * and modules to import first that register custom kinds; built by {@link pipelineSource}.
 */
export interface PipelineSpec {
  /** Modules (file URLs or paths) imported first: they register custom kinds. */
  readonly imports?: readonly string[];
  readonly dataset: KindSpec;
  /** Array transforms; each applies to its `key` (default 'x'). */
  readonly transforms?: readonly KindSpec[];
  readonly batchTransforms?: readonly KindSpec[];
  /** Cache decoded samples before the transforms: in memory (per thread) or in a folder on disk. */
  readonly cache?: 'memory' | { readonly dir: string; readonly key: string };
}

/** Builds the Dataset a pipeline describes (the factory workers call). */
export async function pipelineSource(spec: PipelineSpec): Promise<Dataset> {
  for (const m of spec.imports ?? []) await import(m);
  let ds = await datasetKinds.build(spec.dataset, 'pipeline.dataset');
  if (spec.cache === 'memory') ds = memoryCache(ds);
  else if (spec.cache) ds = diskCache(ds, spec.cache);
  const sample: SampleTransform[] = [];
  for (const [i, t] of (spec.transforms ?? []).entries()) {
    const { key, ...rest } = t;
    sample.push(
      onKey(
        typeof key === 'string' ? key : 'x',
        await transformKinds.build(rest as KindSpec, `pipeline.transforms[${i}]`),
      ),
    );
  }
  const batch: BatchTransform[] = [];
  for (const [i, t] of (spec.batchTransforms ?? []).entries())
    batch.push(await batchTransformKinds.build(t, `pipeline.batchTransforms[${i}]`));
  const mapped = sample.length ? mapDataset(ds, ...sample) : ds;
  if (!batch.length) return mapped;
  return {
    length: mapped.length,
    get: (i, ctx) => mapped.get(i, ctx),
    collate: mapped.collate,
    describe: mapped.describe,
    batchTransform(b, ctx) {
      let out: Batch = b;
      for (const t of batch) out = t(out, ctx);
      return out;
    },
  };
}

/** A SourceSpec for DataLoader: `DataLoader.fromSpec(pipeline({ dataset: { kind: 'fashion-mnist', ... } }), opts)`. */
export function pipeline(spec: PipelineSpec): SourceSpec {
  return { module: new URL('./pipeline.js', import.meta.url).href, export: 'pipelineSource', options: spec };
}
