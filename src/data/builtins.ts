// The built-in dataset, transform and batch-transform kinds of pipelines (imported by pipeline.ts).
import { fashionFromDir, fashionMnist, fashionSubsetDir, type FashionSplit } from './fashion.js';
import { idxDataset, type IdxDatasetOptions } from './readers/idx-dataset.js';
import { readCsv, type ColumnType } from './readers/csv.js';
import { tableDataset, type TableDatasetOptions } from './readers/table-dataset.js';
import { imageFolder, type ImageFolderOptions } from './readers/image-folder.js';
import { registerBatchTransformKind, registerDatasetKind, registerTransformKind } from './registry.js';
import * as image from './transforms/image.js';
import * as color from './transforms/color.js';
import * as geometry from './transforms/geometry.js';
import * as autoaugment from './transforms/autoaugment.js';
import { cutmix, mixup, type MixOptions } from './transforms/mix.js';
import * as audio from './audio/augment.js';
import { logMelSpectrogram, type LogMelOptions } from './audio/mel.js';
import { mfcc, type MfccOptions } from './audio/mfcc.js';
import { checkResampleOptions, resample, type ResampleOptions } from './audio/resample.js';
import type { ArrayTransform } from './transforms/transform.js';

// what a factory receives is validated by the factory it calls; the casts only name the option types
type Opts<T> = T & Record<string, unknown>;

registerDatasetKind(
  'fashion-mnist',
  async (o) => {
    const { split, root, subset, scale } = o as Opts<{
      split: FashionSplit;
      root?: string;
      subset?: boolean;
      scale?: 'standard' | 'unit';
    }>;
    if (split !== 'train' && split !== 'test')
      throw new Error(`split must be 'train' or 'test', got ${JSON.stringify(split)}`);
    if (subset) return fashionFromDir(root ?? fashionSubsetDir(), split, scale);
    return fashionMnist({ split, root, scale });
  },
  ['split', 'root', 'subset', 'scale'],
);
registerDatasetKind('idx', (o) => idxDataset(o as Opts<IdxDatasetOptions>), ['images', 'labels', 'channel']);
registerDatasetKind(
  'csv',
  (o) => {
    const { path, columns, ...rest } = o as Opts<
      TableDatasetOptions & { path: string; columns?: Record<string, ColumnType> }
    >;
    return tableDataset(readCsv(path, { columns }), rest);
  },
  ['path', 'columns', 'features', 'label', 'classes'],
);
registerDatasetKind('image-folder', (o) => imageFolder(o as Opts<ImageFolderOptions>));

registerTransformKind('toFloat', (o) => image.toFloat(o));
registerTransformKind('normalize', (o) => image.normalize(o as Opts<image.NormalizeOptions>), ['mean', 'std']);
registerTransformKind('randomCrop', (o) => image.randomCrop(o as Opts<image.RandomCropOptions>));
registerTransformKind('randomHorizontalFlip', (o) => image.randomHorizontalFlip(o));
registerTransformKind('randomRotation', (o) => image.randomRotation(o as Opts<image.RotationOptions>));
registerTransformKind('colorJitter', (o) => color.colorJitter(o));
registerTransformKind('cutout', (o) => image.cutout(o as Opts<image.CutoutOptions>));
registerTransformKind('resize', (o) => geometry.resize(o as Opts<geometry.ResizeOptions>));
registerTransformKind('centerCrop', (o) => geometry.centerCrop(o as Opts<geometry.CenterCropOptions>));
registerTransformKind('pad', (o) => geometry.pad(o as Opts<geometry.PadOptions>));
registerTransformKind('randomVerticalFlip', (o) => geometry.randomVerticalFlip(o));
registerTransformKind('randomResizedCrop', (o) =>
  geometry.randomResizedCrop(o as Opts<geometry.RandomResizedCropOptions>),
);
registerTransformKind('randAugment', (o) => autoaugment.randAugment(o));
registerTransformKind('trivialAugmentWide', (o) => autoaugment.trivialAugmentWide(o));

registerTransformKind('specAugment', (o) => audio.specAugment(o));
registerTransformKind('addNoise', (o) => audio.addNoise(o));
registerTransformKind('timeShift', (o) => audio.timeShift(o as Opts<audio.TimeShiftOptions>));
registerTransformKind(
  'logMel',
  (o) => {
    const opts = o as Opts<LogMelOptions>;
    return function logMel(a) {
      if (a.dtype !== 'float32' || a.shape.length !== 1)
        throw new Error(`logMel: expects a float32 waveform [N], got ${a.dtype}[${a.shape}]`);
      return logMelSpectrogram(a.data as Float32Array, opts);
    } satisfies ArrayTransform;
  },
  ['sampleRate', 'nFft', 'nMels', 'fMin', 'fMax', 'scale', 'norm', 'hop', 'winLength', 'center', 'padMode', 'floor'],
);
registerTransformKind(
  'mfcc',
  (o) => {
    const opts = o as Opts<MfccOptions>;
    return function mfccTransform(a) {
      if (a.dtype !== 'float32' || a.shape.length !== 1)
        throw new Error(`mfcc: expects a float32 waveform [N], got ${a.dtype}[${a.shape}]`);
      return mfcc(a.data as Float32Array, opts);
    } satisfies ArrayTransform;
  },
  [
    'sampleRate',
    'nMfcc',
    'nFft',
    'hop',
    'winLength',
    'nMels',
    'fMin',
    'fMax',
    'scale',
    'norm',
    'center',
    'padMode',
    'logMels',
    'topDb',
  ],
);
registerTransformKind(
  'resample',
  (o) => {
    const { from, to, ...filter } = o as Opts<{ from: number; to: number } & ResampleOptions>;
    checkResampleOptions(filter);
    return function resampleTransform(a) {
      if (a.dtype !== 'float32' || a.shape.length !== 1)
        throw new Error(`resample: expects a float32 waveform [N], got ${a.dtype}[${a.shape}]`);
      const data = resample(a.data as Float32Array, from, to, filter);
      return { dtype: 'float32', shape: [data.length], data };
    } satisfies ArrayTransform;
  },
  ['from', 'to', 'zeros', 'rolloff'],
);

registerBatchTransformKind('mixup', (o) => mixup(o as Opts<MixOptions>));
registerBatchTransformKind('cutmix', (o) => cutmix(o as Opts<MixOptions>));
