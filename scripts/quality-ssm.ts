// `npm run quality -- selective-copy|induction [--steps N] [--minutes M] [--batch B] [--eval-every N] [--length L]`:
// the synthetic tasks of the Mamba paper (Gu & Dao 2023, §4.1), scaled to a 2-core CPU, trained with the `mamba`
// model of the zoo. `--length` shrinks a task for a quick check that the model learns it at all (selective copying:
// L positions with L/16 data tokens; induction: trained at L, evaluated at L, 4L and 16L); the default is 256.
//
// selective-copy  vocabulary 16: 0 is noise, 1..14 are data tokens, 15 the query marker. 256 input positions hold 16
//                 data tokens at random positions (the rest noise); 16 query markers follow, and at those 16
//                 positions the model must emit the 16 data tokens in order. Loss and token accuracy on the 16 query
//                 positions only. Fresh random sequences every step (Rng seed 1); a fixed held-out set of 512
//                 sequences (Rng seed 2) scores token accuracy.
// induction       vocabulary 16: random tokens 1..15 of length L; a special token 0 appears at one random position
//                 p < L − 2 followed by a token y, and again as the last token; the model must emit y at the last
//                 position (loss and accuracy there only). Trained at L = 256, evaluated at 256, 1,024 and 4,096 on
//                 held-out sequences (64 each): the recurrent state carries no position, so the length can grow.
// Both: Adam (lr 2e-3 with 100 warm-up steps then cosine, clip 1), the step budget --steps or the wall-clock budget
// --minutes, whichever ends first (default 20 minutes); one JSON line per evaluation on stderr, the result on stdout.
import { ndarray, type NDArray } from '../src/graph/ndarray.js';
import { argmax, mean } from '../src/graph/ops/reduce.js';
import { cast, equal } from '../src/graph/ops/elementwise.js';
import { sliceAxis } from '../src/graph/ops/movement.js';
import type { Tensor } from '../src/graph/tensor.js';
import { manualSeed } from '../src/nn/index.js';
import { adam, cosineWithWarmup } from '../src/optim/index.js';
import { Trainer } from '../src/train/trainer.js';
import { ArrayLoader, type Batch, type BatchLoader } from '../src/train/loader.js';
import { lmLoss } from '../src/models/transformer.js';
import { Mamba, type MambaOptions } from '../src/models/mamba.js';
import { Rng } from '../src/util/random.js';
import { compile } from '../src/runtime/compile.js';
import { withFrozenParameters } from '../src/nn/export.js';

export type SsmTask = 'selective-copy' | 'induction';

const VOCAB = 16;
/** The task's size: selective copying's input positions and data tokens; induction's training length. */
interface TaskSize {
  readonly length: number;
  readonly tokens: number;
}
const taskSize = (length = 256): TaskSize => ({ length, tokens: Math.max(1, Math.floor(length / 16)) });
/** Held-out induction sequences scored at each evaluation length. */
const EVAL_COUNT = 64;

/** One selective-copying sequence: ids [256 + 16] and targets [16] (the data tokens in order). */
function copySequence(rng: Rng, size: TaskSize): { x: number[]; y: number[] } {
  const x = new Array<number>(size.length).fill(0);
  const pos = new Set<number>();
  while (pos.size < size.tokens) pos.add(rng.int(size.length));
  const sorted = [...pos].sort((a, b) => a - b);
  const y = sorted.map(() => 1 + rng.int(14));
  sorted.forEach((p, i) => (x[p] = y[i]));
  for (let i = 0; i < size.tokens; i++) x.push(15);
  return { x, y };
}

/** One induction-heads sequence of length L: ids [L] and the target [1] (the token after the first special 0). */
function inductionSequence(rng: Rng, length: number): { x: number[]; y: number[] } {
  const x = Array.from({ length }, () => 1 + rng.int(VOCAB - 1));
  const p = rng.int(length - 3);
  x[p] = 0;
  x[length - 1] = 0;
  return { x, y: [x[p + 1]] };
}

function batchOf(seqs: readonly { x: number[]; y: number[] }[]): Batch {
  const t = seqs[0].x.length;
  const k = seqs[0].y.length;
  return {
    x: ndarray(
      'int64',
      [seqs.length, t],
      seqs.flatMap((s) => s.x),
    ),
    y: ndarray(
      'int64',
      [seqs.length, k],
      seqs.flatMap((s) => s.y),
    ),
  };
}

const draw = (task: SsmTask, rng: Rng, size: TaskSize, length = size.length) =>
  task === 'selective-copy' ? copySequence(rng, size) : inductionSequence(rng, length);

