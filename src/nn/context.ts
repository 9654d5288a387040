import type { Tensor } from '../graph/tensor.js';

/**
 * Auxiliary terms a layer adds while it is traced: losses the Trainer adds to the objective (a mixture-of-experts
 * router's load-balancing loss) and statistics it reports beside it (expert load, dropped tokens). Terms with the
 * same name from several layers are summed (losses) or averaged (metrics).
 */
export class Auxiliaries {
  private readonly lossTerms = new Map<string, Tensor[]>();
  private readonly metricTerms = new Map<string, Tensor[]>();
  /** Adds `value` (a scalar, already weighted) to the training objective, reported as `<name>`. */
  addLoss(name: string, value: Tensor): void {
    push(this.lossTerms, name, value);
  }
  /** Reports a scalar statistic as `<name>` (averaged over the layers that report it). */
  addMetric(name: string, value: Tensor): void {
    push(this.metricTerms, name, value);
  }
  /** Each loss name with the sum of its terms. */
  losses(): [string, Tensor[]][] {
    return [...this.lossTerms];
  }
  /** Each metric name with its terms (the caller averages). */
  metrics(): [string, Tensor[]][] {
    return [...this.metricTerms];
  }
  get empty(): boolean {
    return this.lossTerms.size === 0 && this.metricTerms.size === 0;
  }
}

function push(m: Map<string, Tensor[]>, name: string, v: Tensor): void {
  const list = m.get(name);
  if (list) list.push(v);
  else m.set(name, [v]);
}

/** Per-trace information layers need: whether we train, the random key for dropout and noise, where auxiliary terms go. */
export interface TraceContext {
  readonly training: boolean;
  readonly key?: Tensor;
  /** Collects auxiliary losses and metrics; absent when nobody reads them (export, plain inference). */
  readonly auxiliaries?: Auxiliaries;
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
