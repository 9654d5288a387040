// Messages between the event loop and a session worker (see session-worker.ts).
import type { SessionConfig } from '../runtime/device.js';
import type { DType } from '../graph/dtype.js';
import type { TypedArray } from './tensor.js';

export interface WireTensor {
  readonly name: string;
  /** ONNX Runtime's element type name, which is the lathe dtype's. */
  readonly type: DType;
  readonly dims: readonly number[];
  readonly data: TypedArray;
}

export interface WireValueInfo {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/** Options the worker gets at start (workerData). */
export interface WorkerInit {
  readonly modelPath: string;
  /** The session options, as every lathe session takes them (runtime/device.ts). */
  readonly session: SessionConfig;
}

export type ToWorker = {
  readonly kind: 'run';
  readonly id: number;
  readonly feeds: readonly WireTensor[];
  readonly fetches: readonly string[];
};

export type FromWorker =
  | { readonly kind: 'loaded'; readonly inputs: readonly WireValueInfo[]; readonly outputs: readonly WireValueInfo[] }
  | { readonly kind: 'load-error'; readonly message: string }
  | { readonly kind: 'result'; readonly id: number; readonly outputs: readonly WireTensor[]; readonly runMs: number }
  | { readonly kind: 'run-error'; readonly id: number; readonly message: string };
