// Prometheus metrics (prom-client) in a registry of the server's own, so several servers can live in one process.
//
// Every label value comes from a bounded set: model names are labelled only once the model is known
// (an unknown name from a URL is `_unknown`), and each label keeps at most `maxLabelValues` distinct
// values (later ones are `_other`), so no client can grow /metrics by choosing names.
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The label of a model name that is not loaded (a typo, a probe, an attack): one series for all of them. */
export const UNKNOWN_LABEL = '_unknown';
/** The label of values past a label's budget. */
const OTHER_LABEL = '_other';

/** The values one label may take: the first `max` distinct ones seen, then `_other`. */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(readonly max: number) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}

export interface MetricsOptions {
  /** Most distinct values of each of the model and version labels (default 256). */
  readonly maxLabelValues?: number;
  /** Also export prom-client's default process and Node.js metrics (RSS, heap, GC, event-loop lag); default true. */
  readonly processMetrics?: boolean;
}

export interface QueueProbe {
  /** [model, version, depth] for every loaded version. */
  depths(): readonly (readonly [string, string, number])[];
  /** [model, hits, misses] for every model with a cache. */
  caches(): readonly (readonly [string, number, number])[];
  /** [model, version, busy seconds of each instance] for every loaded version. */
  instances?(): readonly (readonly [string, string, readonly number[]])[];
}

/**
 * The server's Prometheus metrics (prom-client, names prefixed `lathe_`): request counts, failures and latency, queue
 * time and depth, batch sizes and run times, fallbacks, shadow outcomes and cache lookups, with bounded model/version
 * labels.
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'version' | 'code' | 'protocol'>;
  readonly failures: Counter<'model' | 'version' | 'code' | 'protocol'>;
  readonly latency: Histogram<'model' | 'version'>;
  readonly queueTime: Histogram<'model' | 'version'>;
  readonly batchSize: Histogram<'model' | 'version'>;
  readonly runTime: Histogram<'model' | 'version'>;
  readonly fallbacks: Counter<'model' | 'version' | 'to' | 'reason'>;
  readonly inferenceFailures: Counter<'model' | 'version' | 'reason'>;
  readonly shadow: Counter<'experiment' | 'outcome'>;
  readonly cacheLookups: Counter<'model' | 'result'>;
  /** Model label values (bounded). */
  readonly modelLabels: BoundedLabel;
  /** Version label values (bounded). */
  readonly versionLabels: BoundedLabel;

  constructor(probe: QueueProbe, options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.modelLabels = new BoundedLabel(options.maxLabelValues ?? 256);
    this.versionLabels = new BoundedLabel(options.maxLabelValues ?? 256);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'lathe_requests_total',
      help: 'Inference requests by model, version, HTTP status code (gRPC: its HTTP equivalent) and protocol (rest, grpc)',
      labelNames: ['model', 'version', 'code', 'protocol'],
      registers,
    });
    this.failures = new Counter({
      name: 'lathe_request_failures_total',
      help: 'Inference requests answered with a 4xx/5xx status',
      labelNames: ['model', 'version', 'code', 'protocol'],
      registers,
    });
    const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.latency = new Histogram({
      name: 'lathe_request_duration_seconds',
      help: 'End-to-end inference latency in the server',
      labelNames: ['model', 'version'],
      buckets: latencyBuckets,
      registers,
    });
    this.queueTime = new Histogram({
      name: 'lathe_queue_duration_seconds',
      help: 'Time a request waited in the batch queue',
      labelNames: ['model', 'version'],
      buckets: latencyBuckets,
      registers,
    });
    this.runTime = new Histogram({
      name: 'lathe_batch_run_duration_seconds',
      help: 'Session run time per batch',
      labelNames: ['model', 'version'],
      buckets: latencyBuckets,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'lathe_batch_size',
      help: 'Rows per session run',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'lathe_fallbacks_total',
      help: 'Requests answered by a fallback step',
      labelNames: ['model', 'version', 'to', 'reason'],
      registers,
    });
    this.inferenceFailures = new Counter({
      name: 'lathe_inference_failures_total',
      help: 'Model-side failures (error, timeout, unavailable)',
      labelNames: ['model', 'version', 'reason'],
      registers,
    });
    this.shadow = new Counter({
      name: 'lathe_shadow_requests_total',
      help: 'Shadow (mirrored) requests by outcome: agree, differ, error',
      labelNames: ['experiment', 'outcome'],
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'lathe_cache_lookups_total',
      help: 'Response cache lookups by result (hit, miss)',
      labelNames: ['model', 'result'],
      registers,
    });
    new Gauge({
      name: 'lathe_queue_depth',
      help: 'Requests waiting in the batch queue',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.reset();
        for (const [model, version, depth] of probe.depths()) this.set({ model, version }, depth);
      },
    });
    // Where the time goes: the event loop (HTTP, JSON, batching) and each session worker (ORT runs).
    // On a small machine these compete for the same cores; rate() of each is its share of a core.
    new Counter({
      name: 'lathe_event_loop_busy_seconds_total',
      help: 'Time the server event loop spent working (not waiting for I/O)',
      registers,
      collect() {
        this.reset();
        this.inc(performance.eventLoopUtilization().active / 1000);
      },
    });
    new Counter({
      name: 'lathe_instance_busy_seconds_total',
      help: 'Time each session worker spent running batches',
      labelNames: ['model', 'version', 'instance'],
      registers,
      collect() {
        this.reset();
        for (const [model, version, busy] of probe.instances?.() ?? [])
          busy.forEach((s, i) => this.inc({ model, version, instance: String(i) }, s));
      },
    });
    new Gauge({
      name: 'lathe_cache_hit_ratio',
      help: 'Response cache hits / lookups since start',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const [model, hits, misses] of probe.caches())
          this.set({ model }, hits + misses === 0 ? 0 : hits / (hits + misses));
      },
    });
  }
}
