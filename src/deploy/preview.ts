// `lathe deploy preview <dir>`: a static file server for a browser bundle, on 127.0.0.1 only. It serves files
// under `dir` and nothing else (no directory listings, no path outside the folder), with the MIME types the
// bundle needs (`application/wasm` lets the browser compile WASM while it streams).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { DeployError } from './config.js';

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.css': 'text/css',
};

/** A running local preview of a browser deploy folder (see {@link startPreview}) at `url`. */
export interface PreviewServer {
  readonly url: string;
  /** Stops the server; resolves once it no longer listens. */
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1:`port` (0 = any free port). */
export async function startPreview(dir: string, port = 8080): Promise<PreviewServer> {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html')))
    throw new DeployError(`preview: '${dir}' holds no index.html (make one with lathe deploy --target browser)`);
  const server: Server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    const file = resolve(root, '.' + (path.endsWith('/') ? path + 'index.html' : path));
    if ((file !== root && !file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { url: `http://127.0.0.1:${bound}`, close: () => new Promise((ok) => server.close(() => ok())) };
}
