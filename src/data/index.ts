// The data layer's public API: datasets and their contracts, readers, transforms, text, audio, tabular, caches.
export * from './dataset.js';
export * from './tensor.js';
export * from './collate.js';
export * from './random.js';
export * from './array-loader.js';
export {
  DataLoader,
  loadSource,
  buildBatch,
  buildBatchReport,
  type BuiltBatch,
  type DataLoaderOptions,
  type DataLoaderState,
  type SourceSpec,
} from './loader.js';
export * from './sample-error.js';
export * from './stream-loader.js';
export * from './memory-cache.js';
export * from './disk-cache.js';
export * from './registry.js';
export * from './catalog.js';
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
export * from './transforms/color.js';
export * from './transforms/geometry.js';
export * from './transforms/resample2d.js';
export * from './transforms/autoaugment.js';
export * from './transforms/mix.js';
export * from './transforms/tabular.js';
export * from './audio/fft.js';
export * from './audio/stft.js';
export * from './audio/mel.js';
export * from './audio/mfcc.js';
export * from './audio/resample.js';
export * from './audio/augment.js';
export * from './text/index.js';
export * from './graph.js';
export { toPixelRange, binarizeFixed } from './pixels.js';
export { imageGrid, writeImageGrid, encodeNpy, readNpy, type GridImage } from './image-grid.js';
export {
  renderSceneViews,
  cameraRays,
  lookAt,
  intersect,
  shadeRay,
  DEFAULT_SCENE,
  SCENE_TARGET,
  type Primitive,
  type Camera,
  type SceneViews,
  type SceneViewsOptions,
  type Hit,
} from './procedural-scene.js';
