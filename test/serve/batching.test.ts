// Dynamic batching, shape compatibility, backpressure (503 + Retry-After) and timeouts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { LatheServer } from '../../src/serve/index.js';
import { call, metric, mlpInput, model, repo, startServer } from './helpers.js';

let s: LatheServer;
before(async () => {
  s = await startServer({
    models: {
      mlp: model(join(repo, 'mlp'), { versions: ['1'], batching: { maxBatchSize: 16 } }),
      seqmean: model(join(repo, 'seqmean'), { batching: { maxBatchSize: 64 } }),
      slow: model(join(repo, 'slow'), {
        timeoutMs: 60_000,
        inflight: 1,
        batching: { maxBatchSize: 1, maxQueueSize: 2 },
      }),
      slow2: model(join(repo, 'slow'), {
        timeoutMs: 60_000,
        inflight: 2,
        batching: { maxBatchSize: 1, maxQueueSize: 8 },
      }),
    },
  });
});
after(() => s.close());

const slowBody = (steps: number) => ({
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0.5) },
    { name: 'steps', datatype: 'INT64', shape: [1], data: [steps] },
  ],
});

describe('dynamic batching', () => {
  it('batches concurrent requests into fewer session runs and splits results row by row', async () => {
    const before = await metric(s, 'lathe_batch_size_count', { model: 'mlp' });
    const rows = Array.from({ length: 48 }, (_, i) => [i / 10, -i / 20, 1, i % 3]);
    const replies = await Promise.all(rows.map((r) => call(s, 'POST', '/v2/models/mlp/infer', mlpInput([r]))));
    const runs = (await metric(s, 'lathe_batch_size_count', { model: 'mlp' })) - before;
    assert.ok(runs < 48, `48 requests took ${runs} session runs`);
    assert.ok(runs >= 3, `max batch 16 needs at least 3 runs for 48 rows, saw ${runs}`);
    const session = await ort.InferenceSession.create(join(repo, 'mlp', '1', 'model.onnx'));
    const ref = (await session.run({ x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [48, 4]) })).probs
      .data as Float32Array;
    replies.forEach((r, i) => {
      assert.equal(r.status, 200);
      const got = (r.body.outputs as { data: number[]; shape: number[] }[])[0];
      assert.deepEqual(got.shape, [1, 3]);
      got.data.forEach((v, j) => assert.ok(Math.abs(v - ref[i * 3 + j]) < 1e-6, `row ${i}`));
    });
  });

  it('never stacks requests whose non-batch dimensions differ', async () => {
    const req = (seq: number, v: number) => ({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, seq, 4],
          data: Array.from({ length: seq * 4 }, (_, k) => v + (k % 4)),
        },
      ],
    });
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(s, 'POST', '/v2/models/seqmean/infer', req(i % 2 ? 3 : 5, i))),
    );
    replies.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual((r.body.outputs as { data: number[] }[])[0].data, [i, i + 1, i + 2, i + 3]);
    });
  });
});

describe('backpressure and timeouts', () => {
  it('answers 503 with Retry-After when the queue is full, and recovers', async () => {
    // One instance, batch 1, queue of 2: a long run occupies the instance, two wait, the rest are refused.
    const batcher = s.repository.get('slow').batcher;
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 2));
    };
    const busy = call(s, 'POST', '/v2/models/slow/infer', slowBody(150_000));
    await until(() => batcher.pending === 1 && batcher.depth === 0);
    const queued = [
      call(s, 'POST', '/v2/models/slow/infer', slowBody(1)),
      call(s, 'POST', '/v2/models/slow/infer', slowBody(1)),
    ];
    await until(() => batcher.depth === 2);
    const refused = await Promise.all([1, 2, 3].map(() => call(s, 'POST', '/v2/models/slow/infer', slowBody(1))));
    for (const r of refused) {
      assert.equal(r.status, 503);
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.match(String(r.body.error), /queue holds 2 requests/);
    }
    // Refused before its body is read: a body that would not even parse still gets the 503 (not a 400).
    const unread = await call(s, 'POST', '/v2/models/slow/infer', '{"inputs": [ not json', {
      'content-type': 'application/json',
    });
    assert.equal(unread.status, 503);
    assert.equal((await busy).status, 200);
    for (const q of await Promise.all(queued)) assert.equal(q.status, 200);
    assert.equal((await call(s, 'POST', '/v2/models/slow/infer', slowBody(1))).status, 200);
    assert.ok((await metric(s, 'lathe_request_failures_total', { model: 'slow', code: '503' })) >= 3);
  });

  it('with inflight 2 an instance holds the next batch while one runs; the rest queue; all are answered', async () => {
    const batcher = s.repository.get('slow2').batcher;
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 2));
    };
    const running = call(s, 'POST', '/v2/models/slow2/infer', slowBody(400_000)); // ~0.6 s here
    await until(() => batcher.pending === 1);
    const next = call(s, 'POST', '/v2/models/slow2/infer', slowBody(1));
    await until(() => batcher.pending === 2);
    assert.equal(batcher.depth, 0, 'the second batch went to the worker, not the queue');
    const queued = call(s, 'POST', '/v2/models/slow2/infer', slowBody(1));
    await until(() => batcher.pending === 3);
    assert.equal(batcher.depth, 1, 'a third waits in the batcher');
    for (const r of await Promise.all([running, next, queued])) assert.equal(r.status, 200);
    assert.equal(batcher.pending, 0);
  });

  it('times out a request that waits too long (504 without a fallback) and counts it', async () => {
    const t = await startServer({
      models: { slow: model(join(repo, 'slow'), { timeoutMs: 100, batching: { maxBatchSize: 1 } }) },
    });
    try {
      const r = await call(t, 'POST', '/v2/models/slow/infer', slowBody(100_000));
      assert.equal(r.status, 504);
      assert.match(String(r.body.error), /did not answer within 100 ms/);
      assert.equal(await metric(t, 'lathe_inference_failures_total', { model: 'slow', reason: 'timeout' }), 1);
    } finally {
      await t.close();
    }
  });
});
