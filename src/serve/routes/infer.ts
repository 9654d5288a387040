// Inference: POST /v2/models/{name}[/versions/{v}]/infer (OIP v2, JSON or binary tensor data) and the
// simpler POST /predict. Admission runs in onRequest, before a byte of the body is read: a request
// the server would refuse anyway (shutting down, loading, unknown model, full queue) costs no body
// read and no parse.
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { DynamicBatcher } from '../batcher.js';
import { badRequest, ServeError } from '../errors.js';
import { encodeResponse, nest, outputJson, parseInferRequest, parsePredictInputs } from '../oip.js';
import { INFERENCE_HEADER, readOipBody, type JsonTextParser, type OipBody } from '../oip-body.js';
import type { InferOutcome } from '../service.js';
import { modelLabel, refusal, serviceOf, versionLabel, type ModelParams, type ServeContext } from './context.js';

/**
 * fastify's default JSON parser: of the two forms FastifyBodyParser allows (callback, or promise-returning), it is
 * the callback one, and it calls `done` before it returns (fastify/lib/content-type-parser.js), so no promise is
 * involved. safeJsonParser checks that it did answer.
 */
type SyncJsonParser = (
  request: FastifyRequest,
  text: string,
  done: (err: Error | null, value?: unknown) => void,
) => void;

/** JSON.parse with fastify's prototype-poisoning checks, skipped when the text cannot hold a poisoning key. */
function safeJsonParser(scope: FastifyInstance): JsonTextParser {
  const secureJson = scope.getDefaultJsonParser('error', 'error') as SyncJsonParser;
  return function parseJson(text: string): unknown {
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
    let answered = false;
    secureJson(undefined as unknown as FastifyRequest, text, (err, v) => {
      answered = true;
      if (err) throw err;
      value = v;
    });
    if (!answered)
      throw new Error("fastify's default JSON parser did not answer synchronously (a fastify upgrade changed it?)");
    return value;
  };
}

const NO_BODY = 'the request has no body: send a JSON object with an "inputs" array (Content-Type: application/json)';

/** The batcher of the model version a request names, a 404 for an unknown one, or undefined (experiments, loading). */
function batcherOf(
  ctx: ServeContext,
  name: string,
  version: string | undefined,
): DynamicBatcher | ServeError | undefined {
  const service = ctx.service;
  if (!service || service.experiments.has(name)) return undefined; // an experiment picks its variant from the body's key
  try {
    return ctx.repository.get(name, version).batcher;
  } catch (err) {
    return err instanceof ServeError ? err : undefined;
  }
}

export function inferRoutes(ctx: ServeContext): FastifyPluginCallback {
  return function inferRoutes(scope, _opts, done) {
    const parseJson = safeJsonParser(scope);
    // Only these two types: text/plain and the rest are 415 (fastify's own answer for an unknown type).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      ['application/json', 'application/octet-stream'],
      { parseAs: 'buffer' },
      (req, body, next) => {
        try {
          next(null, readOipBody(body as Buffer, req.headers[INFERENCE_HEADER], parseJson));
        } catch (err) {
          next(err as Error, undefined);
        }
      },
    );
    scope.addHook('onRequest', (req, reply, next) => {
      const { name, version } = req.params as Partial<ModelParams>;
      if (name !== undefined) req.lathe = { model: modelLabel(ctx, name), version: '' };
      const refused = refusal(ctx);
      if (refused || name === undefined) return next(refused as Parameters<typeof next>[0]);
      const b = batcherOf(ctx, name, version);
      if (b instanceof ServeError) return next(b as unknown as Parameters<typeof next>[0]);
      if (b?.full) {
        // The overload path answers here, with a body made once and no Error (no stack trace), and never reads the body.
        void reply
          .code(503)
          .header('retry-after', String(b.retryAfterS()))
          .type('application/json; charset=utf-8')
          .send(b.refusalBody());
        return;
      }
      next();
    });

    const stickyKey = (
      req: FastifyRequest,
      name: string,
      parameters: Readonly<Record<string, unknown>>,
    ): string | undefined => {
      const header = ctx.service?.experiments.get(name)?.config.stickyHeader ?? 'x-lathe-key';
      const h = req.headers[header];
      if (typeof h === 'string') return h;
      return typeof parameters.key === 'string' ? parameters.key : undefined;
    };
    const answered = (req: FastifyRequest, reply: FastifyReply, out: InferOutcome): void => {
      req.lathe = { model: modelLabel(ctx, out.model), version: versionLabel(ctx, out.version) };
      if (out.fallback) void reply.header('x-lathe-fallback', out.fallback);
      if (out.cached) void reply.header('x-lathe-cache', 'hit');
    };

    const infer = async (
      req: FastifyRequest<{ Params: ModelParams; Body: OipBody | undefined }>,
      reply: FastifyReply,
    ) => {
      const { name, version } = req.params;
      if (req.body === undefined) throw badRequest(NO_BODY);
      const parsed = parseInferRequest(req.body.json, req.body.binary);
      const out = await serviceOf(ctx).infer(name, version, parsed, {
        key: stickyKey(req, name, parsed.parameters),
        requestId: req.id,
        log: req.log,
      });
      answered(req, reply, out);
      const params: Record<string, unknown> = {};
      if (out.fallback) params.fallback = out.fallback;
      if (out.experiment) params.experiment = out.experiment;
      if (out.cached) params.cached = true;
      const encoded = encodeResponse(out.model, out.version, parsed, out.outputs, params);
      if (encoded.kind === 'json')
        return reply.type('application/json; charset=utf-8').send(JSON.stringify(encoded.body));
      return reply
        .header(INFERENCE_HEADER, String(encoded.headerLength))
        .type('application/octet-stream')
        .send(encoded.body);
    };
    scope.post('/v2/models/:name/infer', infer);
    scope.post('/v2/models/:name/versions/:version/infer', infer);

    scope.post('/predict', async (req: FastifyRequest<{ Body: OipBody | undefined }>, reply) => {
      if (req.headers[INFERENCE_HEADER] !== undefined)
        throw badRequest(
          'binary tensor data (Inference-Header-Content-Length) is accepted only by /v2/models/{name}/infer',
        );
      if (req.body === undefined)
        throw badRequest(
          'the request has no body: send a JSON object {"model"?, "version"?, "inputs"} (Content-Type: application/json)',
        );
      const body = req.body.json;
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw badRequest('body must be a JSON object {"model"?, "version"?, "inputs"}');
      const b = body as Record<string, unknown>;
      const service = serviceOf(ctx);
      const names = service.names();
      const name = b.model ?? (names.length === 1 ? names[0] : undefined);
      if (typeof name !== 'string') throw badRequest(`"model" is required (one of ${names.join(', ')})`);
      if (b.version !== undefined && typeof b.version !== 'string') throw badRequest('"version" must be a string');
      const version = b.version as string | undefined;
      req.lathe = { model: modelLabel(ctx, name), version: '' };
      const { mv, signature } = service.signatureOf(name, version);
      const parsed = parsePredictInputs(signature, mv.name, b.inputs);
      const key = typeof b.key === 'string' ? b.key : stickyKey(req, name, {});
      const out = await service.infer(name, version, parsed, { key, requestId: req.id, log: req.log });
      answered(req, reply, out);
      const outputs: Record<string, unknown> = {};
      for (const o of out.outputs) outputs[o.name] = nest(outputJson(out.model, o), o.shape);
      return { model: out.model, version: out.version, ...(out.fallback ? { fallback: out.fallback } : {}), outputs };
    });
    done();
  };
}
