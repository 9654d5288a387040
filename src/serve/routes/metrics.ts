// GET /metrics: the Prometheus text of the server's own registry.
import type { FastifyPluginCallback } from 'fastify';
import type { ServeContext } from './context.js';

export function metricsRoute(ctx: ServeContext): FastifyPluginCallback {
  return function metricsRoute(app, _opts, done) {
    app.get('/metrics', async (_req, reply) => {
      const text = await ctx.metrics.registry.metrics();
      return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
    });
    done();
  };
}
