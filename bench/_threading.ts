// How a benchmark times lathe at its best thread setting, as the PyTorch peer is timed at its best of 1 and 2 threads.
import type { NDArray } from '../src/graph/ndarray.js';
import type { TrainStep } from '../src/train/train-step.js';
import { timeSteps } from './_workloads.js';

/**
 * Builds the step with 1 intra-op thread, and with 2 threads spinning and not spinning (ORT's
 * session.intra_op.allow_spinning), times a short trial of each and keeps the fastest, as the peer is timed with 1 and
 * 2 threads under OMP_WAIT_POLICY=PASSIVE (on a 2-core machine shared with other jobs, a spinning 2-thread pool makes
 * each kernel wait for the busier core). LATHE_THREADS, when set, fixes the thread count instead.
 */
export async function fastestThreading(
  workload: string,
  make: () => Promise<{ step: TrainStep; batch: Record<string, NDArray> }>,
): Promise<{ step: TrainStep; batch: Record<string, NDArray> }> {
  if (process.env.LATHE_THREADS) return make();
  let best: { step: TrainStep; batch: Record<string, NDArray>; ms: number; label: string } | undefined;
  for (const [threads, spinning] of [
    ['1', '1'],
    ['2', '1'],
    ['2', '0'],
  ] as const) {
    process.env.LATHE_THREADS = threads; // both read when the session is created
    process.env.LATHE_SPINNING = spinning;
    const made = await make();
    const ms = await timeSteps(made.step, made.batch, 5, 3);
    if (!best || ms < best.ms) {
      await best?.step.release();
      best = {
        ...made,
        ms,
        label: `${threads} intra-op thread(s)${threads === '2' ? (spinning === '1' ? ', spinning' : ', not spinning') : ''}`,
      };
    } else await made.step.release();
  }
  delete process.env.LATHE_THREADS;
  delete process.env.LATHE_SPINNING;
  console.error(`${workload}: lathe timed with ${best!.label}`);
  return best!;
}
