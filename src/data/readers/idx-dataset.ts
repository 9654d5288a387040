// A Dataset over IDX files: row i of `images` (any IDX element type) and, optionally, label i.
import { assertIndex, type Dataset } from '../dataset.js';
import { readIdxArray } from '../idx.js';
import type { Sample } from '../tensor.js';
import type { NDArray } from '../../graph/ndarray.js';

/**
 * Options of {@link idxDataset}: the IDX file of images (rows), an optional IDX file of labels with one per row, and
 * whether to add a channel axis.
 */
export interface IdxDatasetOptions {
  readonly images: string;
  readonly labels?: string;
  /** Adds a channel axis to rank-2 rows ([H, W] → [1, H, W]; default true). */
  readonly channel?: boolean;
}

/** Samples `{ x: rows of images (dtype kept), y: label }`; add `toFloat()` to get float32 in [0, 1]. */
export function idxDataset(o: IdxDatasetOptions): Dataset {
  const images = readIdxArray(o.images);
  const labels = o.labels ? readIdxArray(o.labels) : undefined;
  const n = images.shape[0];
  if (labels && (labels.shape.length !== 1 || labels.shape[0] !== n))
    throw new Error(`${o.labels}: labels have shape [${labels.shape}], ${o.images} has ${n} rows`);
  const rowShape = images.shape.slice(1);
  const shape = rowShape.length === 2 && o.channel !== false ? [1, ...rowShape] : rowShape;
  const per = rowShape.reduce((a, b) => a * b, 1);
  const data = images.data as Uint8Array;
  return {
    length: n,
    get(i): Sample {
      assertIndex(i, n, o.images);
      const x = { dtype: images.dtype, shape, data: data.slice(i * per, (i + 1) * per) } as NDArray;
      return labels ? { x, y: Number((labels.data as ArrayLike<number>)[i]) } : { x };
    },
  };
}
