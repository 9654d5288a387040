// The data layer's public API: datasets and their contracts, readers, transforms, text, audio, tabular, caches.
// The tokenizers exported are text/index.ts's; text/simple-tokenizers.ts, bpe-trainer.ts and hf-tokenizer-json.ts are
// a second implementation of the same names, importable by path until one is chosen.
// (The DataLoader and its worker entry, loader.ts / worker-loader.ts, are exported here by their author.)
export * from './dataset.js';
export * from './map-dataset.js';
export * from './tensor.js';
export * from './collate.js';
export * from './random.js';
export * from './array-loader.js';
export { DataLoader, loadSource, buildBatch, type DataLoaderOptions, type DataLoaderState, type SourceSpec } from './loader.js';
export * from './stream-loader.js';
export * from './memory-cache.js';
export * from './disk-cache.js';
export * from './registry.js';
export * from './pipeline.js';
export * from './fashion.js';
export * from './idx.js';
export * from './readers/csv.js';
export * from './readers/jsonl.js';
export * from './readers/image-folder.js';
export * from './readers/wav.js';
export * from './readers/table-dataset.js';
export * from './readers/idx-dataset.js';
export * from './transforms/transform.js';
export * from './transforms/image.js';
export * from './transforms/mix.js';
export * from './transforms/tabular.js';
export * from './audio/fft.js';
export * from './audio/stft.js';
export * from './audio/mel.js';
export * from './audio/resample.js';
export * from './audio/augment.js';
export * from './text/index.js';
export * from './tabular-preprocess.js';
