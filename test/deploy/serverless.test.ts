// The Lambda handler (onnxruntime-node) and the fetch handler (onnxruntime-web, WASM) answer recorded API Gateway
// v2 / function URL events (test/fixtures/deploy/apigw-v2-events.json: Fashion-MNIST images, health, metadata and
// bad requests) as lathe serve answers the same requests: same statuses, the same error messages, the same
// outputs (Lambda: ORT native like the server; fetch: WASM kernels, within 1e-4 and the same argmax). Cold starts
// (session creation on the first event) are printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deploy } from '../../src/deploy/index.js';
import { createFetchHandler } from '../../src/deploy/fetch.js';
import {
  createLambdaHandler,
  type ApiGatewayV2Event,
  type ApiGatewayV2Result,
  type LambdaHandler,
} from '../../src/deploy/lambda.js';
import { createServer, parseServeConfig, type LatheServer } from '../../src/serve/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { CNN, tempDir } from './helpers.js';

const NAME = 'fashion-cnn';
const EVENTS = JSON.parse(
  readFileSync(join(process.cwd(), 'test', 'fixtures', 'deploy', 'apigw-v2-events.json'), 'utf8'),
) as Record<string, ApiGatewayV2Event>;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function serverAnswer(server: LatheServer, e: ApiGatewayV2Event): Promise<Answer> {
  const body =
    e.body === undefined ? undefined : e.isBase64Encoded ? Buffer.from(e.body, 'base64').toString('utf8') : e.body;
  const r = await server.app.inject({
    method: e.requestContext.http.method as 'GET' | 'POST',
    url: e.rawPath,
    payload: body,
    headers: body ? { 'content-type': 'application/json' } : {},
  });
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
}

type Outputs = { name: string; datatype: string; shape: number[]; data: number[] }[];
const argmax = (row: number[]): number => row.indexOf(Math.max(...row));

function assertSame(what: string, got: Answer, want: Answer, tolerance: number): void {
  assert.equal(got.status, want.status, `${what}: status (${JSON.stringify(got.body).slice(0, 200)})`);
  if (want.status !== 200) {
    if (want.status === 400) assert.equal(got.body.error, want.body.error, `${what}: the same error message`);
    return;
  }
  if (!('outputs' in want.body)) {
    assert.deepEqual(got.body, want.body, what);
    return;
  }
  const [g, w] = [got.body.outputs as Outputs, want.body.outputs as Outputs];
  assert.deepEqual(
    { ...got.body, outputs: g.map((o) => ({ ...o, data: [] })) },
    { ...want.body, outputs: w.map((o) => ({ ...o, data: [] })) },
    `${what}: names, shapes, ids`,
  );
  const classes = w[0].shape[1];
  for (let r = 0; r < w[0].shape[0]; r++) {
    const [gr, wr] = [g[0].data.slice(r * classes, (r + 1) * classes), w[0].data.slice(r * classes, (r + 1) * classes)];
    assert.equal(argmax(gr), argmax(wr), `${what}: row ${r} class`);
    gr.forEach((v, i) => assert.ok(Math.abs(v - wr[i]) <= tolerance, `${what}: row ${r} logit ${i}: ${v} vs ${wr[i]}`));
  }
}

