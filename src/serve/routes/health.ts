// Health, server metadata, model metadata and readiness (OIP v2). Readiness answers 400 when false (OIP: any 4xx).
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { serviceOf, type ModelParams, type ServeContext } from './context.js';
import { latheVersion } from '../../util/version.js';

/** The version the server reports (OIP server metadata, REST and gRPC). */
export const SERVER_VERSION = latheVersion();

/** True while the server takes traffic and every model has a warm version. */
export function isReady(ctx: ServeContext): boolean {
  return ctx.lifecycle.phase === 'serving' && ctx.service !== undefined && ctx.repository.ready();
}

export function healthRoutes(ctx: ServeContext): FastifyPluginCallback {
  return function healthRoutes(app, _opts, done) {
    app.get('/v2/health/live', (_req, reply) => {
      void reply.send({ live: true });
    });
    app.get('/v2/health/ready', (_req, reply) => {
      const ready = isReady(ctx);
      void reply.code(ready ? 200 : 400).send({ ready });
    });
    app.get('/v2', async () => ({
      name: 'lathe',
      version: SERVER_VERSION,
      extensions: ['binary_tensor_data', ...(ctx.config.server.adminToken ? ['model_repository'] : [])],
    }));

    const metadata = async (req: FastifyRequest<{ Params: ModelParams }>) => {
      const { name, version } = req.params;
      const service = serviceOf(ctx);
      const { mv, signature } = service.signatureOf(name, version);
      const isExperiment = service.experiments.has(name);
      return {
        name,
        versions: isExperiment ? [] : ctx.repository.versions(name).map((v) => v.version),
        platform: 'onnxruntime_onnx',
        ...(isExperiment ? { parameters: { experiment: true, example_target: `${mv.name}/${mv.version}` } } : {}),
        inputs: signature.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
        outputs: signature.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
      };
    };
    app.get('/v2/models/:name', metadata);
    app.get('/v2/models/:name/versions/:version', metadata);

    const modelReady = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
      const { name, version } = req.params;
      const { mv } = serviceOf(ctx).signatureOf(name, version);
      const ok = ctx.lifecycle.phase === 'serving' && mv.state === 'ready';
      return reply.code(ok ? 200 : 400).send({ name, ...(version ? { version } : {}), ready: ok });
    };
    app.get('/v2/models/:name/ready', modelReady);
    app.get('/v2/models/:name/versions/:version/ready', modelReady);
    done();
  };
}
