// Fallback chain: a model that throws or hangs is answered by the next step, and both are counted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LatheServer } from '../../src/serve/index.js';
import { call, metric, model, repo, startServer } from './helpers.js';

let s: LatheServer;
before(async () => {
  s = await startServer({
    models: {
      faulty: model(join(repo, 'faulty'), {
        fallback: [
          { model: 'mlp' },
          { response: { outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1, 4], data: [-1, -1, -1, -1] }] } },
        ],
      }),
      slow: model(join(repo, 'slow'), {
        timeoutMs: 100,
        batching: { maxBatchSize: 1 },
        fallback: [{ model: 'slow2' }],
      }),
      slow2: model(join(repo, 'slow')),
      mlp: model(join(repo, 'mlp'), { versions: 'latest' }),
    },
  });
});
after(() => s.close());

const idx = (i: number) => ({ inputs: [{ name: 'idx', datatype: 'INT64', shape: [1, 1], data: [i] }] });

describe('fallback chain', () => {
  it('serves a working model directly, without fallback', async () => {
    const r = await call(s, 'POST', '/v2/models/faulty/infer', idx(2));
    assert.equal(r.status, 200);
    assert.deepEqual((r.body.outputs as { data: number[] }[])[0].data, [8, 9, 10, 11]);
    assert.equal(r.headers['x-lathe-fallback'], undefined);
  });

  it('a model that throws falls back past an incompatible model to the default response, counted', async () => {
    const r = await call(s, 'POST', '/v2/models/faulty/infer', idx(100));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers['x-lathe-fallback'], 'default-response');
    assert.deepEqual(r.body.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 1, 4], data: [-1, -1, -1, -1] }]);
    assert.equal(
      await metric(s, 'lathe_fallbacks_total', { model: 'faulty', to: 'default-response', reason: 'error' }),
      1,
    );
    assert.equal(await metric(s, 'lathe_inference_failures_total', { model: 'faulty', reason: 'error' }), 1);
  });

  it('a model that hangs past its timeout is answered by the next model, counted', async () => {
    // 400k loop steps take ~0.6 s here (60k took only ~95 ms, under the old 150 ms timeout): well past the 100 ms deadline.
    const body = {
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0.1) },
        { name: 'steps', datatype: 'INT64', shape: [1], data: [400_000] },
      ],
    };
    const r = await call(s, 'POST', '/v2/models/slow/infer', body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers['x-lathe-fallback'], 'slow2/latest');
    assert.equal(r.body.model_name, 'slow2');
    assert.equal(await metric(s, 'lathe_fallbacks_total', { model: 'slow', to: 'slow2/latest', reason: 'timeout' }), 1);
    assert.equal(await metric(s, 'lathe_inference_failures_total', { model: 'slow', reason: 'timeout' }), 1);
  });

  it("a failure with no fallback left is a 500 whose error body does not leak ORT's message", async () => {
    const t = await startServer({ models: { faulty: model(join(repo, 'faulty')) } });
    try {
      const r = await call(t, 'POST', '/v2/models/faulty/infer', idx(-50));
      assert.equal(r.status, 500);
      assert.match(String(r.body.error), /model 'faulty' version 1 failed to run this request/);
      assert.doesNotMatch(String(r.body.error), /Gather|node|indices/i);
      assert.equal(await metric(t, 'lathe_request_failures_total', { model: 'faulty', code: '500' }), 1);
    } finally {
      await t.close();
    }
  });
});
