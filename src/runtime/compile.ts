// compile(fn): trace a TypeScript function over symbolic tensors into one ONNX graph, run it in ORT.
// Sessions are cached per input signature (dtypes + shapes; symbolic dims make one session serve every size).
import type * as ort from 'onnxruntime-node';
import type { NDArray } from '../graph/ndarray.js';
import { formatShape } from '../graph/shape.js';
import type { Tensor } from '../graph/tensor.js';
import type { EmitOptions } from '../onnx/emit.js';
import type { ModelProto } from '../onnx/proto.js';
import { trace, type InputSpec, type TraceResult, type Traced } from '../onnx/trace.js';
import type { SessionConfig } from './device.js';
import { createSession } from './session.js';
import { fromOrt, toOrt } from './convert.js';

/**
 * What a compiled function resolves to for a traced result `R`: an NDArray for a tensor, an array for a list, a
 * record by output name for a record.
 */
export type Outputs<R> = R extends Tensor ? NDArray : R extends readonly Tensor[] ? NDArray[] : Record<string, NDArray>;

/**
 * Options of {@link compile}: where and how the ORT session runs, how the model is emitted, and optional declared
 * input specs.
 */
export interface CompileOptions extends SessionConfig, EmitOptions {
  /** Declared input specs (e.g. symbolic batch); when omitted, each call's concrete shapes form the signature. */
  readonly inputs?: readonly InputSpec[];
}

/**
 * A compiled function: call it with NDArrays (one per traced argument, matching the declared specs if any) and it
 * resolves to NDArrays shaped like the traced result; a new input signature traces and compiles a new session.
 */
export interface CompiledFn<R extends TraceResult> {
  /**
   * Runs the compiled graph on `args`: one NDArray for a tensor result, a list for a list, a record for a record.
   * Rejects when the inputs do not match the declared specs (count, dtype or a static dim).
   */
  (...args: NDArray[]): Promise<Outputs<R>>;
  /** The ONNX model for the given inputs' signature (traced on demand). */
  model(...args: NDArray[]): ModelProto;
  /** Number of distinct signatures compiled so far. */
  readonly cacheSize: number;
}

function signature(args: readonly NDArray[], declared?: readonly InputSpec[]): { key: string; specs: InputSpec[] } {
  if (declared) {
    if (declared.length !== args.length)
      throw new Error(`compile: declared ${declared.length} inputs, called with ${args.length}`);
    args.forEach((a, i) => {
      const d = declared[i];
      if (a.dtype !== d.dtype) throw new Error(`compile: input ${i} has dtype ${a.dtype}, declared ${d.dtype}`);
      if (a.shape.length !== d.shape.length || d.shape.some((s, j) => typeof s === 'number' && s !== a.shape[j])) {
        throw new Error(`compile: input ${i} has shape ${formatShape(a.shape)}, declared ${formatShape(d.shape)}`);
      }
    });
    return { key: 'declared', specs: [...declared] };
  }
  const specs = args.map((a) => ({ dtype: a.dtype, shape: [...a.shape] }));
  return { key: specs.map((s) => `${s.dtype}${formatShape(s.shape)}`).join(';'), specs };
}

/**
 * Compiles a function over symbolic tensors. Each call feeds NDArrays and resolves to NDArrays shaped like the
 * function's result (a tensor, a list, or a record of named tensors).
 */
export function compile<R extends TraceResult>(fn: (...xs: Tensor[]) => R, opts: CompileOptions = {}): CompiledFn<R> {
  const cache = new Map<string, Promise<{ session: ort.InferenceSession; traced: Traced }>>();
  const get = (args: readonly NDArray[]) => {
    const { key, specs } = signature(args, opts.inputs);
    let entry = cache.get(key);
    if (!entry) {
      entry = (async () => {
        const traced = trace(fn, specs, opts);
        const session = await createSession(traced.model, opts);
        return { session, traced };
      })();
      cache.set(key, entry);
    }
    return entry;
  };
  const run = async (...args: NDArray[]): Promise<Outputs<R>> => {
    const { session, traced } = await get(args);
    const feeds = Object.fromEntries(traced.inputNames.map((n, i) => [n, toOrt(args[i])]));
    const res = await session.run(feeds);
    const vals = traced.outputNames.map((n) => fromOrt(res[n] as ort.Tensor));
    if (traced.kind === 'single') return vals[0] as Outputs<R>;
    if (traced.kind === 'list') return vals as Outputs<R>;
    return Object.fromEntries(traced.outputNames.map((n, i) => [n, vals[i]])) as Outputs<R>;
  };
  Object.defineProperty(run, 'cacheSize', { get: () => cache.size });
  return Object.assign(run, {
    model: (...args: NDArray[]) => trace(fn, signature(args, opts.inputs).specs, opts).model,
  }) as unknown as CompiledFn<R>;
}
