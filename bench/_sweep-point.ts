// One lathe measurement of the sweep (bench/sweep.ts), run as its own process so that its peak RSS is its own:
//   node dist/bench/_sweep-point.js '<point as JSON>' <target ms per repetition> <reps>
// with LATHE_THREADS / LATHE_SPINNING set by the caller. Prints one JSON line
// {"samples_per_s", "ms_per_step", "steps", "peak_rss_mb"}; the PyTorch side (bench/peers/torch_sweep.py) builds the
// same models and measures itself the same way (time-boxed repetitions, VmHWM from /proc/self/status at the end).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { NDArray } from '../src/graph/ndarray.js';
import { CharRNN } from '../src/models/rnn.js';
import { ResNet } from '../src/models/resnet.js';
import { GPT } from '../src/models/transformer.js';
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, manualSeed } from '../src/nn/index.js';
import type { TrainStep } from '../src/train/train-step.js';
import { lmTrainStep } from './gpt.js';
import { median } from './_peer.js';
import { scaled, type SweepPoint } from './_sweep-grid.js';
import { randomBatch, stepFor } from './_workloads.js';

/** What one side reports for one point. */
export interface PointResult {
  readonly samples_per_s: number;
  readonly ms_per_step: number;
  readonly steps: number;
  readonly peak_rss_mb: number;
}

/** The training step of a sweep point and its fixed batch (vocab 96 and 10 classes, as the single-size benches). */
export async function sweepStep(pt: SweepPoint): Promise<{ step: TrainStep; batch: Record<string, NDArray> }> {
  manualSeed(0);
  const w = pt.width;
  switch (pt.workload) {
    case 'mlp': {
      const h = scaled(256, w);
      const model = new Sequential(new Linear(784, h), ReLU(), new Linear(h, h), ReLU(), new Linear(h, 10));
      return { step: await stepFor(model, [pt.batch, 784], 10), batch: randomBatch([pt.batch, 784], 10) };
    }
    case 'cnn': {
      const [c1, c2, d] = [scaled(32, w), scaled(64, w), scaled(128, w)];
      const model = new Sequential(
        new Conv2d(1, c1, 3),
        ReLU(),
        MaxPool2d(2),
        new Conv2d(c1, c2, 3),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        new Linear(c2 * 5 * 5, d),
        ReLU(),
        new Linear(d, 10),
      );
      const shape = [pt.batch, 1, 28, 28];
      return { step: await stepFor(model, shape, 10), batch: randomBatch(shape, 10) };
    }
    case 'resnet': {
      const model = new ResNet({ layers: [1, 1, 1, 1], widths: [16, 32, 64, 128].map((c) => scaled(c, w)) });
      const shape = [pt.batch, 1, 28, 28];
      return { step: await stepFor(model, shape, 10), batch: randomBatch(shape, 10) };
    }
    case 'gpt':
    case 'lstm': {
      const seq = pt.seq ?? 64;
      const model =
        pt.workload === 'gpt'
          ? new GPT({
              vocab: 96,
              context: seq,
              dim: scaled(128, w),
              heads: 4,
              layers: 2,
              mlpRatio: 4,
              positions: 'learned',
              tied: true,
            })
          : new CharRNN({ cell: 'lstm', vocab: 96, context: seq, embed: scaled(64, w), hidden: scaled(128, w) });
      return lmTrainStep(model, { vocab: 96, context: seq, batch: pt.batch });
    }
  }
}

/** The process's peak resident set (VmHWM in /proc/self/status) in MB, or null where /proc has no such line. */
export function peakRssMb(): number | null {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : null;
}

/** Times `steps` after 3 warm-up steps: `reps` repetitions of ~`targetMs` each (at least 2 steps), median per step. */
export async function measurePoint(pt: SweepPoint, targetMs: number, reps: number): Promise<PointResult> {
  const { step, batch } = await sweepStep(pt);
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) await step.run(batch, 1e-3);
  const per = (performance.now() - t0) / 3;
  const steps = Math.max(2, Math.round(targetMs / Math.max(per, 1e-3)));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const s = performance.now();
    for (let i = 0; i < steps; i++) await step.run(batch, 1e-3);
    times.push((performance.now() - s) / steps);
  }
  await step.release();
  const ms = median(times);
  return { samples_per_s: pt.batch / (ms / 1000), ms_per_step: ms, steps, peak_rss_mb: peakRssMb() ?? Number.NaN };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [point, targetMs, reps] = process.argv.slice(2);
  const res = await measurePoint(JSON.parse(point) as SweepPoint, Number(targetMs), Number(reps));
  console.log(JSON.stringify(res));
}
