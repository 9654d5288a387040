// The tracking UI and its JSON REST API (fastify), read from a TrackingStore and a StudySource.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { packageRoot } from '../util/package-root.js';
import { blobPath, validateArtifactPath } from './artifacts.js';
import { DEFAULT_STALE_MS, sweepDeadWriters } from './open.js';
import { resolveModelUri } from './registry.js';
import type { TrackingStore } from './store.js';
import { optimizationHistory, paramImportance, paretoFront, type StudySource } from './study-views.js';
import { TrackingError } from './types.js';

/**
 * Options of {@link createTrackingServer}: the store, the study source, logging, allowed Host names and the write
 * token.
 */
export interface TrackingServerOptions {
  readonly store: TrackingStore;
  /** HPO studies shown by the study views (none: the views say so). */
  readonly studies?: StudySource;
  /** pino logging (default off). */
  readonly logger?: boolean;
  /**
   * Host names (or addresses) the `Host` header may name; every other Host is refused with 403, so a page on an
   * attacker's domain that resolves to this machine (DNS rebinding) cannot use the API. 127.0.0.1, ::1 and
   * localhost are always allowed.
   */
  readonly allowedHosts?: readonly string[];
  /**
   * The token writes (PATCH, PUT, DELETE, POST) must carry in `x-lathe-token` or `Authorization: Bearer <token>`.
   * Without one, the server refuses every write.
   */
  readonly writeToken?: string;
}

const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

/** The host name of a Host header, lower case, without port or IPv6 brackets ('' when malformed). */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : '';
  }
  const colon = h.indexOf(':');
  return (colon < 0 ? h : h.slice(0, colon)).replace(/\.$/, '');
}

const sameToken = (given: string, token: string): boolean => {
  const a = Buffer.from(given),
    b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** The token a request carries (`x-lathe-token`, or `Authorization: Bearer ...`). */
function tokenOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const x = headers['x-lathe-token'];
  if (typeof x === 'string' && x) return x;
  const auth = headers.authorization;
  if (typeof auth === 'string') return /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  return undefined;
}

type Query = Record<string, string | undefined>;

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.html': 'text/plain; charset=utf-8',
};

