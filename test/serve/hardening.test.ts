// The failures an outside check found (issue 14), each against a server as the docs start it, in process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LatheServer } from '../../src/serve/index.js';
import { call, mlpInput, model, repo, startServer } from './helpers.js';

let s: LatheServer;
before(async () => {
  s = await startServer({
    models: {
      mlp: model(join(repo, 'mlp'), { versions: 'latest' }),
      lenient: model(join(repo, 'mlp'), { versions: 'latest', allowNonFinite: true }),
    },
  });
});
after(() => s.close());

const post = (url: string, payload: string | undefined, headers: Record<string, string> = {}) =>
  s.app.inject({ method: 'POST', url, payload, headers });
const errorOf = (body: string): string => String((JSON.parse(body) as { error?: unknown }).error);

describe('a POST without a body', () => {
  it('is a 400 that says the body is missing, on every infer route, for known and unknown models', async () => {
    for (const url of [
      '/v2/models/mlp/infer',
      '/v2/models/mlp/versions/2/infer',
      '/v2/models/nope/infer',
      '/predict',
    ]) {
      const r = await post(url, undefined);
      if (url.includes('nope')) {
        assert.equal(r.statusCode, 404, url);
        continue;
      }
      assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
      assert.match(errorOf(r.body), /no body/);
    }
  });

  it('a body in text/plain is a 415, as the docs say', async () => {
    const r = await post('/v2/models/mlp/infer', JSON.stringify(mlpInput([[1, 2, 3, 4]])), {
      'content-type': 'text/plain',
    });
    assert.equal(r.statusCode, 415, r.body);
    assert.equal((await post('/predict', '{"inputs": [[1,2,3,4]]}', { 'content-type': 'text/plain' })).statusCode, 415);
  });
});

describe('huge number literals', () => {
  const digits = (n: number): string => '9'.repeat(n);
  const bodies: [string, string][] = [
    [
      'a 120,000-digit number in data',
      `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[${digits(120_000)},1,2,3]}]}`,
    ],
    [
      'a 200,000-digit exponent',
      `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1e${digits(200_000)},1,2,3]}]}`,
    ],
    [
      'a huge number beside a string (the JSON parser path)',
      `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":["a",${digits(150_000)},2,3]}]}`,
    ],
    [
      'a huge number outside data',
      `{"id":"a","parameters":{"n":${digits(130_000)}},"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[0,1,2,3]}]}`,
    ],
    [
      'a huge number in an unterminated body',
      `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[${digits(130_000)}, "`,
    ],
  ];
  for (const [what, body] of bodies) {
    it(`${what} is a 400 naming the limit`, async () => {
      const r = await post('/v2/models/mlp/infer', body, { 'content-type': 'application/json' });
      assert.equal(r.statusCode, 400, r.body.slice(0, 200));
      assert.match(errorOf(r.body), /limited to 256 characters/);
    });
  }

  it('deeply nested arrays are a 400, not a stack overflow', async () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const r = await post(
      '/v2/models/mlp/infer',
      `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":${deep}}]}`,
      { 'content-type': 'application/json' },
    );
    assert.equal(r.statusCode, 400, r.body.slice(0, 200));
  });
});

describe('non-finite numbers', () => {
  it('1e999 and values beyond FP32 are refused unless the model allows them', async () => {
    for (const v of ['1e999', '-1e999', '1e39']) {
      const r = await post(
        '/v2/models/mlp/infer',
        `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[${v},1,2,3]}]}`,
        { 'content-type': 'application/json' },
      );
      assert.equal(r.statusCode, 400, r.body);
      assert.match(errorOf(r.body), /element 0 is -?Infinity.*finite numbers/);
    }
    const nan = new Float32Array([NaN, 1, 2, 3]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }],
      }),
    );
    const bin = await s.app.inject({
      method: 'POST',
      url: '/v2/models/mlp/infer',
      payload: Buffer.concat([header, Buffer.from(nan.buffer)]),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    });
    assert.equal(bin.statusCode, 400, bin.body);
    assert.match(errorOf(bin.body), /element 0 is NaN/);
  });

  it('a model that allows them runs; an output JSON cannot carry is a 422, never null', async () => {
    const body = `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1e999,1,2,3]}]}`;
    const r = await post('/v2/models/lenient/infer', body, { 'content-type': 'application/json' });
    assert.ok(r.statusCode === 200 || r.statusCode === 422, r.body);
    assert.ok(!r.body.includes('null'), r.body);
    if (r.statusCode === 422) assert.match(errorOf(r.body), /binary/);
    const bin = await post('/v2/models/lenient/infer', `{"parameters":{"binary_data_output":true},${body.slice(1)}`, {
      'content-type': 'application/json',
    });
    assert.equal(bin.statusCode, 200, bin.body);
  });
});

describe('metrics', () => {
  it('20,000 POSTs to unknown names leave /metrics bounded: they share one _unknown series', async () => {
    await call(s, 'POST', '/v2/models/mlp/infer', mlpInput([[1, 2, 3, 4]]));
    await call(s, 'POST', '/v2/models/nope/infer', mlpInput([[1, 2, 3, 4]]));
    const before = (await call(s, 'GET', '/metrics')).body.raw as string;
    const n = 20_000;
    for (let i = 0; i < n; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, k) =>
          post(`/v2/models/m-${i + k}-x/infer`, '{"inputs":[]}', { 'content-type': 'application/json' }),
        ),
      );
    }
    const text = (await call(s, 'GET', '/metrics')).body.raw as string;
    assert.ok(!text.includes('m-19999-x'), 'an unknown name became a label value');
    const unknown = text
      .split('\n')
      .find((l) => l.startsWith('lathe_requests_total{') && l.includes('model="_unknown"') && l.includes('code="404"'));
    assert.ok(unknown && Number(unknown.slice(unknown.lastIndexOf(' ') + 1)) >= n, unknown);
    // the same series, only their values (and the process metrics) changed
    assert.ok(text.length < before.length * 1.2 + 2048, `/metrics grew from ${before.length} to ${text.length} bytes`);
  });

  it('exports the default process and Node.js metrics', async () => {
    const text = (await call(s, 'GET', '/metrics')).body.raw as string;
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
    ]) {
      assert.ok(text.includes(name), `${name} is missing`);
    }
  });

  it('bounds the values of each label by configuration (maxLabelValues)', async () => {
    const t = await startServer({
      server: { maxLabelValues: 1 },
      models: {
        a: model(join(repo, 'mlp'), { versions: 'latest' }),
        b: model(join(repo, 'mlp'), { versions: 'latest' }),
      },
    });
    try {
      for (const m of ['a', 'b', 'a', 'b'])
        assert.equal((await call(t, 'POST', `/v2/models/${m}/infer`, mlpInput([[1, 2, 3, 4]]))).status, 200);
      const text = await t.metrics.registry.metrics();
      const series = text.split('\n').filter((l) => l.startsWith('lathe_requests_total{'));
      assert.equal(series.length, 2, series.join('\n'));
      assert.ok(
        series.some((l) => l.includes('model="_other"')),
        series.join('\n'),
      );
    } finally {
      await t.close();
    }
  });
});
