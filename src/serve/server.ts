// `lathe serve`: an Open Inference Protocol v2 server on fastify. The event loop parses, routes,
// batches and answers; ORT sessions run in worker threads (see pool.ts).
import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import { modelDefaults, type ModelConfig, type ServeConfig } from './config.js';
import { ServeError, badRequest, notFound } from './errors.js';
import { ServeMetrics } from './metrics.js';
import { encodeResponse, nest, parseInferRequest, parsePredictInputs } from './oip.js';
import { INFERENCE_HEADER, readOipBody, type OipBody } from './oip-body.js';
import { ModelRepository } from './repository.js';
import { registeredModelResolvers, type ModelResolver } from './resolver.js';
import { InferenceService, type InferOutcome } from './service.js';
import { toJson } from './datatypes.js';
import { latheVersion } from '../util/version.js';

export interface ServeOptions {
  readonly config: ServeConfig;
  /** Tried before the file system for each model source (e.g. the tracking registry's `models:/`); default: those registered with registerModelResolver. */
  readonly resolvers?: readonly ModelResolver[];
  /** A pino logger; by default one is made at `config.server.logLevel`. */
  readonly logger?: Logger;
}

/** A running (or ready-to-listen) server. */
export interface LatheServer {
  readonly app: FastifyInstance;
  readonly repository: ModelRepository;
  readonly service: InferenceService;
  readonly metrics: ServeMetrics;
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8000`). */
  listen(port?: number, host?: string): Promise<string>;
  /** Graceful shutdown: not ready at once, finishes every accepted request, then ends the workers. */
  close(): Promise<void>;
}

const VERSION = latheVersion();

declare module 'fastify' {
  interface FastifyRequest {
    lathe?: { model: string; version: string };
  }
}

type Params = { name: string; version?: string };

/** Builds the server and loads every configured model (warm-up included) before resolving. */
export async function createServer(options: ServeOptions): Promise<LatheServer> {
  const { config } = options;
  const logger = options.logger ?? pino({ level: config.server.logLevel });
  let repository!: ModelRepository;
  let service!: InferenceService;
  const metrics = new ServeMetrics({
    depths: () => repository.all().map((v) => [v.name, v.version, v.batcher.depth] as const),
    caches: () => {
      const byModel = new Map<string, [number, number]>();
      for (const v of repository.all()) {
        if (!v.cache) continue;
        const [h, m] = byModel.get(v.name) ?? [0, 0];
        byModel.set(v.name, [h + v.cache.hits, m + v.cache.misses]);
      }
      return [...byModel].map(([name, [h, m]]) => [name, h, m] as const);
    },
    instances: () => repository.all().map((v) => [v.name, v.version, v.busySeconds()] as const),
  });
  repository = new ModelRepository(options.resolvers ?? registeredModelResolvers(), {
    loaded: (name, version, ms) => logger.info({ model: name, version, loadMs: Math.round(ms) }, 'model version loaded and warmed'),
    retired: (name, version) => logger.info({ model: name, version }, 'model version drained and unloaded'),
    batchObserver: ({ name, version }) => ({
      batch(rows, _requests, runMs) {
        metrics.batchSize.observe({ model: name, version }, rows);
        metrics.runTime.observe({ model: name, version }, runMs / 1000);
      },
    }),
  });
  try {
    await Promise.all(Object.entries(config.models).map(([name, m]) => repository.load(name, m)));
    service = new InferenceService(repository, config, metrics);
    for (const exp of service.experiments.values()) {
      for (const t of exp.targets()) repository.get(t.model, t.version);
    }
  } catch (err) {
    await repository.close();
    throw err;
  }

  let closing = false;
  let idSeq = 0;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimitBytes,
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child logger per request (a few µs on the hot path): every log line the server writes carries reqId itself.
    childLoggerFactory: (parent) => parent,
    requestIdHeader: 'x-request-id',
    genReqId: () => `req-${(++idSeq).toString(36)}`,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof ServeError) {
      if (err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
      if (err.status >= 500) req.log.warn({ reqId: req.id, status: err.status, err: err.message }, 'request failed');
      return reply.code(err.status).send({ error: err.message });
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ reqId: req.id, err }, 'unexpected error');
    return reply.code(status).send({ error: status === 500 ? 'internal server error' : err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  // Callback-style hooks: an async hook costs a promise per request on the hot path.
  app.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-request-id', req.id);
    // While draining, end keep-alive connections after their response so close() need not wait for idle clients.
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  const debug = logger.isLevelEnabled('debug');
  app.addHook('onResponse', (req, reply, done) => {
    const info = req.lathe;
    if (info) {
      const code = reply.statusCode;
      metrics.requests.labels(info.model, info.version, String(code)).inc();
      if (code >= 400) metrics.failures.labels(info.model, info.version, String(code)).inc();
      else metrics.latency.labels(info.model, info.version).observe(reply.elapsedTime / 1000);
      if (debug) req.log.debug({ reqId: req.id, model: info.model, version: info.version, code: String(code), ms: Math.round(reply.elapsedTime * 100) / 100 }, 'inference');
    }
    done();
  });

  const ready = (): boolean => !closing && repository.ready();

  // --- health and metadata ---
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => reply.code(ready() ? 200 : 400).send({ ready: ready() }));
  app.get('/v2', async () => ({ name: 'lathe', version: VERSION, extensions: ['binary_tensor_data', ...(config.server.adminToken ? ['model_repository'] : [])] }));

  const metadata = async (req: FastifyRequest<{ Params: Params }>) => {
    const { name, version } = req.params;
    const { mv, signature } = service.signatureOf(name, version);
    const isExperiment = service.experiments.has(name);
    return {
      name,
      versions: isExperiment ? [] : repository.versions(name).map((v) => v.version),
      platform: 'onnxruntime_onnx',
      ...(isExperiment ? { parameters: { experiment: true, example_target: `${mv.name}/${mv.version}` } } : {}),
      inputs: signature.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
      outputs: signature.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
    };
  };
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);

  const modelReady = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const { name, version } = req.params;
    const { mv } = service.signatureOf(name, version);
    const ok = !closing && mv.state === 'ready';
    return reply.code(ok ? 200 : 400).send({ name, ...(version ? { version } : {}), ready: ok });
  };
  app.get('/v2/models/:name/ready', modelReady);
  app.get('/v2/models/:name/versions/:version/ready', modelReady);

  // --- inference ---
  const stickyKey = (req: FastifyRequest, name: string, parameters: Readonly<Record<string, unknown>>): string | undefined => {
    const header = service.experiments.get(name)?.config.stickyHeader ?? 'x-lathe-key';
    const h = req.headers[header];
    if (typeof h === 'string') return h;
    return typeof parameters.key === 'string' ? parameters.key : undefined;
  };
  const answered = (req: FastifyRequest, reply: FastifyReply, out: InferOutcome): void => {
    req.lathe = { model: out.model, version: out.version };
    if (out.fallback) void reply.header('x-lathe-fallback', out.fallback);
    if (out.cached) void reply.header('x-lathe-cache', 'hit');
  };
  const checkOpen = (req: FastifyRequest, name: string): void => {
    req.lathe = { model: name, version: '' };
    if (closing) throw new ServeError(503, 'server is shutting down', 1);
  };

  const infer = async (req: FastifyRequest<{ Params: Params; Body: OipBody }>, reply: FastifyReply) => {
    const { name, version } = req.params;
    checkOpen(req, name);
    const parsed = parseInferRequest(req.body.json, req.body.binary);
    const out = await service.infer(name, version, parsed, { key: stickyKey(req, name, parsed.parameters), requestId: req.id, log: req.log });
    answered(req, reply, out);
    const params: Record<string, unknown> = {};
    if (out.fallback) params.fallback = out.fallback;
    if (out.experiment) params.experiment = out.experiment;
    if (out.cached) params.cached = true;
    const encoded = encodeResponse(out.model, out.version, parsed, out.outputs, params);
    if (encoded.kind === 'json') return reply.type('application/json; charset=utf-8').send(JSON.stringify(encoded.body));
    return reply.header(INFERENCE_HEADER, String(encoded.headerLength)).type('application/octet-stream').send(encoded.body);
  };
  // The infer routes read their bodies as bytes: the binary tensor data extension (a JSON header of
  // Inference-Header-Content-Length bytes, then raw tensors) and the fast path for numeric `data` arrays.
  await app.register(async (scope) => {
    const secureJson = scope.getDefaultJsonParser('error', 'error');
    const parseJson = (text: string): unknown => {
      // fastify's secure parser scans the text with two regexes for prototype-poisoning keys; a text with
      // neither key nor any escape sequence cannot hold one, and plain JSON.parse is then enough.
      if (!text.includes('\\') && !text.includes('__proto__') && !text.includes('constructor')) {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          // fall through: the secure parser reports the error as fastify does
        }
      }
      let value: unknown;
      secureJson(undefined as unknown as FastifyRequest, text, (err, v) => {
        if (err) throw err;
        value = v;
      });
      return value;
    };
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, (req, body, done) => {
      try {
        done(null, readOipBody(body as Buffer, req.headers[INFERENCE_HEADER], parseJson));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    scope.post('/v2/models/:name/infer', infer);
    scope.post('/v2/models/:name/versions/:version/infer', infer);
  });

  app.post('/predict', async (req: FastifyRequest<{ Body: unknown }>, reply) => {
    if (req.headers[INFERENCE_HEADER] !== undefined) throw badRequest('binary tensor data (Inference-Header-Content-Length) is accepted only by /v2/models/{name}/infer');
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object {"model"?, "version"?, "inputs"}');
    const b = body as Record<string, unknown>;
    const names = service.names();
    const name = b.model ?? (names.length === 1 ? names[0] : undefined);
    if (typeof name !== 'string') throw badRequest(`"model" is required (one of ${names.join(', ')})`);
    if (b.version !== undefined && typeof b.version !== 'string') throw badRequest('"version" must be a string');
    const version = b.version as string | undefined;
    checkOpen(req, name);
    const { mv, signature } = service.signatureOf(name, version);
    const parsed = parsePredictInputs(signature, mv.name, b.inputs);
    const key = typeof b.key === 'string' ? b.key : stickyKey(req, name, {});
    const out = await service.infer(name, version, parsed, { key, requestId: req.id, log: req.log });
    answered(req, reply, out);
    const outputs: Record<string, unknown> = {};
    for (const o of out.outputs) outputs[o.name] = nest(toJson(o.datatype, o.data), o.shape);
    return { model: out.model, version: out.version, ...(out.fallback ? { fallback: out.fallback } : {}), outputs };
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });

  // --- admin (Triton's model-repository extension), only with a bearer token ---
  const token = config.server.adminToken;
  if (token) {
    const expected = Buffer.from(`Bearer ${token}`);
    const guard = async (req: FastifyRequest, reply: FastifyReply) => {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'admin endpoints need "Authorization: Bearer <token>"' });
      }
    };
    app.post('/v2/repository/index', { preHandler: guard }, async () =>
      repository.names().flatMap((name) => repository.versions(name).map((v) => ({ name, version: v.version, state: v.state.toUpperCase() }))),
    );
    app.post<{ Params: Params; Body: unknown }>('/v2/repository/models/:name/load', { preHandler: guard }, async (req) => {
      const { name } = req.params;
      const body = (req.body ?? {}) as { source?: unknown; config?: unknown };
      let cfg: ModelConfig | undefined = repository.configOf(name);
      if (typeof body.source === 'string') cfg = modelDefaults(body.source, { ...(cfg ?? {}), source: body.source });
      if (!cfg) throw badRequest(`model '${name}' is not configured; send {"source": "<path or uri>"}`);
      const versions = await repository.load(name, cfg).catch((err: Error) => {
        throw err instanceof ServeError ? err : new ServeError(400, err.message);
      });
      return { name, versions };
    });
    app.post<{ Params: Params }>('/v2/repository/models/:name/unload', { preHandler: guard }, async (req) => {
      if (!repository.has(req.params.name)) throw notFound(`model '${req.params.name}' is not loaded`);
      await repository.unload(req.params.name);
      return { name: req.params.name, unloaded: true };
    });
  }

  let closed: Promise<void> | undefined;
  return {
    app,
    repository,
    metrics,
    get service() {
      return service;
    },
    async listen(port = config.server.port, host = config.server.host) {
      return app.listen({ port, host });
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const drain = (async () => {
          await app.close();
          await repository.close();
        })();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            logger.warn({ drainTimeoutMs: config.server.drainTimeoutMs }, 'drain timed out; closing anyway');
            resolve();
          }, config.server.drainTimeoutMs);
        });
        await Promise.race([drain, timeout]);
        clearTimeout(timer);
      })();
      return closed;
    },
  };
}
