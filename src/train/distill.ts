// Knowledge distillation (Hinton et al. 2015) through the ordinary Trainer: a frozen teacher's logits are added to
// every batch as `teacher` (computed by an ONNX Runtime session of the teacher, per batch, on the same — possibly
// augmented — inputs the student sees), and the student's loss is
//   α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(student, y).
// Feeding the logits rather than tracing the teacher into the training graph keeps the teacher frozen by construction
// (it is not in the graph that is differentiated, so no parameter of it can be updated or even get a gradient), works
// for any ONNX model the runtime runs (a run's exported model with BatchNorm folded, a file from elsewhere), and costs
// the same forward pass the in-graph teacher would.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import { div, mul, add } from '../graph/ops/elementwise.js';
import { logSoftmax } from '../graph/ops/norm.js';
import type { Tensor } from '../graph/tensor.js';
import { crossEntropy, klDiv } from '../nn/losses.js';
import { loadModelFile } from '../onnx/external-data.js';
import { fromOrt, toOrt } from '../runtime/convert.js';
import type { SessionConfig } from '../runtime/device.js';
import { createSession } from '../runtime/session.js';
import { ConfigError } from './config.js';
import type { Batch, BatchLoader } from './loader.js';

/** Temperature T > 0 and the weight α ∈ [0, 1] of the distillation term. */
export interface DistillOptions {
  readonly temperature: number;
  readonly alpha: number;
}

/**
 * α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y): logits [B, C] of the student `s` and teacher `t`, integer
 * labels `y` [B]; the KL term is a mean over the batch (as PyTorch's `kl_div(..., reduction='batchmean')`), and T²
 * keeps its gradient on the scale of the cross-entropy's as T changes.
 */
export function distillationLoss(student: Tensor, teacher: Tensor, y: Tensor, opts: DistillOptions): Tensor {
  const { temperature: T, alpha } = opts;
  const kl = klDiv(logSoftmax(div(student, T), 1), logSoftmax(div(teacher, T), 1), {
    logTarget: true,
    reduction: 'batchmean',
  });
  const soft = mul(kl, alpha * T * T);
  if (alpha === 1) return soft;
  return add(soft, mul(crossEntropy(student, y), 1 - alpha));
}

/** A teacher: a running ONNX Runtime session over its exported model. */
export interface Teacher {
  /** Where it came from (named in errors). */
  readonly source: string;
  /** The teacher's first output for a batch of inputs. */
  logits(x: NDArray): Promise<NDArray>;
  /** Releases the teacher's ONNX Runtime session; call once when distillation ends. */
  release(): Promise<void>;
}

/**
 * Opens a teacher: an `.onnx` file, a run directory (its `model.onnx`) or a checkpoint (a manifest `.json`, rebuilt
 * and exported in memory by `fromCheckpoint`, which the caller passes to keep this module free of the run layer).
 */
export async function openTeacher(
  path: string,
  opts: { session?: SessionConfig; fromCheckpoint?: (path: string) => Uint8Array } = {},
): Promise<Teacher> {
  const where = `distill.teacher: ${path}`;
  if (!existsSync(path))
    throw new ConfigError(
      `${where}: no such file or run directory (give an .onnx file, a run directory or a checkpoint .json)`,
    );
  let model: Uint8Array | string;
  if (statSync(path).isDirectory()) {
    const onnx = join(path, 'model.onnx');
    if (existsSync(onnx)) model = onnx;
    else if (existsSync(join(path, 'last.json')) && opts.fromCheckpoint)
      model = opts.fromCheckpoint(join(path, 'last.json'));
    else throw new ConfigError(`${where}: the directory has no model.onnx (nor a checkpoint last.json)`);
  } else if (path.endsWith('.onnx')) model = path;
  else if (path.endsWith('.json') && opts.fromCheckpoint) {
    try {
      model = opts.fromCheckpoint(path);
    } catch (err) {
      throw new ConfigError(`${where}: not a readable checkpoint: ${(err as Error).message}`);
    }
  } else throw new ConfigError(`${where}: expected an .onnx file, a run directory or a checkpoint .json`);
  let session: ort.InferenceSession;
  try {
    // external data next to a file is resolved by the loader; a path ORT would resolve itself
    session = await createSession(typeof model === 'string' ? loadModelFile(model) : model, opts.session);
  } catch (err) {
    throw new ConfigError(`${where}: ONNX Runtime cannot load it: ${(err as Error).message}`);
  }
  if (session.inputNames.length !== 1) {
    await session.release();
    throw new ConfigError(
      `${where}: the teacher must take one input (the student's images), it takes ${session.inputNames.length}: ${session.inputNames.join(', ')}`,
    );
  }
  return {
    source: path,
    async logits(x: NDArray): Promise<NDArray> {
      let out: ort.Tensor;
      try {
        out = (await session.run({ [session.inputNames[0]]: toOrt(x) }))[session.outputNames[0]];
      } catch (err) {
        throw new ConfigError(
          `${where}: running it on a batch of shape [${x.shape.join(', ')}] failed: ${(err as Error).message}`,
        );
      }
      const t = fromOrt(out);
      if (t.dtype !== 'float32' || t.shape.length !== 2 || t.shape[0] !== x.shape[0])
        throw new ConfigError(
          `${where}: its output must be float32 logits [batch, classes], got ${t.dtype} [${t.shape.join(', ')}]`,
        );
      return t;
    },
    release: () => session.release(),
  };
}

/** A loader whose batches carry the teacher's logits for their inputs as `teacherKey` (default 'teacher'). */
export class TeacherLoader implements BatchLoader {
  constructor(
    readonly inner: BatchLoader,
    private readonly teacher: Teacher,
    private readonly inputKey = 'x',
    private readonly teacherKey = 'teacher',
  ) {}

  get length(): number {
    return this.inner.length;
  }

  get size(): number {
    return this.inner.size;
  }

  async *iterate(epoch: number, fromBatch?: number): AsyncIterable<Batch> {
    for await (const b of this.inner.iterate(epoch, fromBatch)) {
      const x = b[this.inputKey];
      if (!x) throw new ConfigError(`distill: the batch has no "${this.inputKey}" to feed the teacher`);
      yield { ...b, [this.teacherKey]: await this.teacher.logits(x) };
    }
  }
}

/** The Trainer loss of a distilled run: checks the teacher's classes against the student's when the graph is traced. */
export function distillLoss(
  opts: DistillOptions & { readonly teacher: string },
): (output: Tensor, batch: Readonly<Record<string, Tensor>>) => Tensor {
  return (o, b) => {
    const t = b.teacher;
    if (o.rank !== 2)
      throw new ConfigError(`distill: the student's output must be class logits [batch, classes], it is ${o.rank}-D`);
    if (typeof o.shape[1] === 'number' && typeof t.shape[1] === 'number' && o.shape[1] !== t.shape[1]) {
      throw new ConfigError(`distill.teacher: ${opts.teacher} gives ${t.shape[1]} classes, the student ${o.shape[1]}`);
    }
    return distillationLoss(o, t, b.y, opts);
  };
}
