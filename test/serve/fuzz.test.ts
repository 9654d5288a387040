// Fuzz: 10,000 malformed requests (seeded generator) all get a 4xx with an error body and leave the server healthy.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LatheServer } from '../../src/serve/index.js';
import { call, mlpInput, model, repo, startServer } from './helpers.js';

let s: LatheServer;
before(async () => {
  s = await startServer({
    models: {
      mlp: model(join(repo, 'mlp'), { versions: 'latest', batching: { maxBatchSize: 8 } }),
      pair: model(join(repo, 'pair')),
    },
  });
});
after(() => s.close());

/** mulberry32: a small seeded PRNG so every run sends the same requests. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Req = { url: string; payload: string | Buffer; contentType: string; headerLength?: string };

function generator(seed: number): () => Req {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const junk = (): unknown => pick<unknown>([null, 'xx', -1, 1.5, true, {}, [], [[[]]], { a: 1 }, '1', 0, [null]]);
  const good = () => ({ name: 'x', datatype: 'FP32', shape: [1, 4] as unknown, data: [0.1, 0.2, 0.3, 0.4] as unknown });
  const mutations: (() => unknown)[] = [
    () => ({ inputs: [{ ...good(), name: pick(['y', '', 'X', 'x ', 'probs']) }] }),
    () => ({ inputs: [{ ...good(), name: junk() }] }),
    () => ({
      inputs: [
        {
          ...good(),
          datatype: pick(['FP16', 'BF16', 'BYTES', 'fp32', 'INT32', 'INT64', 'UINT8', 'BOOL', '', 'FLOAT']),
        },
      ],
    }),
    () => ({ inputs: [{ ...good(), datatype: junk() }] }),
    () => ({
      inputs: [
        {
          ...good(),
          shape: pick<unknown>([
            [4],
            [1, 5],
            [2, 4],
            [1, 4, 1],
            [-1, 4],
            [1.5, 4],
            [],
            '1,4',
            [1, '4'],
            [1, null],
            [0, 4],
          ]),
        },
      ],
    }),
    () => ({
      inputs: [
        {
          ...good(),
          data: pick<unknown>([
            [],
            [1, 2, 3],
            [1, 2, 3, 4, 5],
            ['a', 2, 3, 4],
            [null, 1, 2, 3],
            [
              [1, 2],
              [3, [4]],
            ],
            [[[[1, 2, 3, 4]]]],
            'data',
            { 0: 1 },
            [true, 1, 2, 3],
          ]),
        },
      ],
    }),
    () => ({ inputs: [{ ...good(), shape: [9, 4], data: new Array(36).fill(0.5) }] }),
    () => ({ inputs: [good(), good()] }),
    () => ({ inputs: [{ ...good() }], outputs: pick<unknown>([[{ name: 'nope' }], [{}], 'probs', [null]]) }),
    () => ({ inputs: [{ ...good() }], id: pick<unknown>([1, null, {}, []]) }),
    () => ({ inputs: [{ ...good() }], parameters: pick<unknown>([1, 'p', [], null]) }),
    () => ({ inputs: pick<unknown>([undefined, null, {}, [], 'x', 3, [null], [1, 2]]) }),
    () => pick<unknown>([null, [], 0, 'inputs', true, { input: [] }, { Inputs: [] }]),
    () => ({
      __pairs: true,
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] },
        { name: 'b', datatype: 'INT64', shape: [1, 3], data: [1, pick([2.5, 1e20, -1e20, 'b', null]), 3] },
      ],
    }),
  ];
  // Binary tensor data extension: a JSON header, raw bytes, and a header length that may lie.
  const binary = (): Req => {
    const size = pick<unknown>([16, 16, 16, 12, 20, 0, -4, '16', null, 1e9]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'x',
            datatype: pick(['FP32', 'FP32', 'INT32', 'BOOL', 'FP64']),
            shape: pick<unknown>([[1, 4], [1, 4], [2, 4], [4]]),
            parameters: { binary_data_size: size },
          },
        ],
      }),
    );
    const tail = Buffer.alloc(pick([0, 8, 16, 16, 17, 32]), Math.floor(r() * 256));
    const length = pick<unknown>([
      header.length,
      header.length,
      header.length - 1,
      header.length + 1,
      header.length + tail.length + 1,
      0,
      -1,
      'x',
      '1e2',
      '',
      ' 7',
    ]);
    return {
      url: '/v2/models/mlp/infer',
      payload: Buffer.concat([header, tail]),
      contentType: pick(['application/octet-stream', 'application/json']),
      headerLength: String(length),
    };
  };
  return () => {
    const kind = r();
    if (kind < 0.15) {
      const q = binary();
      // keep only the malformed ones: a correct 16-byte FP32 [1,4] request would be answered 200
      const n = Number(q.headerLength);
      const json =
        Number.isInteger(n) && n > 0 && n <= (q.payload as Buffer).length
          ? (q.payload as Buffer).subarray(0, n).toString()
          : '';
      if (
        json.includes('"FP32","shape":[1,4],"parameters":{"binary_data_size":16}') &&
        (q.payload as Buffer).length - n === 16 &&
        /^\d+$/.test(q.headerLength!)
      )
        return { ...q, headerLength: '0' };
      return q;
    }
    if (kind < 0.2)
      return {
        url: '/v2/models/mlp/infer',
        payload: pick(['{', '{"inputs": [}', 'null x', '\u0000', '{"inputs":[{"name":"x",}]}', '[1,2', '']),
        contentType: 'application/json',
      };
    if (kind < 0.23)
      return {
        url: pick(['/v2/models/nope/infer', '/v2/models/mlp/versions/7/infer', '/v2/models//infer']),
        payload: JSON.stringify(mlpInput([[1, 2, 3, 4]])),
        contentType: 'application/json',
      };
    if (kind < 0.25)
      return {
        url: '/v2/models/mlp/infer',
        payload: JSON.stringify(mlpInput([[1, 2, 3, 4]])),
        contentType: pick(['text/plain', 'application/xml', 'image/png']),
      };
    const body = pick(mutations)() as Record<string, unknown> | null;
    const url =
      body && typeof body === 'object' && '__pairs' in body
        ? '/v2/models/pair/infer'
        : pick(['/v2/models/mlp/infer', '/v2/models/mlp/versions/2/infer']);
    if (body && typeof body === 'object' && '__pairs' in body) delete body.__pairs;
    return { url, payload: JSON.stringify(body) ?? 'undefined', contentType: 'application/json' };
  };
}

it('10,000 malformed requests all get 4xx with an error body; the server stays healthy', async () => {
  const next = generator(20240611);
  const statuses = new Map<number, number>();
  let errorsWithoutBody = 0;
  const total = 10_000;
  for (let sent = 0; sent < total; sent += 100) {
    const replies = await Promise.all(
      Array.from({ length: 100 }, () => {
        const q = next();
        const headers: Record<string, string> = { 'content-type': q.contentType };
        if (q.headerLength !== undefined) headers['inference-header-content-length'] = q.headerLength;
        return s.app.inject({ method: 'POST', url: q.url, payload: q.payload, headers });
      }),
    );
    for (const r of replies) {
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode < 400 && process.env.FUZZ_DEBUG) console.log(r.body);
      try {
        if (typeof (JSON.parse(r.body) as { error?: unknown }).error !== 'string') errorsWithoutBody++;
      } catch {
        errorsWithoutBody++;
      }
    }
  }
  const non4xx = [...statuses].filter(([code]) => code < 400 || code >= 500);
  assert.deepEqual(non4xx, [], `statuses: ${JSON.stringify([...statuses])}`);
  assert.equal(errorsWithoutBody, 0);
  assert.ok((statuses.get(400) ?? 0) > total / 2);
  assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 200);
  const ok = await call(s, 'POST', '/v2/models/mlp/infer', mlpInput([[1, 2, 3, 4]]));
  assert.equal(ok.status, 200);
  assert.equal(s.repository.get('mlp').batcher.pending, 0);
});
