// `lathe serve`: an Open Inference Protocol v2 server on fastify. The event loop parses, routes,
// batches and answers; ORT sessions run in worker threads (see pool.ts). This file only assembles:
// the model repository, the inference service, metrics, the lifecycle, and one route plugin per
// concern (routes/health, routes/infer, routes/metrics, routes/admin), each testable in process.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { ServeConfig } from './config.js';
import { ServeError } from './errors.js';
import { Lifecycle } from './lifecycle.js';
import { ServeMetrics } from './metrics.js';
import { ModelRepository } from './repository.js';
import { registeredModelResolvers, type ModelResolver } from './resolver.js';
import { InferenceService } from './service.js';
import { adminRoutes } from './routes/admin.js';
import type { ServeContext } from './routes/context.js';
import { healthRoutes } from './routes/health.js';
import { inferRoutes } from './routes/infer.js';
import { metricsRoute } from './routes/metrics.js';
import { startGrpc, stopGrpc } from './grpc/server.js';
import type { Server as GrpcServer } from '@grpc/grpc-js';

/** Options of {@link createServer}: the validated serve config, model resolvers and a logger. */
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
  readonly lifecycle: Lifecycle;
  /** Loads and warms every configured model, then turns ready (createServer has done this already). */
  load(): Promise<void>;
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8000`). */
  listen(port?: number, host?: string): Promise<string>;
  /** Starts the gRPC endpoint (inference.GRPCInferenceService); resolves with its port. */
  listenGrpc(port?: number, host?: string): Promise<number>;
  /**
   * Graceful shutdown: readiness false at once while requests are still answered for
   * `readinessDrainMs` (when listening), then the listener closes, every accepted request finishes,
   * and the workers end.
   */
  close(): Promise<void>;
}

/** Builds the server and loads every configured model (warm-up included) before resolving. */
export async function createServer(options: ServeOptions): Promise<LatheServer> {
  const server = buildServer(options);
  try {
    await server.load();
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

/**
 * Builds the server without loading models, so it can listen first: live answers at once, infer
 * answers 503 and readiness is false until `load()` has loaded and warmed every model.
 */
export function buildServer(options: ServeOptions): LatheServer {
  const { config } = options;
  const logger = options.logger ?? pino({ level: config.server.logLevel });
  const lifecycle = new Lifecycle();
  let service: InferenceService | undefined;
  let repository!: ModelRepository;
  const metrics = new ServeMetrics(
    {
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
    },
    { maxLabelValues: config.server.maxLabelValues },
  );
  repository = new ModelRepository(options.resolvers ?? registeredModelResolvers(), {
    loaded: (name, version, ms) =>
      logger.info({ model: name, version, loadMs: Math.round(ms) }, 'model version loaded and warmed'),
    retired: (name, version) => logger.info({ model: name, version }, 'model version drained and unloaded'),
    batchObserver: ({ name, version }) => {
      const labels = { model: metrics.modelLabels.of(name), version: metrics.versionLabels.of(version) };
      return {
        batch(rows, _requests, runMs) {
          metrics.batchSize.observe(labels, rows);
          metrics.runTime.observe(labels, runMs / 1000);
        },
      };
    },
  });
  const ctx: ServeContext = {
    config,
    repository,
    metrics,
    lifecycle,
    log: logger,
    get service() {
      return service;
    },
  };

  const app = makeApp(config, logger, ctx);
  let loading: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  let listening = false;
  let grpcServer: GrpcServer | undefined;
  return {
    app,
    repository,
    metrics,
    lifecycle,
    get service(): InferenceService {
      if (!service) throw new Error('the server has not loaded its models yet (call load())');
      return service;
    },
    load() {
      loading ??= (async () => {
        await Promise.all(Object.entries(config.models).map(([name, m]) => repository.load(name, m)));
        const s = new InferenceService(repository, config, metrics);
        for (const exp of s.experiments.values()) {
          for (const t of exp.targets()) repository.get(t.model, t.version);
        }
        service = s;
        if (lifecycle.phase === 'loading') lifecycle.phase = 'serving';
      })();
      return loading;
    },
    async listen(port = config.server.port, host = config.server.host) {
      const url = await app.listen({ port, host });
      listening = true;
      return url;
    },
    async listenGrpc(port = config.server.grpcPort ?? 0, host = config.server.host) {
      if (grpcServer) throw new Error('the gRPC endpoint is already listening');
      const started = await startGrpc(ctx, host, port);
      grpcServer = started.server;
      listening = true;
      return started.port;
    },
    close() {
      closed ??= (async () => {
        const wasServing = lifecycle.phase === 'serving';
        lifecycle.phase = 'unready';
        const delay = config.server.readinessDrainMs;
        if (listening && wasServing && delay > 0) {
          logger.info({ readinessDrainMs: delay }, 'not ready; still answering while load balancers notice');
          await new Promise((r) => setTimeout(r, delay));
        }
        lifecycle.phase = 'draining';
        deferIdleClose(app.server, ACCEPTED_GRACE_MS);
        const drain = (async () => {
          await Promise.all([app.close(), grpcServer ? stopGrpc(grpcServer, config.server.drainTimeoutMs) : undefined]);
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
        lifecycle.phase = 'closed';
      })();
      return closed;
    },
  };
}

/**
 * How long a connection accepted just before the listener closed has to deliver its first request. Node's
 * `http.Server.close()` destroys every idle connection at once, and a connection whose request bytes are still in
 * flight counts as idle: its client sees a reset on a connection the kernel had accepted (seen as a lost request in
 * test/serve/drain.test.ts under load).
 */
const ACCEPTED_GRACE_MS = 250;

/** Makes the server's next idle-connection sweeps (from close()) wait `ms`, so just-accepted requests are served. */
function deferIdleClose(server: FastifyInstance['server'], ms: number): void {
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    setTimeout(closeIdle, ms);
  };
}

/** The fastify app: error mapping, request ids, response hooks and the route plugins. */
function makeApp(config: ServeConfig, logger: Logger, ctx: ServeContext): FastifyInstance {
  let idSeq = 0;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimitBytes,
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child logger per request (a few µs on the hot path): every log line the server writes carries reqId itself.
    childLoggerFactory: (parent) => parent,
    requestIdHeader: 'x-request-id',
    genReqId: () => `req-${(++idSeq).toString(36)}`,
    // Requests that reach a connection accepted before the listener closed are answered, not refused: they were accepted.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof ServeError) {
      if (err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
      if (err.status >= 500) req.log.warn({ reqId: req.id, status: err.status, err: err.message }, 'request failed');
      return reply.code(err.status).send({ error: err.message });
    }
    const status =
      typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ reqId: req.id, err }, 'unexpected error');
    return reply.code(status).send({ error: status === 500 ? 'internal server error' : err.message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  // Callback-style hooks: an async hook costs a promise per request on the hot path.
  app.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-request-id', req.id);
    // While shutting down, end keep-alive connections after their response so no client sends on a socket about to close.
    if (ctx.lifecycle.closingConnections) void reply.header('connection', 'close');
    done(null, payload);
  });
  const debug = logger.isLevelEnabled('debug');
  const { metrics } = ctx;
  app.addHook('onResponse', (req, reply, done) => {
    const info = req.lathe;
    if (info) {
      const code = reply.statusCode;
      metrics.requests.labels(info.model, info.version, String(code), 'rest').inc();
      if (code >= 400) metrics.failures.labels(info.model, info.version, String(code), 'rest').inc();
      else metrics.latency.labels(info.model, info.version).observe(reply.elapsedTime / 1000);
      if (debug)
        req.log.debug(
          {
            reqId: req.id,
            model: info.model,
            version: info.version,
            code: String(code),
            ms: Math.round(reply.elapsedTime * 100) / 100,
          },
          'inference',
        );
    }
    done();
  });

  void app.register(healthRoutes(ctx));
  void app.register(inferRoutes(ctx));
  void app.register(metricsRoute(ctx));
  if (config.server.adminToken) void app.register(adminRoutes(ctx, config.server.adminToken));
  return app;
}
