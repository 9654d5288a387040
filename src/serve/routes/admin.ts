// Triton's model-repository extension (index, load, unload), only with a bearer token.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { modelDefaults, type ModelConfig } from '../config.js';
import { badRequest, notFound, ServeError } from '../errors.js';
import type { ModelParams, ServeContext } from './context.js';

/** A preHandler that answers 401 unless `Authorization: Bearer <token>` matches (constant time). */
function bearerGuard(token: string): (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const expected = Buffer.from(`Bearer ${token}`);
  return async function bearerGuard(req, reply) {
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'admin endpoints need "Authorization: Bearer <token>"' });
    }
    return undefined;
  };
}

export function adminRoutes(ctx: ServeContext, token: string): FastifyPluginCallback {
  return function adminRoutes(app, _opts, done) {
    const { repository } = ctx;
    app.addHook('preHandler', bearerGuard(token));
    app.post('/v2/repository/index', async () =>
      repository
        .names()
        .flatMap((name) =>
          repository.versions(name).map((v) => ({ name, version: v.version, state: v.state.toUpperCase() })),
        ),
    );
    app.post<{ Params: ModelParams; Body: unknown }>('/v2/repository/models/:name/load', async (req) => {
      const { name } = req.params;
      const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as { source?: unknown };
      let cfg: ModelConfig | undefined = repository.configOf(name);
      if (typeof body.source === 'string') cfg = modelDefaults(body.source, { ...(cfg ?? {}), source: body.source });
      if (!cfg) throw badRequest(`model '${name}' is not configured; send {"source": "<path or uri>"}`);
      const versions = await repository.load(name, cfg).catch((err: Error) => {
        throw err instanceof ServeError ? err : new ServeError(400, err.message);
      });
      return { name, versions };
    });
    app.post<{ Params: ModelParams }>('/v2/repository/models/:name/unload', async (req) => {
      if (!repository.has(req.params.name)) throw notFound(`model '${req.params.name}' is not loaded`);
      await repository.unload(req.params.name);
      return { name: req.params.name, unloaded: true };
    });
    done();
  };
}