function intParam(q: Query, name: string, dflt: number, min: number, max: number): number {
  const raw = q[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new TrackingError(`query parameter '${name}' must be an integer in ${min}..${max} (got '${raw}')`);
  return n;
}

function uiAsset(name: string): string {
  return readFileSync(join(packageRoot(), 'src', 'track', 'ui', name), 'utf8');
}

/** A file of the installed uPlot package (the charting library, a dependency: served locally, never from a CDN). */
function uplotAsset(file: 'js' | 'css'): string {
  const require = createRequire(import.meta.url);
  const path =
    file === 'js' ? require.resolve('uplot/dist/uPlot.iife.min.js') : require.resolve('uplot/dist/uPlot.min.css');
  return readFileSync(path, 'utf8');
}

/** Builds the app (not listening): `app.inject()` for tests, `app.listen()` for `lathe ui`. */
export function createTrackingServer(opts: TrackingServerOptions): FastifyInstance {
  const { store, studies } = opts;
  const app = Fastify({ logger: opts.logger ?? false });
  const assets = {
    html: uiAsset('index.html'),
    js: uiAsset('app.js'),
    charts: uiAsset('charts.js'),
    css: uiAsset('app.css'),
    uplotJs: uplotAsset('js'),
    uplotCss: uplotAsset('css'),
  };

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err instanceof TrackingError) return reply.code(err.status).send({ error: err.message });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return reply.code(err.statusCode).send({ error: err.message });
    req.log.error(err);
    return reply.code(500).send({ error: `internal error: ${err.message}` });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));

  // DNS rebinding guard first, then the write token: a write from a page that is not ours never reaches a handler.
  const allowed = new Set(
    [...LOOPBACK, ...(opts.allowedHosts ?? [])].map((h) =>
      hostOf(h.includes(':') && !h.startsWith('[') && isIP(h) === 6 ? `[${h}]` : h),
    ),
  );
  app.addHook('onRequest', async (req, reply) => {
    const host = hostOf(req.headers.host);
    if (!allowed.has(host)) {
      return reply.code(403).send({
        error: `Host '${req.headers.host ?? ''}' is not allowed: this server answers only its own host names (loopback, its --host; lathe ui --allow-host adds names)`,
      });
    }
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
    const given = tokenOf(req.headers);
    if (!opts.writeToken)
      return reply.code(403).send({ error: 'writes are disabled: this server was started without a write token' });
    if (given === undefined || !sameToken(given, opts.writeToken)) {
      return reply.code(401).send({
        error: `${req.method} ${req.url.split('?')[0]} needs the write token (header x-lathe-token or Authorization: Bearer; lathe ui prints it at start)`,
      });
    }
    return undefined;
  });

  app.get('/', (_req, reply) => reply.type('text/html; charset=utf-8').send(assets.html));
  app.get('/ui/app.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(assets.js));
  app.get('/ui/charts.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(assets.charts));
  app.get('/ui/app.css', (_req, reply) => reply.type('text/css; charset=utf-8').send(assets.css));
  app.get('/ui/uplot.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(assets.uplotJs));
  app.get('/ui/uplot.css', (_req, reply) => reply.type('text/css; charset=utf-8').send(assets.uplotCss));
  app.get('/api/health', async () => ({ ok: true, store: store.kind }));

  // Runs
  app.get('/api/experiments', async () => ({ experiments: await store.listExperiments() }));
  app.get('/api/columns', async (req) => store.listColumns((req.query as Query).experiment || undefined));
  app.get('/api/runs', async (req) => {
    const q = req.query as Query;
    if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc')
      throw new TrackingError(`query parameter 'order' must be asc or desc (got '${q.order}')`);
    return store.listRuns({
      experiment: q.experiment || undefined,
      filter: q.filter,
      sort: q.sort || undefined,
      order: q.order as 'asc' | 'desc' | undefined,
      offset: intParam(q, 'offset', 0, 0, 1e9),
      limit: intParam(q, 'limit', 50, 1, 1000),
    });
  });
  app.get('/api/runs/:id', async (req) => store.getRun((req.params as { id: string }).id));
  app.patch('/api/runs/:id', async (req) => {
    const id = (req.params as { id: string }).id;
    const body = (req.body ?? {}) as { notes?: unknown; tags?: unknown };
    if (body.notes !== undefined) {
      if (typeof body.notes !== 'string') throw new TrackingError("body field 'notes' must be a string");
      await store.setNotes(id, body.notes);
    }
    if (body.tags !== undefined) {
      if (
        typeof body.tags !== 'object' ||
        body.tags === null ||
        Object.values(body.tags).some((v) => typeof v !== 'string')
      )
        throw new TrackingError("body field 'tags' must be an object of strings");
      await store.writeBatch(id, {
        metrics: [],
        tags: body.tags as Record<string, string>,
        heartbeatAt: (await store.getRun(id)).heartbeatAt,
      });
    }
    return store.getRun(id);
  });
  app.get('/api/runs/:id/metrics', async (req) => ({
    keys: await store.metricKeys((req.params as { id: string }).id),
  }));
  app.get('/api/runs/:id/series', async (req) => {
    const q = req.query as Query;
    if (!q.key) throw new TrackingError("query parameter 'key' is required");
    const pts = await store.metricSeries(
      (req.params as { id: string }).id,
      q.key,
      intParam(q, 'max_points', 2000, 2, 100_000),
    );
    return { key: q.key, points: pts.map((p) => [p.step, Number.isNaN(p.value) ? null : p.value, p.time]) };
  });
  app.get('/api/compare', async (req) => {
    const q = req.query as Query;
    const ids = (q.runs ?? '').split(',').filter(Boolean);
    if (ids.length === 0 || ids.length > 50)
      throw new TrackingError("query parameter 'runs' must list 1..50 run ids separated by commas");
    const key = q.key;
    if (!key) throw new TrackingError("query parameter 'key' is required");
    const maxPoints = intParam(q, 'max_points', 1000, 2, 100_000);
    const series = await Promise.all(
      ids.map(async (id) => {
        const run = await store.getRun(id);
        const pts = await store.metricSeries(id, key, maxPoints);
        return {
          runId: run.id,
          name: run.name,
          points: pts.map((p) => [p.step, Number.isNaN(p.value) ? null : p.value, p.time]),
        };
      }),
    );
    return { key, series };
  });
  app.get('/api/runs/:id/artifacts', async (req) => ({
    artifacts: await store.listArtifacts((req.params as { id: string }).id),
  }));
  app.get('/api/runs/:id/artifacts/*', async (req, reply: FastifyReply) => {
    const p = req.params as { id: string; '*': string };
    const path = validateArtifactPath(p['*']);
    const a = await store.getArtifact(p.id, path);
    const file = blobPath(store.artifactRoot, a.digest);
    if (!existsSync(file))
      throw new TrackingError(
        `artifact '${path}' of run '${p.id}': content ${a.digest} is missing from the store`,
        404,
      );
    const ext = path.slice(path.lastIndexOf('.')).toLowerCase();
    reply.header('content-security-policy', 'sandbox').header('x-content-type-options', 'nosniff');
    return reply.type(CONTENT_TYPES[ext] ?? 'application/octet-stream').send(createReadStream(file));
  });

  // Registry
  app.get('/api/models', async () => ({ models: await store.listModels() }));
  app.get('/api/models/:name', async (req) => {
    const name = (req.params as { name: string }).name;
    const [model, versions, history] = await Promise.all([
      store.getModel(name),
      store.listModelVersions(name),
      store.aliasHistory(name),
    ]);
    return { model, versions, history };
  });
  app.get('/api/models/:name/versions/:version', async (req) => {
    const p = req.params as { name: string; version: string };
    if (!/^[1-9][0-9]*$/.test(p.version)) throw new TrackingError(`version '${p.version}' must be a positive integer`);
    return store.getModelVersion(p.name, Number(p.version));
  });
  app.put('/api/models/:name/aliases/:alias', async (req) => {
    const p = req.params as { name: string; alias: string };
    const v = (req.body as { version?: unknown } | undefined)?.version;
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new TrackingError("body field 'version' must be a positive integer");
    await store.setAlias(p.name, p.alias, v as number);
    return store.getModel(p.name);
  });
  app.delete('/api/models/:name/aliases/:alias', async (req) => {
    const p = req.params as { name: string; alias: string };
    await store.setAlias(p.name, p.alias, null);
    return store.getModel(p.name);
  });
  app.get('/api/resolve', async (req) => {
    const uri = (req.query as Query).uri;
    if (!uri) throw new TrackingError("query parameter 'uri' is required");
    const r = await resolveModelUri(uri, store);
    return {
      name: r.name,
      version: r.version,
      onnxPath: r.onnxPath,
      weightsPath: r.weightsPath,
      signature: r.signature,
    };
  });

  // Studies
  const source = (): StudySource => {
    if (!studies) throw new TrackingError('no study source is configured for this server', 404);
    return studies;
  };
  const study = async (id: string): ReturnType<StudySource['getStudy']> => {
    try {
      return await source().getStudy(id);
    } catch (err) {
      throw err instanceof TrackingError ? err : new TrackingError((err as Error).message, 404);
    }
  };
  app.get('/api/studies', async () => ({ studies: studies ? await studies.listStudies() : [] }));
  app.get('/api/studies/:id', async (req) => {
    const id = (req.params as { id: string }).id;
    const s = await study(id);
    const trials = await source().trials(id);
    return {
      study: s,
      trials,
      history: optimizationHistory(trials, s.directions[0] ?? 'minimize'),
      importance: paramImportance(trials),
      pareto: s.directions.length > 1 ? paretoFront(trials, s.directions) : [],
    };
  });
  return app;
}

/** Options of {@link startUi}: the server options plus where to listen, the write token and the dead-writer sweep. */
export interface StartUiOptions extends TrackingServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 5005; 0: any free port). */
  readonly port?: number;
  /** Write token; default `LATHE_UI_TOKEN`, else 32 random hex digits. */
  readonly writeToken?: string;
  /** How often to mark runs of dead writers and remove their temp files (default 30 s; 0: never). */
  readonly sweepIntervalMs?: number;
  /** Heartbeat age after which a running run counts as dead (default 120 s). */
  readonly staleMs?: number;
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '[::]';

/** The addresses of this machine's interfaces (what clients use when the server listens on every interface). */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/**
 * Serves the UI on `host:port`; resolves with its base URL, the write token, the URL to open (carrying `?token=`, as
 * Jupyter prints it: the page keeps the token for its writes) and the app.
 * Allowed Host names: loopback, `host`, `allowedHosts`, and this machine's addresses when `host` is a wildcard.
 * While it runs it sweeps dead writers every `sweepIntervalMs`, so a SIGKILLed run does not show `running` forever.
 */
export async function startUi(
  opts: StartUiOptions,
): Promise<{ url: string; token: string; openUrl: string; app: FastifyInstance }> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.writeToken ?? process.env.LATHE_UI_TOKEN ?? randomBytes(16).toString('hex');
  const allowedHosts = [...(opts.allowedHosts ?? []), ...(isWildcard(host) ? interfaceAddresses() : [host])];
  const app = createTrackingServer({ ...opts, allowedHosts, writeToken: token });
  const every = opts.sweepIntervalMs ?? 30_000;
  if (every > 0) {
    let busy = false;
    let warned = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      sweepDeadWriters(opts.store, opts.staleMs ?? DEFAULT_STALE_MS)
        .catch((err: Error) => {
          if (!warned) process.stderr.write(`lathe ui: sweeping dead writers failed (will retry): ${err.message}\n`);
          warned = true;
        })
        .finally(() => {
          busy = false;
        });
    }, every);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
  await app.listen({ host, port: opts.port ?? 5005 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shown = isWildcard(host) ? '127.0.0.1' : isIP(host) === 6 ? `[${host}]` : host;
  const url = `http://${shown}:${port}`;
  return { url, token, openUrl: `${url}/?token=${token}`, app };
}
