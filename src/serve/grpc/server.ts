// The Open Inference Protocol over gRPC (inference.GRPCInferenceService) on @grpc/grpc-js. It shares
// everything behind HTTP with REST: the same InferenceService (experiments, cache, batcher, fallback),
// validation, lifecycle and metrics (requests counted with protocol="grpc" and the HTTP-equivalent code).
import * as grpc from '@grpc/grpc-js';
import { badRequest, ServeError } from '../errors.js';
import type { InferRequest } from '../oip.js';
import { modelLabel, refusal, serviceOf, versionLabel, type ServeContext } from '../routes/context.js';
import { isReady, SERVER_VERSION } from '../routes/health.js';
import {
  bytesPerElement,
  elementCount,
  fromJson,
  isOipDatatype,
  OIP_DATATYPES,
  viewBytes,
  type HostTensor,
  type OipDatatype,
} from '../tensor.js';
import {
  inferenceService,
  parameterValue,
  type InferInputTensor,
  type InferParameter,
  type InferTensorContents,
  type ModelInferRequest,
  type ModelInferResponse,
} from './proto.js';

const MAX_RANK = 16;

/** The gRPC status of a ServeError's HTTP status. */
export function grpcStatusOf(httpStatus: number): grpc.status {
  switch (httpStatus) {
    case 400:
    case 413:
    case 415:
      return grpc.status.INVALID_ARGUMENT;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 404:
      return grpc.status.NOT_FOUND;
    case 422:
      return grpc.status.FAILED_PRECONDITION;
    case 503:
      return grpc.status.UNAVAILABLE;
    case 504:
      return grpc.status.DEADLINE_EXCEEDED;
    default:
      return grpc.status.INTERNAL;
  }
}

/** Which InferTensorContents field carries each datatype. */
const CONTENTS_FIELD: Readonly<Record<OipDatatype, keyof InferTensorContents>> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
};

function parameters(map: Readonly<Record<string, InferParameter>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(map ?? {})) out[k] = parameterValue(p);
  return out;
}

