// `npm run bench -- mlp [--json]`: MLP 784-256-256-10, batch 128, Adam, vs PyTorch in the same run.
import { trainBench } from './_train-bench.js';
import { mlpTrainStep } from './_workloads.js';

export const run = (args: string[]): Promise<void> => trainBench(args, 'mlp-train', 'mlp', 128, mlpTrainStep);
