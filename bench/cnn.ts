// `npm run bench -- cnn [--json]`: conv3x3 1→32, ReLU, maxpool2, conv3x3 32→64, ReLU, maxpool2, dense 128,
// dense 10; batch 64; Adam — vs PyTorch (best of 1/2 threads, NCHW/channels_last) in the same run.
import { trainBench } from './_train-bench.js';
import { cnnTrainStep } from './_workloads.js';

export const run = (args: string[]): Promise<void> => trainBench(args, 'cnn-train', 'cnn', 64, cnnTrainStep);
