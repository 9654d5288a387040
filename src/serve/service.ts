// The request path independent of HTTP: route (experiments), validate, cache, batch, fall back, mirror.
import { appendFile } from 'node:fs/promises';
import { cacheKey } from './cache.js';
import type { FallbackStep, ServeConfig } from './config.js';
import { InferenceError, notFound, QueueFullError, ServeError } from './errors.js';
import { compareOutputs, Experiment, type Target } from './experiments.js';
import type { ServeMetrics } from './metrics.js';
import type { ModelVersion } from './model-version.js';
import { validateInputs, type InferRequest } from './oip.js';
import type { ModelRepository } from './repository.js';
import { fromJson, type HostTensor, type ModelSignature, type OipDatatype } from './tensor.js';

/** The logging calls the server makes (pino's and fastify's loggers fit). */
export interface ServeLogger {
  /** Logs at info level: structured fields and an optional message. */
  info(obj: object, msg?: string): void;
  /** Logs at warn level: structured fields and an optional message. */
  warn(obj: object, msg?: string): void;
  /** Logs at error level: structured fields and an optional message. */
  error(obj: object, msg?: string): void;
  /** Logs at debug level: structured fields and an optional message. */
  debug(obj: object, msg?: string): void;
}

/**
 * The answer to one inference request: which model version answered, its outputs, whether they came from the cache, and
 * the fallback step or experiment involved.
 */
export interface InferOutcome {
  readonly model: string;
  readonly version: string;
  readonly outputs: readonly HostTensor[];
  readonly cached: boolean;
  /** The fallback step that answered ("model/version" or "default-response"), if any. */
  readonly fallback?: string;
  readonly experiment?: string;
}

export interface InferContext {
  /** Sticky key for experiments. */
  readonly key?: string;
  readonly requestId: string;
  readonly log: ServeLogger;
}

/**
 * The protocol-independent request path shared by REST and gRPC: routes a name (model or experiment) to a model
 * version, validates inputs, consults the response cache, batches, falls back on failure and mirrors shadow traffic.
 */
export class InferenceService {
  readonly experiments = new Map<string, Experiment>();

  constructor(
    private readonly repo: ModelRepository,
    config: ServeConfig,
    private readonly metrics: ServeMetrics,
  ) {
    for (const [name, exp] of Object.entries(config.experiments)) this.experiments.set(name, new Experiment(name, exp));
  }

  /** Metrics labels of a model version (bounded, see metrics.ts). */
  private labels(mv: ModelVersion): { model: string; version: string } {
    return { model: this.metrics.modelLabels.of(mv.name), version: this.metrics.versionLabels.of(mv.version) };
  }

  /** Names clients can call: models and experiments. */
  names(): string[] {
    return [...this.repo.names(), ...this.experiments.keys()];
  }

  /** The model version a name (model or experiment) maps to for this request. */
  route(
    name: string,
    version: string | undefined,
    key: string | undefined,
  ): { mv: ModelVersion; experiment?: Experiment } {
    const exp = this.experiments.get(name);
    if (exp) {
      if (version !== undefined) throw notFound(`'${name}' is an experiment; it has no versions`);
      const t = exp.choose(key);
      return { mv: this.repo.get(t.model, t.version), experiment: exp };
    }
    return { mv: this.repo.get(name, version) };
  }

  /** Signature of what a name accepts (the first variant's, for an experiment). */
  signatureOf(name: string, version?: string): { mv: ModelVersion; signature: ModelSignature } {
    const { mv } = this.route(name, version, 'metadata');
    return { mv, signature: mv.signature };
  }

  /**
   * Runs one request against `name` (a model or an experiment) at `version` (default: the highest loaded); throws a
   * ServeError (404 unknown name or version, 400 invalid inputs), a QueueFullError (503) when the queue is full, or an
   * InferenceError when the model fails and no fallback step answers.
   */
  async infer(name: string, version: string | undefined, req: InferRequest, ctx: InferContext): Promise<InferOutcome> {
    const { mv, experiment } = this.route(name, version, ctx.key);
    const inputs = validateInputs(mv.name, mv.signature, req, mv.maxBatchSize, mv.config.allowNonFinite);
    const shadow = experiment?.shadowFor();
    // The batcher copies inputs into its own (transferred) batch buffers, so `inputs` stay usable for the shadow and fallbacks.
    const primary = this.run(mv, inputs, req.outputs);
    if (shadow && experiment) void this.mirror(experiment, shadow, inputs, primary, ctx);
    try {
      const { outputs, cached } = await primary;
      return { model: mv.name, version: mv.version, outputs, cached, experiment: experiment?.name };
    } catch (err) {
      if (!(err instanceof InferenceError) || err instanceof QueueFullError) throw err;
      this.metrics.inferenceFailures.inc({ ...this.labels(mv), reason: err.reason });
      ctx.log.warn(
        {
          reqId: ctx.requestId,
          model: mv.name,
          version: mv.version,
          reason: err.reason,
          err: err.detail ?? err.message,
        },
        'inference failed',
      );
      return this.fallBack(mv, inputs, req, err, ctx, experiment?.name);
    }
  }

