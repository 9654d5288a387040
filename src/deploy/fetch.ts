// A web-standard `fetch(request) => Response` handler for edge runtimes (Cloudflare Workers, Deno, Bun, Vercel
// Edge, Node's own fetch servers), running the model with onnxruntime-web's WASM backend and speaking the same
// OIP JSON as lathe serve. The session is made on the first request and kept (one per isolate).
import { OipHandler, type SessionLike, type TensorFactory } from './oip-handler.js';

export interface FetchHandlerOptions {
  /** The model's bytes, or a function that fetches them once (e.g. from a static asset binding). */
  readonly model: Uint8Array | ArrayBuffer | (() => Promise<Uint8Array | ArrayBuffer>);
  readonly name: string;
  readonly version?: string;
  /** Where onnxruntime-web loads its .wasm/.mjs files from (default: beside its own module). */
  readonly wasmPaths?: string;
}

export type FetchHandler = ((request: Request) => Promise<Response>) & { readonly initMs: () => number | undefined };

interface OrtWeb {
  env: { wasm: { numThreads?: number; wasmPaths?: string; proxy?: boolean } };
  Tensor: new (
    type: string,
    data: unknown,
    dims: readonly number[],
  ) => { type: string; dims: readonly number[]; data: unknown };
  InferenceSession: { create(model: Uint8Array, options: { executionProviders: string[] }): Promise<unknown> };
}

/** A fetch handler over one model (onnxruntime-web, WASM, one thread). */
export function createFetchHandler(options: FetchHandlerOptions): FetchHandler {
  let ready: Promise<OipHandler> | undefined;
  let initMs: number | undefined;
  const start = async (): Promise<OipHandler> => {
    const t0 = performance.now();
    const ort = (await import('onnxruntime-web')) as unknown as OrtWeb;
    ort.env.wasm.numThreads = 1; // edge isolates have no threads (SharedArrayBuffer is off)
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    const raw = typeof options.model === 'function' ? await options.model() : options.model;
    const bytes = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
    const session = (await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] })) as SessionLike;
    const tensor: TensorFactory = (type, data, dims) => new ort.Tensor(type, data, dims);
    const handler = new OipHandler(session, tensor, { name: options.name, version: options.version });
    initMs = performance.now() - t0;
    return handler;
  };
  const fetchHandler = async (request: Request): Promise<Response> => {
    if (!ready) {
      ready = start();
      ready.catch(() => {
        ready = undefined;
      });
    }
    const handler = await ready;
    const url = new URL(request.url);
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
    const a = await handler.handle(request.method, url.pathname, body);
    return new Response(a.body, { status: a.status, headers: a.headers });
  };
  return Object.assign(fetchHandler, { initMs: () => initMs });
}
