// Property-based fuzz (fast-check): no request, however malformed, gets a status >= 500, and every
// error has an error body. The generators include the three failures an outside check found: a POST
// without body or Content-Type, number literals of 100,000+ digits, and unique unknown model names.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import type { LatheServer } from '../../src/serve/index.js';
import { call, mlpInput, model, repo, startServer } from './helpers.js';

let s: LatheServer;
before(async () => {
  s = await startServer({
    models: {
      mlp: model(join(repo, 'mlp'), { versions: 'latest', batching: { maxBatchSize: 8 } }),
      pair: model(join(repo, 'pair')),
    },
    experiments: {
      ab: {
        variants: [
          { model: 'mlp', weight: 50 },
          { model: 'mlp', weight: 50 },
        ],
      },
    },
  });
});
after(() => s.close());

interface Req {
  readonly url: string;
  readonly payload?: string | Buffer;
  readonly headers: Record<string, string>;
}

const name = fc.oneof(
  { weight: 3, arbitrary: fc.constant('mlp') },
  fc.constantFrom('mlp', 'pair', 'ab', 'nope', 'x', '', '..', '%00', 'mlp%2Finfer'),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const url = fc.oneof(
  { weight: 6, arbitrary: name.map((n) => `/v2/models/${n}/infer`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(name, fc.constantFrom('1', '2', '3', 'latest', '', '-1'))
      .map(([n, v]) => `/v2/models/${n}/versions/${v}/infer`),
  },
  { weight: 1, arbitrary: fc.constant('/predict') },
);
const contentType = fc.option(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/octet-stream',
    'text/plain',
    'application/xml',
    'multipart/form-data',
    '',
  ),
  { nil: undefined },
);

/** A number token: ordinary, extreme, or absurdly long (digits, fraction or exponent). */
const numberToken = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '1e999',
      '-1e999',
      '1e39',
      '-0',
      '1e-400',
      '0.1',
      '3.4028235e38',
      '9007199254740993',
      '0',
      '-1',
      '1.5',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 200_000 }).map((n) => '9'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 200_000 }).map((n) => `1e${'9'.repeat(n)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 50_000 }).map((n) => `0.${'1'.repeat(n)}`) },
);
const dataTokens = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: numberToken },
    { weight: 1, arbitrary: fc.constantFrom('null', 'true', '"a"', '[]', '[1,2]', '{}') },
  ),
  { maxLength: 10 },
);
const datatype = fc.oneof(
  fc.constantFrom('FP32', 'FP64', 'INT64', 'INT32', 'BOOL', 'UINT8', 'FP16', 'BYTES', 'fp32'),
  fc.string({ maxLength: 6 }),
);
const shape = fc.oneof(
  fc.constantFrom('[1,4]', '[2,4]', '[4]', '[1,3]', '[]', '[0,4]', '[-1,4]'),
  fc.array(fc.integer({ min: -3, max: 1e9 }), { maxLength: 5 }).map((a) => JSON.stringify(a)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

/** An OIP request written as text, so raw number tokens survive. */
const oipText = fc
  .record({
    inputs: fc.array(
      fc.record({
        name: fc.oneof(
          fc.constantFrom('"x"', '"a"', '"b"'),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        datatype: datatype.map((d) => JSON.stringify(d)),
        shape,
        data: dataTokens,
        nest: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
    extra: fc.option(
      fc.constantFrom(
        '"outputs":[{"name":"probs"}]',
        '"outputs":[{"name":"nope"}]',
        '"parameters":{"binary_data_output":true}',
        '"id":"r1"',
        '"parameters":{"key":"u1"}',
        '"outputs":"probs"',
      ),
      { nil: undefined },
    ),
  })
  .map(({ inputs, extra }) => {
    const list = inputs.map(
      (i) =>
        `{"name":${i.name},"datatype":${i.datatype},"shape":${i.shape},"data":${i.nest ? `[[${i.data.join(',')}]]` : `[${i.data.join(',')}]`}}`,
    );
    return `{${extra ? extra + ',' : ''}"inputs":[${list.join(',')}]}`;
  });

const binaryBody = fc
  .record({
    size: fc.oneof(fc.constantFrom(16, 12, 0, -4), fc.jsonValue()),
    dt: fc.constantFrom('FP32', 'INT32', 'BOOL', 'FP64'),
    tail: fc.uint8Array({ maxLength: 40 }),
    lie: fc.integer({ min: -3, max: 3 }),
    raw: fc.option(fc.constantFrom('x', '', '-1', '1e2', ' 7', '99999999999999999'), { nil: undefined }),
  })
  .map(({ size, dt, tail, lie, raw }): Req => {
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'x', datatype: dt, shape: [1, 4], parameters: { binary_data_size: size } }] }),
    );
    return {
      url: '/v2/models/mlp/infer',
      payload: Buffer.concat([header, tail]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': raw ?? String(header.length + lie),
      },
    };
  });

const typeHeader = (ct: string | undefined): Record<string, string> => (ct === undefined ? {} : { 'content-type': ct });

/** Near-valid: the mlp's one input with four number tokens, some extreme. */
const nearValid = fc
  .tuple(
    fc.array(numberToken, { minLength: 4, maxLength: 4 }),
    fc.constantFrom('/v2/models/mlp/infer', '/v2/models/ab/infer', '/v2/models/mlp/versions/2/infer'),
  )
  .map(
    ([d, u]): Req => ({
      url: u,
      payload: `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[${d.join(',')}]}]}`,
      headers: { 'content-type': 'application/json' },
    }),
  );

const request: fc.Arbitrary<Req> = fc.oneof(
  { weight: 2, arbitrary: nearValid },
  {
    weight: 5,
    arbitrary: fc
      .tuple(url, contentType, oipText)
      .map(([u, ct, body]) => ({ url: u, payload: body, headers: typeHeader(ct) })),
  },
  { weight: 1, arbitrary: fc.tuple(url, contentType).map(([u, ct]) => ({ url: u, headers: typeHeader(ct) })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        url,
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
      )
      .map(([u, body]) => ({ url: u, payload: body, headers: { 'content-type': 'application/json' } })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 100_000 }).map((n) => ({
      url: '/v2/models/mlp/infer',
      payload: `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":${'['.repeat(n)}${']'.repeat(n)}}]}`,
      headers: { 'content-type': 'application/json' },
    })),
  },
  { weight: 1, arbitrary: binaryBody },
  {
    weight: 1,
    arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((n) => ({
      url: `/v2/models/u-${encodeURIComponent(n)}/infer`,
      payload: JSON.stringify(mlpInput([[1, 2, 3, 4]])),
      headers: { 'content-type': 'application/json' },
    })),
  },
);

it('20,000 generated requests: none gets a status >= 500, every error has an error body', async () => {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async (q) => {
      const r = await s.app.inject({ method: 'POST', url: q.url, payload: q.payload, headers: q.headers });
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode >= 500) return false;
      if (r.statusCode >= 400) return typeof (JSON.parse(r.body) as { error?: unknown }).error === 'string';
      return true;
    }),
    { numRuns: 20_000, seed: 14, endOnFailure: true },
  );
  // the generators reach every kind of answer: accepted, refused, unknown, unsupported type
  for (const code of [200, 400, 404, 415])
    assert.ok((statuses.get(code) ?? 0) > 0, `no ${code} among ${JSON.stringify([...statuses])}`);
  assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 200);
  assert.equal((await call(s, 'POST', '/v2/models/mlp/infer', mlpInput([[1, 2, 3, 4]]))).status, 200);
  const text = await s.metrics.registry.metrics();
  assert.ok(!text.includes('model="u-'), 'unknown names became metric labels');
});