async function withServer(fn: (s: LatheServer) => Promise<void>): Promise<void> {
  const server = await createServer({
    config: parseServeConfig({
      server: { logLevel: 'silent', readinessDrainMs: 0 },
      models: { [NAME]: { source: CNN, instances: 1, intraOpThreads: 1, warmup: { runs: 1 } } },
    }),
  });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

const parse = (r: ApiGatewayV2Result): Answer => ({
  status: r.statusCode,
  body: JSON.parse(r.isBase64Encoded ? Buffer.from(r.body, 'base64').toString('utf8') : r.body) as Record<
    string,
    unknown
  >,
});

test('Lambda handler: recorded API Gateway v2 events get the server answers; the session is made once', {
  timeout: 60_000,
}, async () => {
  await withServer(async (server) => {
    const handler = createLambdaHandler({ model: CNN, name: NAME });
    const t0 = performance.now();
    const first = await handler(EVENTS.infer);
    const coldMs = performance.now() - t0;
    assert.ok(Number(first.headers['x-lathe-init-ms']) > 0, 'the first answer reports the session creation time');
    assertSame('infer (cold)', parse(first), await serverAnswer(server, EVENTS.infer), 0);
    const t1 = performance.now();
    const warm = await handler(EVENTS.infer);
    const warmMs = performance.now() - t1;
    assert.equal(warm.headers['x-lathe-init-ms'], undefined, 'later answers reuse the session');
    for (const [name, e] of Object.entries(EVENTS))
      assertSame(name, parse(await handler(e)), await serverAnswer(server, e), 0);
    console.log(
      `lambda-cold-start: ${JSON.stringify({ first_event_ms: +coldMs.toFixed(1), session_init_ms: Number(first.headers['x-lathe-init-ms']), warm_event_ms: +warmMs.toFixed(2) })}`,
    );
  });
});

test('the generated Lambda package (index.mjs) loads and answers an event', { timeout: 60_000 }, async () => {
  const out = join(tempDir(), 'lambda');
  await deploy({ model: CNN, target: 'lambda', out, name: NAME });
  mkdirSync(join(out, 'node_modules'));
  symlinkSync(packageRoot(), join(out, 'node_modules', 'lathe'), 'dir'); // stands for `npm install` of the vendored lathe
  const mod = (await import(pathToFileURL(join(out, 'index.mjs')).href)) as { handler: LambdaHandler };
  await withServer(async (server) =>
    assertSame(
      'generated handler',
      parse(await mod.handler(EVENTS.infer)),
      await serverAnswer(server, EVENTS.infer),
      0,
    ),
  );
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')).dependencies, {
    lathe: 'file:./vendor/lathe',
  });
});

test('fetch handler (onnxruntime-web, WASM): the same events as Requests get the server answers', {
  timeout: 120_000,
}, async () => {
  await withServer(async (server) => {
    const handler = createFetchHandler({ model: readFileSync(CNN), name: NAME });
    const request = (e: ApiGatewayV2Event): Request => {
      const body =
        e.body === undefined ? undefined : e.isBase64Encoded ? Buffer.from(e.body, 'base64').toString('utf8') : e.body;
      return new Request(`https://${e.requestContext.domainName ?? 'edge.example'}${e.rawPath}`, {
        method: e.requestContext.http.method,
        body,
        headers: e.headers as Record<string, string>,
      });
    };
    const t0 = performance.now();
    const first = await handler(request(EVENTS.infer));
    const coldMs = performance.now() - t0;
    assertSame(
      'infer (cold)',
      { status: first.status, body: (await first.json()) as Record<string, unknown> },
      await serverAnswer(server, EVENTS.infer),
      1e-4,
    );
    const t1 = performance.now();
    await (await handler(request(EVENTS.infer))).arrayBuffer();
    const warmMs = performance.now() - t1;
    for (const [name, e] of Object.entries(EVENTS)) {
      const r = await handler(request(e));
      assertSame(
        name,
        { status: r.status, body: (await r.json()) as Record<string, unknown> },
        await serverAnswer(server, e),
        1e-4,
      );
    }
    console.log(
      `fetch-cold-start: ${JSON.stringify({ first_request_ms: +coldMs.toFixed(1), session_init_ms: +(handler.initMs() ?? -1).toFixed(1), warm_request_ms: +warmMs.toFixed(2) })}`,
    );
  });
});

test('the fetch handler imports no Node module and no server dependency (it must bundle for edge runtimes)', () => {
  const seen = new Set<string>();
  const bare: string[] = [];
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(import|export)(?! type)[^'"]*from\s+'([^']+)'/gm)) {
      if (m[2].startsWith('.')) walk(join(file, '..', m[2]));
      else bare.push(`${m[2]} (from ${file})`);
    }
  };
  walk(join(process.cwd(), 'dist', 'src', 'deploy', 'fetch.js'));
  assert.ok(seen.size >= 5, `walked ${seen.size} modules`);
  assert.deepEqual(bare, []);
});
