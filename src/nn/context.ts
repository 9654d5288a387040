import type { Tensor } from '../graph/tensor.js';

/** Per-trace information layers need: whether we train, and the random key for dropout and noise. */
export interface TraceContext {
  readonly training: boolean;
  readonly key?: Tensor;
}

let current: TraceContext = { training: false };
let streams = 0;

/** Runs `fn` with a trace context (the Trainer wraps every traced forward pass in one). */
export function withContext<R>(ctx: TraceContext, fn: () => R): R {
  const prev = current;
  const prevStreams = streams;
  current = ctx;
  streams = 0;
  try {
    return fn();
  } finally {
    current = prev;
    streams = prevStreams;
  }
}

/**
 * The trace context in effect: `training` and the random key set by the enclosing {@link withContext}; outside one,
 * `{ training: false }` with no key.
 */
export const traceContext = (): TraceContext => current;

/** A stream id for the next random layer: counts in call order within one trace, so reruns are identical. */
export function layerStream(): number {
  return streams++;
}
