// An AWS Lambda handler for API Gateway HTTP APIs (payload format 2.0) and function URLs, speaking the same OIP
// JSON as lathe serve. The ONNX Runtime session (onnxruntime-node, made by runtime/session.ts like every lathe
// session) is created once per execution environment, on the first event, and reused; the first answer carries
// `x-lathe-init-ms` (session creation) so cold starts can be measured from the outside.
import * as ort from 'onnxruntime-node';
import { createSession } from '../runtime/session.js';
import { OipHandler, type HttpAnswer, type SessionLike } from './oip-handler.js';

/** The fields of an API Gateway v2 / function URL event the handler reads. */
export interface ApiGatewayV2Event {
  readonly version?: string;
  readonly rawPath: string;
  readonly requestContext: {
    readonly http: { readonly method: string; readonly path?: string };
    readonly domainName?: string;
    readonly requestId?: string;
  };
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export interface ApiGatewayV2Result {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

export interface LambdaHandlerOptions {
  /** Path of model.onnx (usually beside the handler in the deployment package). */
  readonly model: string;
  /** The model's name in the routes. */
  readonly name: string;
  readonly version?: string;
  /** ORT intra-op threads (Lambda gives one vCPU per 1,769 MB of memory). */
  readonly threads?: number;
}

export type LambdaHandler = (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result>;

export function toLambdaResult(a: HttpAnswer, extraHeaders: Record<string, string> = {}): ApiGatewayV2Result {
  const headers = { ...a.headers, ...extraHeaders };
  if (typeof a.body === 'string') return { statusCode: a.status, headers, body: a.body, isBase64Encoded: false };
  return {
    statusCode: a.status,
    headers,
    body: Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength).toString('base64'),
    isBase64Encoded: true,
  };
}

/** A Lambda handler over one model; the session is made on the first event and kept for the environment's life. */
export function createLambdaHandler(options: LambdaHandlerOptions): LambdaHandler {
  let ready: Promise<OipHandler> | undefined;
  let initMs: number | undefined;
  return async function latheLambdaHandler(event) {
    let first = false;
    if (!ready) {
      first = true;
      const t0 = performance.now();
      ready = createSession(options.model, { threads: options.threads ?? 1, spinning: false }).then((s) => {
        initMs = performance.now() - t0;
        return new OipHandler(
          s as unknown as SessionLike,
          (type, data, dims) => new ort.Tensor(type as ort.Tensor.Type, data as ort.Tensor.DataType, dims),
          { name: options.name, version: options.version },
        );
      });
      ready.catch(() => {
        ready = undefined; // the next event tries again
      });
    }
    const handler = await ready;
    let body = event.body;
    if (body !== undefined && event.isBase64Encoded) body = Buffer.from(body, 'base64').toString('utf8');
    const answer = await handler.handle(event.requestContext.http.method, event.rawPath, body);
    return toLambdaResult(answer, first && initMs !== undefined ? { 'x-lathe-init-ms': initMs.toFixed(1) } : {});
  };
}
