// The Trainer reads batches through the data layer's BatchLoader contract.
export {
  ArrayLoader,
  permutation,
  type Batch,
  type BatchLoader,
  type ArrayLoaderOptions,
} from '../data/array-loader.js';
