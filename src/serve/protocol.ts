// Messages between the event loop and a session worker (see session-worker.ts).
import type { OrtElementType, TypedArray } from './datatypes.js';

export interface WireTensor {
  readonly name: string;
  readonly type: OrtElementType;
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
  readonly intraOpThreads: number;
  readonly spinning: boolean;
}

export type ToWorker = { readonly kind: 'run'; readonly id: number; readonly feeds: readonly WireTensor[]; readonly fetches: readonly string[] };

export type FromWorker =
  | { readonly kind: 'loaded'; readonly inputs: readonly WireValueInfo[]; readonly outputs: readonly WireValueInfo[] }
  | { readonly kind: 'load-error'; readonly message: string }
  | { readonly kind: 'result'; readonly id: number; readonly outputs: readonly WireTensor[]; readonly runMs: number }
  | { readonly kind: 'run-error'; readonly id: number; readonly message: string };
