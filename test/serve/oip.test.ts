// Open Inference Protocol v2 conformance of every endpoint, in process (fastify inject).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { LatheServer } from '../../src/serve/index.js';
import { call, metric, mlpInput, model, repo, startServer } from './helpers.js';

const TOKEN = 'secret-token-123';
let s: LatheServer;

before(async () => {
  s = await startServer({
    server: { adminToken: TOKEN },
    models: { mlp: model(join(repo, 'mlp')), pair: model(join(repo, 'pair')) },
  });
});
after(() => s.close());

async function reference(path: string, x: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x.flat()), [x.length, 4]) });
  return out.probs.data as Float32Array;
}

describe('health and server metadata', () => {
  it('live, ready and server metadata', async () => {
    assert.deepEqual((await call(s, 'GET', '/v2/health/live')).body, { live: true });
    const ready = await call(s, 'GET', '/v2/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true });
    const meta = await call(s, 'GET', '/v2');
    assert.equal(meta.body.name, 'lathe');
    assert.ok(typeof meta.body.version === 'string');
    assert.deepEqual(meta.body.extensions, ['binary_tensor_data', 'model_repository']);
  });
});

describe('model metadata and readiness', () => {
  it('describes inputs and outputs from the ONNX signature', async () => {
    const r = await call(s, 'GET', '/v2/models/pair');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      name: 'pair',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [-1, 3] },
        { name: 'b', datatype: 'INT64', shape: [-1, 3] },
      ],
      outputs: [
        { name: 'sum', datatype: 'FP32', shape: [-1, 3] },
        { name: 'prod', datatype: 'FP32', shape: [-1, 3] },
      ],
    });
    const v = await call(s, 'GET', '/v2/models/mlp/versions/1');
    assert.equal(v.status, 200);
    assert.deepEqual(v.body.versions, ['1', '2']);
  });

  it('reports per-model and per-version readiness; unknown models are 404 with an error body', async () => {
    assert.deepEqual((await call(s, 'GET', '/v2/models/mlp/ready')).body, { name: 'mlp', ready: true });
    assert.equal((await call(s, 'GET', '/v2/models/mlp/versions/2/ready')).status, 200);
    const missing = await call(s, 'GET', '/v2/models/nope/ready');
    assert.equal(missing.status, 404);
    assert.match(String(missing.body.error), /nope/);
    const badVersion = await call(s, 'GET', '/v2/models/mlp/versions/9');
    assert.equal(badVersion.status, 404);
    assert.match(String(badVersion.body.error), /version '9'/);
  });
});

describe('infer', () => {
  it('answers with the latest version by default and a given version on request; values match bare ORT', async () => {
    const x = [
      [0.1, 0.2, 0.3, 0.4],
      [1, -1, 2, -2],
    ];
    const latest = await call(s, 'POST', '/v2/models/mlp/infer', { id: 'r1', ...mlpInput(x) });
    assert.equal(latest.status, 200);
    assert.equal(latest.body.model_name, 'mlp');
    assert.equal(latest.body.model_version, '2');
    assert.equal(latest.body.id, 'r1');
    const [out] = latest.body.outputs as { name: string; datatype: string; shape: number[]; data: number[] }[];
    assert.deepEqual(
      { name: out.name, datatype: out.datatype, shape: out.shape },
      { name: 'probs', datatype: 'FP32', shape: [2, 3] },
    );
    assert.deepEqual(out.data, Array.from(await reference(join(repo, 'mlp', '2', 'model.onnx'), x)));
    const v1 = await call(s, 'POST', '/v2/models/mlp/versions/1/infer', mlpInput(x));
    assert.equal(v1.body.model_version, '1');
    assert.deepEqual(
      (v1.body.outputs as { data: number[] }[])[0].data,
      Array.from(await reference(join(repo, 'mlp', '1', 'model.onnx'), x)),
    );
  });

  it('accepts nested row-major data, several inputs of different datatypes and an output selection', async () => {
    const r = await call(s, 'POST', '/v2/models/pair/infer', {
      inputs: [
        {
          name: 'b',
          datatype: 'INT64',
          shape: [2, 3],
          data: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        },
        { name: 'a', datatype: 'FP32', shape: [2, 3], data: [0.5, 0.5, 0.5, 1, 1, 1] },
      ],
      outputs: [{ name: 'prod' }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.outputs, [{ name: 'prod', datatype: 'FP32', shape: [2, 3], data: [0.5, 1, 1.5, 4, 5, 6] }]);
  });

  it('rejects bad requests with a 400 that names what is wrong', async () => {
    const cases: [unknown, RegExp][] = [
      [{ inputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }, /no input 'y'.*x/],
      [
        { inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }] },
        /datatype INT32.*expects FP32/,
      ],
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] }, /dimension 1 must be 4/],
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3] }] }, /3 elements.*needs 4/],
      [
        { inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 4], data: [1, 2, 3, 4] }] },
        /datatype "FP16" is not one of/,
      ],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 'a', 4] }] },
        /element 2 is the string "a"/,
      ],
      [{ inputs: [] }, /"inputs" must be a non-empty array/],
      [
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }], outputs: [{ name: 'zzz' }] },
        /no output 'zzz'/,
      ],
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 4], data: [] }] }, /empty batch/],
    ];
    for (const [payload, pattern] of cases) {
      const r = await call(s, 'POST', '/v2/models/mlp/infer', payload);
      assert.equal(r.status, 400, JSON.stringify(payload));
      assert.match(String(r.body.error), pattern);
    }
    const missing = await call(s, 'POST', '/v2/models/pair/infer', {
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
    });
    assert.equal(missing.status, 400);
    assert.match(String(missing.body.error), /input 'b' is missing/);
    const intRange = await call(s, 'POST', '/v2/models/pair/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] },
        { name: 'b', datatype: 'INT64', shape: [1, 3], data: [1, 2.5, 3] },
      ],
    });
    assert.match(String(intRange.body.error), /expected an integer for INT64/);
    const notJson = await s.app.inject({
      method: 'POST',
      url: '/v2/models/mlp/infer',
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs": [',
    });
    assert.equal(notJson.statusCode, 400);
    assert.ok(JSON.parse(notJson.body).error);
    assert.equal((await call(s, 'POST', '/v2/models/nope/infer', mlpInput([[1, 2, 3, 4]]))).status, 404);
  });

  it('rejects bodies over the size limit with 413', async () => {
    const small = await startServer({
      server: { bodyLimitBytes: 1000 },
      models: { mlp: model(join(repo, 'mlp'), { versions: 'latest' }) },
    });
    try {
      const rows = Array.from({ length: 100 }, () => [0.25, 0.5, 0.75, 1]);
      const r = await call(small, 'POST', '/v2/models/mlp/infer', mlpInput(rows));
      assert.equal(r.status, 413);
      assert.ok(r.body.error);
    } finally {
      await small.close();
    }
  });
});