  private async run(
    mv: ModelVersion,
    inputs: readonly HostTensor[],
    wanted: readonly string[] | undefined,
  ): Promise<{ outputs: HostTensor[]; cached: boolean }> {
    const key = mv.cache ? cacheKey(mv.name, mv.version, inputs, wanted ?? []) : '';
    if (mv.cache) {
      const hit = mv.cache.get(key);
      this.metrics.cacheLookups.inc({ model: this.labels(mv).model, result: hit ? 'hit' : 'miss' });
      if (hit) return { outputs: hit, cached: true };
    }
    const { outputs, info } = await mv.infer(inputs, mv.config.timeoutMs);
    this.metrics.queueTime.observe(this.labels(mv), info.queueMs / 1000);
    if (mv.cache) mv.cache.set(key, outputs);
    return { outputs, cached: false };
  }

  private async fallBack(
    mv: ModelVersion,
    inputs: readonly HostTensor[],
    req: InferRequest,
    cause: InferenceError,
    ctx: InferContext,
    experiment: string | undefined,
  ): Promise<InferOutcome> {
    for (const step of mv.config.fallback) {
      const to = 'response' in step ? 'default-response' : `${step.model}/${step.version ?? 'latest'}`;
      try {
        const outcome = await this.tryStep(step, inputs, req);
        this.metrics.fallbacks.inc({ ...this.labels(mv), to, reason: cause.reason });
        ctx.log.info(
          { reqId: ctx.requestId, model: mv.name, version: mv.version, fallback: to },
          'answered by fallback',
        );
        return { ...outcome, fallback: to, experiment };
      } catch (err) {
        ctx.log.warn(
          {
            reqId: ctx.requestId,
            model: mv.name,
            fallback: to,
            err: err instanceof InferenceError ? (err.detail ?? err.message) : (err as Error).message,
          },
          'fallback step failed',
        );
      }
    }
    // Our own messages (timeout, unavailable) are safe to show; ORT's text names graph nodes, so the
    // client gets what failed and the request id, and the server log gets the rest.
    if (cause.detail === undefined) throw cause;
    throw new InferenceError(
      `model '${mv.name}' version ${mv.version} failed to run this request (${cause.message}); the server log has the details under request id ${ctx.requestId}`,
      cause.reason,
      cause.detail,
    );
  }

  private async tryStep(
    step: FallbackStep,
    inputs: readonly HostTensor[],
    req: InferRequest,
  ): Promise<Omit<InferOutcome, 'fallback'>> {
    if ('response' in step) {
      const outputs = step.response.outputs.map((o) => {
        const data = fromJson(o.datatype as OipDatatype, o.data);
        if (typeof data === 'string') throw new ServeError(500, `fallback response output '${o.name}': ${data}`);
        return { name: o.name, datatype: o.datatype as OipDatatype, shape: o.shape, data };
      });
      return { model: 'default-response', version: '0', outputs, cached: false };
    }
    const fb = this.repo.get(step.model, step.version);
    const ordered = validateInputs(fb.name, fb.signature, { ...req, inputs }, fb.maxBatchSize, true);
    const { outputs, cached } = await this.run(fb, ordered, req.outputs);
    return { model: fb.name, version: fb.version, outputs, cached };
  }

  /** Runs the shadow target after the primary answered; compares, counts, logs. Never affects the client. */
  private async mirror(
    exp: Experiment,
    target: Target,
    inputs: readonly HostTensor[],
    primary: Promise<{ outputs: HostTensor[] }>,
    ctx: InferContext,
  ): Promise<void> {
    try {
      const sv = this.repo.get(target.model, target.version);
      const ordered = validateInputs(sv.name, sv.signature, { inputs, parameters: {} }, sv.maxBatchSize, true);
      const [p, s] = await Promise.all([primary, this.run(sv, ordered, undefined)]);
      const cmp = compareOutputs(p.outputs, s.outputs);
      this.metrics.shadow.inc({ experiment: exp.name, outcome: cmp.agree ? 'agree' : 'differ' });
      if (exp.config.shadowLog) {
        const record = {
          time: new Date().toISOString(),
          requestId: ctx.requestId,
          experiment: exp.name,
          shadow: `${sv.name}/${sv.version}`,
          ...cmp,
          maxAbsDiff: Number.isFinite(cmp.maxAbsDiff) ? cmp.maxAbsDiff : null,
        };
        await appendFile(exp.config.shadowLog, JSON.stringify(record) + '\n');
      }
    } catch (err) {
      this.metrics.shadow.inc({ experiment: exp.name, outcome: 'error' });
      ctx.log.debug(
        { reqId: ctx.requestId, experiment: exp.name, err: (err as Error).message },
        'shadow request failed',
      );
    }
  }
}
