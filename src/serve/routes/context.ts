// What every route plugin gets: the server's parts, each testable on its own.
import type { ServeConfig } from '../config.js';
import { ServeError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import { UNKNOWN_LABEL, type ServeMetrics } from '../metrics.js';
import type { ModelRepository } from '../repository.js';
import type { InferenceService, ServeLogger } from '../service.js';

export interface ServeContext {
  readonly config: ServeConfig;
  readonly repository: ModelRepository;
  readonly metrics: ServeMetrics;
  readonly lifecycle: Lifecycle;
  readonly log: ServeLogger;
  /** The inference service; undefined until the configured models are loaded. */
  readonly service: InferenceService | undefined;
}

/** Model and version a request is counted under (labels are bounded, see metrics.ts). */
interface RequestLabels {
  model: string;
  version: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    lathe?: RequestLabels;
  }
}

/** Route parameters of the model routes. */
export type ModelParams = { name: string; version?: string };

/** The service, or a 503 while the server loads its models. */
export function serviceOf(ctx: ServeContext): InferenceService {
  const s = ctx.service;
  if (!s) throw new ServeError(503, 'the server is loading its models; retry shortly', 1);
  return s;
}

/** The metrics label of a name from a URL: itself once it is a loaded model or an experiment, else `_unknown`. */
export function modelLabel(ctx: ServeContext, name: string): string {
  const known = ctx.repository.has(name) || (ctx.service?.experiments.has(name) ?? false);
  return known ? ctx.metrics.modelLabels.of(name) : UNKNOWN_LABEL;
}

/** The version label of a model version that answered. */
export function versionLabel(ctx: ServeContext, version: string): string {
  return ctx.metrics.versionLabels.of(version);
}

/** A 503 for a request that arrives while the server is not taking requests, or undefined. */
export function refusal(ctx: ServeContext): ServeError | undefined {
  const phase = ctx.lifecycle.phase;
  if (phase === 'loading') return new ServeError(503, 'the server is loading its models; retry shortly', 1);
  // 'draining' still answers: a request on a connection accepted before the listener closed was accepted.
  if (phase === 'closed') return new ServeError(503, 'server is shutting down', 1);
  return undefined;
}