/** Fresh random batches, `every` steps per "epoch" (one evaluation after each). */
class TaskBatches implements BatchLoader {
  readonly length: number;
  readonly size: number;
  private readonly rng = new Rng(1);
  constructor(
    readonly task: SsmTask,
    readonly batch: number,
    readonly every: number,
    readonly sizes: TaskSize,
  ) {
    this.length = every;
    this.size = every * batch;
  }
  async *iterate(): AsyncIterable<Batch> {
    for (let s = 0; s < this.every; s++)
      yield batchOf(Array.from({ length: this.batch }, () => draw(this.task, this.rng, this.sizes)));
  }
}

function heldOut(
  task: SsmTask,
  n: number,
  size: TaskSize,
  seed: number,
  length = size.length,
): Record<string, NDArray> {
  const rng = new Rng(seed);
  return batchOf(Array.from({ length: n }, () => draw(task, rng, size, length)));
}

/** Logits of the scored positions (the last k) [B, k, V] against targets [B, k]. */
const scored = (out: Tensor, y: Tensor): Tensor => sliceAxis(out, 1, -(y.shape[1] as number));
const tokenAccuracy = (out: Tensor, b: Readonly<Record<string, Tensor>>): Tensor =>
  mean(cast(equal(argmax(scored(out, b.y), -1), b.y), 'float32'));

/** The model of each task at a task size (docs/models.md). */
const ssmModel = (task: SsmTask, size: TaskSize): MambaOptions => ({
  vocab: VOCAB,
  context: task === 'selective-copy' ? size.length + size.tokens : size.length,
  dim: 32,
  layers: 2,
  state: 16,
});

export interface SsmRunOptions {
  readonly steps: number;
  readonly minutes: number;
  readonly batch: number;
  readonly evalEvery: number;
  /** The task's length (default 256, the size). */
  readonly length?: number;
}

export async function ssmTask(task: SsmTask, o: SsmRunOptions): Promise<Record<string, unknown>> {
  manualSeed(0);
  const size = taskSize(o.length);
  const options = ssmModel(task, size);
  const model = new Mamba(options);
  const t0 = performance.now();
  const deadline = t0 + o.minutes * 60_000;
  const val = heldOut(task, 256, size, 2);
  const curve: [number, number][] = [];
  const trainer = new Trainer({
    model,
    optimizer: adam(),
    lr: cosineWithWarmup(2e-3, o.steps, { warmup: 100 }),
    epochs: Math.ceil(o.steps / o.evalEvery),
    seed: 1,
    clipGradNorm: 1,
    loss: (out, b) => lmLoss(scored(out, b.y), b.y),
    metrics: { token_accuracy: tokenAccuracy },
    session: { spinning: false },
    callbacks: [
      {
        name: 'budget',
        onEpochEnd(t, logs) {
          const acc = logs.metrics.val_token_accuracy;
          curve.push([logs.step, Math.round(acc * 1e4) / 1e4]);
          process.stderr.write(
            `${JSON.stringify({ task, step: logs.step, val_token_accuracy: acc, train_loss: logs.metrics.train_loss, elapsed_s: Math.round((performance.now() - t0) / 1000) })}\n`,
          );
          if (performance.now() > deadline) t.shouldStop = true;
        },
      },
    ],
  });
  await trainer.fit(new TaskBatches(task, o.batch, o.evalEvery, size), new ArrayLoader(val, { batchSize: 64 }));
  const line: Record<string, unknown> = {
    quality: `mamba-${task}`,
    length: size.length,
    model: options,
    params: model.parameterCount(),
    batch: o.batch,
    steps_done: trainer.globalStep,
    train_s: Math.round((performance.now() - t0) / 1000),
    curve,
  };
  if (task === 'selective-copy') {
    line.token_accuracy = curve.at(-1)?.[1];
  } else {
    const acc: Record<string, number> = {};
    trainer.syncModel();
    for (const length of [1, 4, 16].map((k) => k * size.length)) {
      // the same weights with a chunked scan (the unrolled sequential graph of 4,096 steps is slow to build)
      const m = new Mamba({ ...options, context: length, scan: 'chunked', chunk: 16 });
      m.loadStateDict(model.stateDict());
      const f = compile((x: Tensor) => withFrozenParameters(m, () => argmax(sliceAxis(m.forward(x), 1, -1), -1)));
      const data = heldOut(task, EVAL_COUNT, size, 3, length);
      let hits = 0;
      for (let i = 0; i < EVAL_COUNT; i += 8) {
        const x = ndarray('int64', [8, length], (data.x.data as BigInt64Array).subarray(i * length, (i + 8) * length));
        const pred = (await f(x)).data as BigInt64Array;
        for (let j = 0; j < 8; j++) if (pred[j] === (data.y.data as BigInt64Array)[i + j]) hits++;
      }
      acc[String(length)] = hits / EVAL_COUNT;
      process.stderr.write(`${JSON.stringify({ task, eval_length: length, accuracy: acc[String(length)] })}\n`);
    }
    line.accuracy_by_length = acc;
  }
  await trainer.release();
  return line;
}