describe('/predict, /metrics, request ids and admin', () => {
  it('/predict takes nested arrays and answers nested arrays', async () => {
    const r = await call(s, 'POST', '/predict', { model: 'pair', inputs: { a: [[1, 2, 3]], b: [[2, 2, 2]] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { model: 'pair', version: '1', outputs: { sum: [[3, 4, 5]], prod: [[2, 4, 6]] } });
    const one = await call(s, 'POST', '/predict', { model: 'mlp', version: '1', inputs: [[1, 2, 3, 4]] });
    assert.equal(one.status, 200);
    assert.equal((one.body.outputs as { probs: number[][] }).probs[0].length, 3);
    const bad = await call(s, 'POST', '/predict', { model: 'pair', inputs: [[1, 2, 3]] });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /takes 2 inputs/);
  });

  it('echoes or assigns request ids and counts requests by model, version and code', async () => {
    const r = await call(s, 'POST', '/v2/models/mlp/versions/1/infer', mlpInput([[1, 1, 1, 1]]), {
      'x-request-id': 'abc-123',
    });
    assert.equal(r.headers['x-request-id'], 'abc-123');
    assert.ok((await call(s, 'GET', '/v2/health/live')).headers['x-request-id']);
    assert.ok((await metric(s, 'lathe_requests_total', { model: 'mlp', version: '1', code: '200' })) >= 1);
    assert.ok((await metric(s, 'lathe_request_failures_total', { model: 'mlp', code: '400' })) >= 1);
    const text = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const name of [
      'lathe_request_duration_seconds_bucket',
      'lathe_queue_duration_seconds_bucket',
      'lathe_batch_size_bucket',
      'lathe_queue_depth',
      'lathe_fallbacks_total',
    ]) {
      assert.ok(text.includes(name), name);
    }
  });

  it('guards admin endpoints with the bearer token; index lists loaded versions', async () => {
    assert.equal((await call(s, 'POST', '/v2/repository/index')).status, 401);
    assert.equal(
      (await call(s, 'POST', '/v2/repository/index', undefined, { authorization: 'Bearer wrong' })).status,
      401,
    );
    const r = await s.app.inject({
      method: 'POST',
      url: '/v2/repository/index',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(r.statusCode, 200);
    const index = JSON.parse(r.body) as { name: string; version: string; state: string }[];
    assert.deepEqual(index.map((e) => `${e.name}/${e.version}:${e.state}`).sort(), [
      'mlp/1:READY',
      'mlp/2:READY',
      'pair/1:READY',
    ]);
  });

  it('admin load adds a model and unload removes it', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const load = await call(s, 'POST', '/v2/repository/models/seq/load', { source: join(repo, 'seqmean') }, auth);
    assert.equal(load.status, 200, JSON.stringify(load.body));
    assert.deepEqual(load.body, { name: 'seq', versions: ['1'] });
    assert.equal((await call(s, 'GET', '/v2/models/seq/ready')).status, 200);
    const unload = await call(s, 'POST', '/v2/repository/models/seq/unload', undefined, auth);
    assert.equal(unload.status, 200);
    assert.equal((await call(s, 'GET', '/v2/models/seq')).status, 404);
  });
});
