// The OIP v2 routes of a serverless handler (Lambda, fetch), answered with lathe serve's own request parsing,
// validation and response encoding (serve/oip.ts) over one ONNX Runtime session — onnxruntime-node in Lambda,
// onnxruntime-web (WASM) at the edge. No batching and no worker threads: a function instance serves one request
// at a time, and the platform scales instances. JSON in; JSON out, or binary outputs when asked.
import { OIP_DTYPE, oipDatatypeOf } from '../graph/dtype.js';
import { ServeError } from '../serve/errors.js';
import { encodeResponse, parseInferRequest, validateInputs } from '../serve/oip.js';
import { signatureOf, type ValueInfo } from '../serve/signature.js';
import type { HostTensor, ModelSignature, TypedArray } from '../serve/tensor.js';
import { ROUTES } from './routes.js';

/** The parts of an ONNX Runtime session (node or web: both implement onnxruntime-common) a handler uses. */
export interface SessionLike {
  readonly inputMetadata: readonly SessionValueMetadata[];
  readonly outputMetadata: readonly SessionValueMetadata[];
  /** Runs the model on the named input tensors and resolves to its outputs by name. */
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
}
export type SessionValueMetadata =
  | {
      readonly name: string;
      readonly isTensor: true;
      readonly type: string;
      readonly shape: readonly (number | string)[];
    }
  | { readonly name: string; readonly isTensor: false };
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}
export type TensorFactory = (type: string, data: TypedArray, dims: readonly number[]) => OrtTensorLike;

/** An HTTP response produced by {@link OipHandler.handle}: status code, headers and body. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Text (JSON) or bytes (binary tensor data extension). */
  readonly body: string | Uint8Array;
}

export interface OipHandlerOptions {
  /** The model's name in the routes (/v2/models/{name}/infer). */
  readonly name: string;
  readonly version?: string;
}

const json = (status: number, value: unknown): HttpAnswer => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

function describe(list: readonly SessionValueMetadata[]): ValueInfo[] {
  return list.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

/** Routes one request (method, path, body text) to the session; never throws. */
export class OipHandler {
  readonly signature: ModelSignature;
  private readonly version: string;

  constructor(
    private readonly session: SessionLike,
    private readonly tensor: TensorFactory,
    private readonly options: OipHandlerOptions,
  ) {
    this.signature = signatureOf(
      { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) },
      options.name,
    );
    this.version = options.version ?? '1';
  }

  /** Runs validated inputs (signature order) and returns the outputs as host tensors. */
  async run(inputs: readonly HostTensor[]): Promise<HostTensor[]> {
    const feeds: Record<string, OrtTensorLike> = {};
    for (const t of inputs) feeds[t.name] = this.tensor(OIP_DTYPE[t.datatype], t.data, t.shape);
    const out = await this.session.run(feeds);
    return this.signature.outputs.map((o) => {
      const t = out[o.name];
      const datatype = oipDatatypeOf(t.type);
      if (!datatype)
        throw new ServeError(
          500,
          `model '${this.options.name}': output '${o.name}' has type ${t.type}, which OIP JSON does not carry`,
        );
      return { name: o.name, datatype, shape: [...t.dims], data: t.data as TypedArray };
    });
  }

  /**
   * Answers one request: health and metadata routes, or inference on POST /v2/models/{name}/infer. Never throws: bad
   * requests get 400, unknown routes or models 404, wrong methods 405, a failing model 500.
   */
  async handle(method: string, path: string, body: string | undefined): Promise<HttpAnswer> {
    const { name } = this.options;
    const clean = path.replace(/\/+$/, '') || '/';
    try {
      if (method === 'GET' && clean === ROUTES.live) return json(200, { live: true });
      if (method === 'GET' && clean === ROUTES.ready) return json(200, { ready: true });
      if (method === 'GET' && clean === '/v2') return json(200, { name: 'lathe', extensions: [] });
      const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready)?$/.exec(clean);
      if (!m) return json(404, { error: `no route ${method} ${path}` });
      if (decodeURIComponent(m[1]) !== name)
        return json(404, { error: `unknown model '${decodeURIComponent(m[1])}'; this function serves '${name}'` });
      if (m[2] !== undefined && m[2] !== this.version)
        return json(404, { error: `model '${name}' has no version '${m[2]}' (serving '${this.version}')` });
      if (m[3] === '/ready' && method === 'GET') return json(200, { name, ready: true });
      if (m[3] === undefined && method === 'GET') {
        const spec = (t: { name: string; datatype: string; shape: readonly number[] }) => ({
          name: t.name,
          datatype: t.datatype,
          shape: [...t.shape],
        });
        return json(200, {
          name,
          versions: [this.version],
          platform: 'onnxruntime_onnx',
          inputs: this.signature.inputs.map(spec),
          outputs: this.signature.outputs.map(spec),
        });
      }
      if (m[3] !== '/infer' || method !== 'POST') return json(405, { error: `${method} ${path} is not allowed` });
      if (body === undefined || body.length === 0) return json(400, { error: 'request body is missing' });
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (err) {
        return json(400, { error: `request body is not valid JSON: ${(err as Error).message}` });
      }
      const req = parseInferRequest(parsed);
      const inputs = validateInputs(name, this.signature, req, Number.MAX_SAFE_INTEGER);
      const outputs = await this.run(inputs);
      const reply = encodeResponse(name, this.version, req, outputs);
      if (reply.kind === 'json') return json(200, reply.body);
      return {
        status: 200,
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(reply.headerLength),
        },
        body: new Uint8Array(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength),
      };
    } catch (err) {
      if (err instanceof ServeError) return json(err.status, { error: err.message });
      return json(500, { error: `model '${name}' failed: ${(err as Error).message}` });
    }
  }
}
