// The route plugins and the batcher's admission, each on its own: a bare fastify instance and a
// context of stubs, no model loaded (Hono-style in-process tests).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { pino } from 'pino';
import { DynamicBatcher, Lifecycle, ModelRepository, parseServeConfig, ServeMetrics } from '../../src/serve/index.js';
import type { InstancePool } from '../../src/serve/pool.js';
import { adminRoutes } from '../../src/serve/routes/admin.js';
import type { ServeContext } from '../../src/serve/routes/context.js';
import { healthRoutes } from '../../src/serve/routes/health.js';
import { metricsRoute } from '../../src/serve/routes/metrics.js';

function context(adminToken?: string): ServeContext {
  const repository = new ModelRepository();
  return {
    config: parseServeConfig({ server: { adminToken, logLevel: 'silent' } }),
    repository,
    metrics: new ServeMetrics({ depths: () => [], caches: () => [] }, { processMetrics: false }),
    lifecycle: new Lifecycle(),
    log: pino({ level: 'silent' }),
    service: undefined,
  };
}

describe('route plugins in process', () => {
  it('health: live at once; ready follows the lifecycle; metadata is 503 until models are loaded', async () => {
    const ctx = context();
    const app = Fastify();
    await app.register(healthRoutes(ctx));
    assert.equal((await app.inject({ url: '/v2/health/live' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/v2/health/ready' })).statusCode, 400);
    assert.equal((await app.inject({ url: '/v2/models/x' })).statusCode, 503);
    ctx.lifecycle.phase = 'serving';
    assert.equal((await app.inject({ url: '/v2/health/ready' })).statusCode, 400, 'no service yet: not ready');
    const withService = { ...ctx, service: {} as ServeContext['service'] } as ServeContext;
    const app2 = Fastify();
    await app2.register(healthRoutes(withService));
    assert.equal((await app2.inject({ url: '/v2/health/ready' })).statusCode, 200);
    withService.lifecycle.phase = 'unready';
    assert.equal((await app2.inject({ url: '/v2/health/ready' })).statusCode, 400);
  });

  it('metrics: the registry as Prometheus text', async () => {
    const ctx = context();
    ctx.metrics.requests.labels('m', '1', '200', 'rest').inc();
    const app = Fastify();
    await app.register(metricsRoute(ctx));
    const r = await app.inject({ url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /lathe_requests_total\{model="m",version="1",code="200",protocol="rest"\} 1/);
  });

  it('admin: 401 without the bearer token, the index with it', async () => {
    const app = Fastify();
    await app.register(adminRoutes(context('secret-token-1'), 'secret-token-1'));
    assert.equal((await app.inject({ method: 'POST', url: '/v2/repository/index' })).statusCode, 401);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/v2/repository/index',
          headers: { authorization: 'Bearer wrong-token-1' },
        })
      ).statusCode,
      401,
    );
    const ok = await app.inject({
      method: 'POST',
      url: '/v2/repository/index',
      headers: { authorization: 'Bearer secret-token-1' },
    });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(JSON.parse(ok.body), []);
  });
});

describe('batcher admission', () => {
  it('refuses when the queue is full, with Retry-After from the queue drain time (not always 1)', () => {
    // A pool with no free instance: everything queues. 5 ms per run (the initial estimate), one request per run.
    const pool = { size: 1, idle: 0, onIdle: () => undefined } as unknown as InstancePool;
    const sig = {
      inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 1] }],
      outputs: [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 1] }],
      batchable: true,
    };
    const b = new DynamicBatcher('m/1', sig, pool, {
      maxBatchSize: 1,
      maxQueueDelayMs: 0,
      preferredBatchSizes: [],
      maxQueueSize: 1000,
    });
    const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 1], data: new Float32Array(1) };
    assert.equal(b.refusal(), undefined);
    for (let i = 0; i < 1000; i++) void b.submit([x], 0).catch(() => undefined);
    const refused = b.refusal();
    assert.ok(refused, 'a full queue refuses');
    assert.equal(refused.status, 503);
    assert.equal(b.drainEstimateMs(), 5000);
    assert.equal(refused.retryAfterS, 5);
  });
});