function inputTensor(t: InferInputTensor, k: number, raw: Buffer | undefined): HostTensor {
  const name = t.name;
  if (!name) throw badRequest(`inputs[${k}].name must be a non-empty string`);
  if (!isOipDatatype(t.datatype))
    throw badRequest(
      `input '${name}': datatype ${JSON.stringify(t.datatype)} is not one of ${OIP_DATATYPES.join(', ')}`,
    );
  const dt = t.datatype;
  if (t.shape.length > MAX_RANK || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw badRequest(`input '${name}': shape must be at most ${MAX_RANK} non-negative integers`);
  const count = elementCount(t.shape);
  if (raw !== undefined) {
    const want = count * bytesPerElement(dt);
    if (raw.length !== want)
      throw badRequest(
        `input '${name}': raw_input_contents[${k}] has ${raw.length} bytes, shape [${t.shape.join(',')}] of ${dt} needs ${want}`,
      );
    if (dt === 'BOOL' && raw.some((v) => v > 1))
      throw badRequest(`input '${name}': BOOL raw contents must be bytes 0 or 1`);
    return { name, datatype: dt, shape: t.shape, data: viewBytes(dt, raw) };
  }
  const values = t.contents?.[CONTENTS_FIELD[dt]] as readonly unknown[] | undefined;
  if (!values || values.length !== count)
    throw badRequest(
      `input '${name}': contents.${CONTENTS_FIELD[dt]} has ${values?.length ?? 0} elements, shape [${t.shape.join(',')}] needs ${count}`,
    );
  const data = fromJson(dt, values);
  if (typeof data === 'string') throw badRequest(`input '${name}': contents ${data}`);
  return { name, datatype: dt, shape: t.shape, data };
}

/** A ModelInferRequest as the protocol-independent InferRequest. */
function parseGrpcInfer(req: ModelInferRequest): InferRequest {
  if (req.inputs.length === 0) throw badRequest('"inputs" must be a non-empty list');
  const raw = req.raw_input_contents;
  if (raw.length > 0 && raw.length !== req.inputs.length)
    throw badRequest(
      `raw_input_contents has ${raw.length} entries; the request has ${req.inputs.length} inputs (one entry each, in order)`,
    );
  const seen = new Set<string>();
  const inputs = req.inputs.map((t, k) => {
    if (seen.has(t.name)) throw badRequest(`input '${t.name}' appears twice`);
    seen.add(t.name);
    return inputTensor(t, k, raw.length > 0 ? raw[k] : undefined);
  });
  return {
    id: req.id || undefined,
    inputs,
    outputs: req.outputs.length > 0 ? req.outputs.map((o) => o.name) : undefined,
    parameters: parameters(req.parameters),
  };
}

type Handler<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/** The service implementation over a server's context. */
function grpcHandlers(ctx: ServeContext): grpc.UntypedServiceImplementation {
  const fail = <Res>(cb: grpc.sendUnaryData<Res>, err: unknown): void => {
    const e = err instanceof ServeError ? err : new ServeError(500, 'internal server error');
    const metadata = new grpc.Metadata();
    if (e.retryAfterS !== undefined) metadata.set('retry-after', String(e.retryAfterS));
    cb({ code: grpcStatusOf(e.status), details: e.message, metadata }, null);
  };
  const count = (model: string, version: string, code: number, seconds: number): void => {
    ctx.metrics.requests.labels(model, version, String(code), 'grpc').inc();
    if (code >= 400) ctx.metrics.failures.labels(model, version, String(code), 'grpc').inc();
    else ctx.metrics.latency.labels(model, version).observe(seconds);
  };

  const ServerLive: Handler<object, { live: boolean }> = (_call, cb) =>
    cb(null, { live: ctx.lifecycle.phase !== 'closed' });
  const ServerReady: Handler<object, { ready: boolean }> = (_call, cb) => cb(null, { ready: isReady(ctx) });
  const ServerMetadata: Handler<object, object> = (_call, cb) =>
    cb(null, {
      name: 'lathe',
      version: SERVER_VERSION,
      extensions: ctx.config.server.adminToken ? ['model_repository'] : [],
    });
  const ModelReady: Handler<{ name: string; version: string }, { ready: boolean }> = (call, cb) => {
    try {
      const { mv } = serviceOf(ctx).signatureOf(call.request.name, call.request.version || undefined);
      cb(null, { ready: ctx.lifecycle.phase === 'serving' && mv.state === 'ready' });
    } catch (err) {
      fail(cb, err);
    }
  };
  const ModelMetadata: Handler<{ name: string; version: string }, object> = (call, cb) => {
    try {
      const { name, version } = call.request;
      const service = serviceOf(ctx);
      const { signature } = service.signatureOf(name, version || undefined);
      cb(null, {
        name,
        versions: service.experiments.has(name) ? [] : ctx.repository.versions(name).map((v) => v.version),
        platform: 'onnxruntime_onnx',
        inputs: signature.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
        outputs: signature.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
      });
    } catch (err) {
      fail(cb, err);
    }
  };
  const ModelInfer: Handler<ModelInferRequest, ModelInferResponse> = (call, cb) => {
    const started = performance.now();
    const req = call.request;
    const name = req.model_name;
    let labels = { model: modelLabel(ctx, name), version: '' };
    const done = (code: number): void =>
      count(labels.model, labels.version, code, (performance.now() - started) / 1000);
    void (async () => {
      const refused = refusal(ctx);
      if (refused) throw refused;
      const parsed = parseGrpcInfer(req);
      const header = call.metadata.get(ctx.service?.experiments.get(name)?.config.stickyHeader ?? 'x-lathe-key')[0];
      const key =
        typeof header === 'string'
          ? header
          : typeof parsed.parameters.key === 'string'
            ? parsed.parameters.key
            : undefined;
      const out = await serviceOf(ctx).infer(name, req.model_version || undefined, parsed, {
        key,
        requestId: `grpc-${req.id || 'anon'}`,
        log: ctx.log,
      });
      labels = { model: modelLabel(ctx, out.model), version: versionLabel(ctx, out.version) };
      const wanted = parsed.outputs;
      const outputs = wanted ? out.outputs.filter((o) => wanted.includes(o.name)) : out.outputs;
      const params: Record<string, InferParameter> = {};
      if (out.fallback) params.fallback = { parameter_choice: 'string_param', string_param: out.fallback };
      if (out.experiment) params.experiment = { parameter_choice: 'string_param', string_param: out.experiment };
      if (out.cached) params.cached = { parameter_choice: 'bool_param', bool_param: true };
      return {
        model_name: out.model,
        model_version: out.version,
        id: req.id,
        parameters: params,
        outputs: outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: [...o.shape] })),
        raw_output_contents: outputs.map((o) => Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength)),
      };
    })().then(
      (res) => {
        done(200);
        cb(null, res);
      },
      (err: unknown) => {
        done(err instanceof ServeError ? err.status : 500);
        if (!(err instanceof ServeError)) ctx.log.error({ err }, 'unexpected gRPC error');
        fail(cb, err);
      },
    );
  };
  return { ServerLive, ServerReady, ServerMetadata, ModelReady, ModelMetadata, ModelInfer };
}

/** A gRPC server bound to host:port (0 = any free port); resolves with the port. */
export async function startGrpc(
  ctx: ServeContext,
  host: string,
  port: number,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': ctx.config.server.bodyLimitBytes });
  server.addService(inferenceService().service, grpcHandlers(ctx));
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host.includes(':') ? `[${host}]` : host}:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    );
  });
  return { server, port: bound };
}

/** Stops taking calls and waits for those in flight (forced after `timeoutMs`). */
export async function stopGrpc(server: grpc.Server, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
