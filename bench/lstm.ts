// `npm run bench -- lstm [--json]`: char-LSTM training step (embedding 96→64, 1-layer LSTM hidden 128, linear
// 128→96, sequence 64, batch 32, Adam) vs PyTorch's nn.LSTM on the same workload in the same run.
// Both sides run at their best thread setting (bench/_threading.ts; the peer: best of 1 and 2 threads).
import { manualSeed } from '../src/nn/index.js';
import { CharRNN } from '../src/models/rnn.js';
import { lmTrainStep, seqBench, SEQ } from './gpt.js';
import { fastestThreading } from './_threading.js';

export const lstmBenchModel = (): CharRNN => {
  manualSeed(0);
  return new CharRNN({ cell: 'lstm', vocab: SEQ.vocab, context: SEQ.context, embed: 64, hidden: 128 });
};

export const run = (args: string[]): Promise<void> =>
  seqBench(args, 'lstm-train', 'lstm', () => fastestThreading('lstm-train', () => lmTrainStep(lstmBenchModel())));
