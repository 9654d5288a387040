// The binary tensor data extension (Triton/KServe) and the fast path for JSON `data` arrays.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LatheServer } from '../../src/serve/index.js';
import { NumericData, readOipBody } from '../../src/serve/oip-body.js';
import { call, mlpInput, model, repo, startServer } from './helpers.js';

let s: LatheServer;
before(async () => {
  s = await startServer({
    models: { mlp: model(join(repo, 'mlp'), { versions: 'latest' }), pair: model(join(repo, 'pair')) },
  });
});
after(() => s.close());

const A = [0.5, -1.25, 3, 1, 2, 4];
const B = [1, 2, 3, -4, 5, 6];
const bytes = (t: Float32Array | BigInt64Array | Uint8Array): Buffer =>
  Buffer.from(t.buffer, t.byteOffset, t.byteLength);

/** A binary-extension body: JSON header, then the tensors' bytes. */
function binaryBody(header: unknown, ...tensors: Buffer[]): { payload: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { payload: Buffer.concat([json, ...tensors]), headerLength: json.length };
}

async function post(url: string, payload: Buffer | string, headers: Record<string, string>) {
  const r = await s.app.inject({
    method: 'POST',
    url,
    payload,
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
  return r;
}

/** Splits a binary-extension response into its JSON header and each binary output's values. */
function decode(r: { headers: Record<string, unknown>; rawPayload: Buffer }): {
  json: Record<string, unknown>;
  tensors: Map<string, Buffer>;
} {
  const n = Number(r.headers['inference-header-content-length']);
  assert.ok(Number.isInteger(n) && n > 0, 'Inference-Header-Content-Length');
  const json = JSON.parse(r.rawPayload.subarray(0, n).toString('utf8')) as Record<string, unknown>;
  const tensors = new Map<string, Buffer>();
  let at = n;
  for (const o of json.outputs as { name: string; parameters?: { binary_data_size?: number } }[]) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    tensors.set(o.name, r.rawPayload.subarray(at, at + size));
    at += size;
  }
  assert.equal(at, r.rawPayload.length, 'binary outputs fill the rest of the body exactly');
  return { json, tensors };
}

const f32 = (b: Buffer): number[] => Array.from(new Float32Array(new Uint8Array(b).buffer));

describe('binary tensor data extension', () => {
  it('takes binary inputs (and mixes them with JSON inputs); answers equal the JSON request', async () => {
    const plain = await call(s, 'POST', '/v2/models/pair/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 3], data: A },
        { name: 'b', datatype: 'INT64', shape: [2, 3], data: B },
      ],
    });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    const both = binaryBody(
      {
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } },
          { name: 'b', datatype: 'INT64', shape: [2, 3], parameters: { binary_data_size: 48 } },
        ],
      },
      bytes(Float32Array.from(A)),
      bytes(BigInt64Array.from(B.map(BigInt))),
    );
    const r = await post('/v2/models/pair/infer', both.payload, {
      'inference-header-content-length': String(both.headerLength),
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.deepEqual(JSON.parse(r.body).outputs, plain.body.outputs);
    // one binary input, one JSON input, content type application/json
    const mixed = binaryBody(
      {
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [2, 3], data: A },
          { name: 'b', datatype: 'INT64', shape: [2, 3], parameters: { binary_data_size: 48 } },
        ],
      },
      bytes(BigInt64Array.from(B.map(BigInt))),
    );
    const m = await post('/v2/models/pair/infer', mixed.payload, {
      'content-type': 'application/json',
      'inference-header-content-length': String(mixed.headerLength),
    });
    assert.equal(m.statusCode, 200, m.body);
    assert.deepEqual(JSON.parse(m.body).outputs, plain.body.outputs);
  });

  it('answers binary outputs when asked: binary_data_output for all, binary_data per output overriding it', async () => {
    const inputs = [
      { name: 'a', datatype: 'FP32', shape: [2, 3], data: A },
      { name: 'b', datatype: 'INT64', shape: [2, 3], data: B },
    ];
    const plain = await call(s, 'POST', '/v2/models/pair/infer', { inputs });
    const expected = new Map((plain.body.outputs as { name: string; data: number[] }[]).map((o) => [o.name, o.data]));

    const all = await s.app.inject({
      method: 'POST',
      url: '/v2/models/pair/infer',
      payload: { id: 'q1', inputs, parameters: { binary_data_output: true } },
    });
    assert.equal(all.statusCode, 200, all.body);
    assert.equal(all.headers['content-type'], 'application/octet-stream');
    const d = decode(all);
    assert.equal(d.json.id, 'q1');
    assert.deepEqual(d.json.outputs, [
      { name: 'sum', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } },
      { name: 'prod', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } },
    ]);
    assert.deepEqual(f32(d.tensors.get('sum')!), expected.get('sum'));
    assert.deepEqual(f32(d.tensors.get('prod')!), expected.get('prod'));

    const some = await s.app.inject({
      method: 'POST',
      url: '/v2/models/pair/infer',
      payload: {
        inputs,
        parameters: { binary_data_output: true },
        outputs: [{ name: 'sum', parameters: { binary_data: false } }, { name: 'prod' }],
      },
    });
    const e = decode(some);
    assert.deepEqual(e.json.outputs, [
      { name: 'sum', datatype: 'FP32', shape: [2, 3], data: expected.get('sum') },
      { name: 'prod', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } },
    ]);
    assert.deepEqual(f32(e.tensors.get('prod')!), expected.get('prod'));

    // binary in, binary out, one output asked for by name
    const body = binaryBody(
      {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }],
        outputs: [{ name: 'probs', parameters: { binary_data: true } }],
      },
      bytes(Float32Array.from([1, 2, 3, 4])),
    );
    const one = await post('/v2/models/mlp/infer', body.payload, {
      'inference-header-content-length': String(body.headerLength),
    });
    const jsonOne = await call(s, 'POST', '/v2/models/mlp/infer', mlpInput([[1, 2, 3, 4]]));
    assert.deepEqual(f32(decode(one).tensors.get('probs')!), (jsonOne.body.outputs as { data: number[] }[])[0].data);
  });

  it('rejects malformed binary requests with a 400 that says what is wrong', async () => {
    const x = bytes(Float32Array.from([1, 2, 3, 4]));
    const header = (size: unknown, extra: Record<string, unknown> = {}) => ({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: size }, ...extra }],
    });
    const good = binaryBody(header(16), x);
    const withLength = (length: string) => ({ payload: good.payload, headerLength: length });
    const cases: [{ payload: Buffer; headerLength: number | string }, RegExp][] = [
      [withLength(String(good.payload.length + 1)), /body has only/],
      [withLength('abc'), /must be a non-negative integer/],
      [withLength('-5'), /must be a non-negative integer/],
      [withLength('12.5'), /must be a non-negative integer/],
      [withLength(''), /must be a non-negative integer/],
      [withLength('0'), /JSON request header is missing/],
      [withLength(String(good.headerLength - 3)), /JSON/i], // header cut short: not JSON
      [withLength(String(good.headerLength + 4)), /JSON/i], // header runs into the binary bytes
      [binaryBody(header(12), x.subarray(0, 12)), /binary_data_size is 12 bytes.*needs 16/],
      [binaryBody(header(16), x.subarray(0, 8)), /ends after 8 of its 16 bytes/],
      [binaryBody(header(16), x, Buffer.alloc(4)), /20 bytes of binary data.*add up to 16/],
      [binaryBody(header(-1), x), /binary_data_size must be a non-negative integer/],
      [binaryBody(header('16'), x), /binary_data_size must be a non-negative integer/],
      [binaryBody(header(16, { data: [1, 2, 3, 4] }), x), /both data and parameters.binary_data_size/],
      [
        binaryBody({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
          outputs: [{ name: 'probs', parameters: { binary_data: 'yes' } }],
        }),
        /binary_data must be a boolean/,
      ],
      [
        binaryBody({
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
          parameters: { binary_data_output: 1 },
        }),
        /binary_data_output must be a boolean/,
      ],
      [
        binaryBody(
          { inputs: [{ name: 'b', datatype: 'BOOL', shape: [1, 2], parameters: { binary_data_size: 2 } }] },
          Buffer.from([1, 2]),
        ),
        /BOOL binary data must be bytes 0 or 1/,
      ],
    ];
    for (const [{ payload, headerLength }, pattern] of cases) {
      const r = await post('/v2/models/mlp/infer', payload, {
        'inference-header-content-length': String(headerLength),
      });
      assert.equal(r.statusCode, 400, `${headerLength} ${r.body}`);
      assert.match(String(JSON.parse(r.body).error), pattern, String(headerLength));
    }
    // binary_data_size without the header: the body is all JSON, so there are no binary bytes to take
    const noHeader = await call(s, 'POST', '/v2/models/mlp/infer', header(16));
    assert.equal(noHeader.status, 400);
    assert.match(String(noHeader.body.error), /no binary data/);
    // the JSON part still goes through fastify's prototype-poisoning check
    const poisoned = await post(
      '/v2/models/mlp/infer',
      Buffer.from('{"__proto__":{"x":1},"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'),
      { 'content-type': 'application/json' },
    );
    assert.equal(poisoned.statusCode, 400);
    // /predict does not take binary bodies
    const pred = await s.app.inject({
      method: 'POST',
      url: '/predict',
      payload: { inputs: [[1, 2, 3, 4]] },
      headers: { 'inference-header-content-length': '5' },
    });
    assert.equal(pred.statusCode, 400);
    assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 200);
  });

  it('batches binary and JSON requests together and splits their answers row-exactly', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => [i / 10, 1 - i / 7, (i % 3) - 1, i]);
    const answers = await Promise.all(
      rows.map((row, i) => {
        if (i % 2 === 0)
          return call(s, 'POST', '/v2/models/mlp/infer', mlpInput([row])).then(
            (r) => (r.body.outputs as { data: number[] }[])[0].data,
          );
        const b = binaryBody(
          {
            inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }],
            parameters: { binary_data_output: true },
          },
          bytes(Float32Array.from(row)),
        );
        return post('/v2/models/mlp/infer', b.payload, {
          'inference-header-content-length': String(b.headerLength),
        }).then((r) => f32(decode(r).tensors.get('probs')!));
      }),
    );
    const alone = await call(s, 'POST', '/v2/models/mlp/infer', mlpInput(rows));
    const all = (alone.body.outputs as { data: number[] }[])[0].data;
    answers.forEach((a, i) => assert.deepEqual(a, all.slice(i * 3, i * 3 + 3), `row ${i}`));
  });
});

describe('fast path for JSON data arrays', () => {
  const parse = (text: string): unknown => JSON.parse(text) as unknown;
  const read = (text: string): unknown => readOipBody(Buffer.from(text), undefined, parse).json;

  it('reads numbers exactly as JSON.parse does (ints, fractions, exponents, -0, long mantissas, nesting)', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    const spellings = [
      () => String(Math.round(rand() * 1000)),
      () => (rand() * 2 - 1).toFixed(Math.floor(rand() * 8)),
      () => String(rand()), // 15-17 significant digits
      () => (rand() * 1e6).toExponential(Math.floor(rand() * 10)),
      () => `${rand() < 0.5 ? '-' : ''}${Math.floor(rand() * 9) + 1}e${Math.floor(rand() * 40) - 20}`,
      () => '-0',
      () => '0.0000000000000000000001',
      () => '123456789012345678901234',
      () => '1E+2',
      () => '1e400',
    ];
    for (let trial = 0; trial < 200; trial++) {
      const nums = Array.from({ length: 1 + Math.floor(rand() * 30) }, () =>
        spellings[Math.floor(rand() * spellings.length)](),
      );
      const nested = trial % 3 === 0;
      const arr = nested
        ? `[[${nums.slice(0, 1).join(',')}], [ ${nums.slice(1).join(' , ')} ]]`
        : `[${nums.join(',')}]`;
      const text = `{"id":"t","inputs":[{"name":"x","datatype":"FP64","shape":[${nums.length}],"data"\n : ${arr}}]}`;
      const fast = read(text) as { inputs: { data: unknown }[] };
      const data = fast.inputs[0].data;
      assert.ok(data instanceof NumericData, text);
      assert.equal(data.depth, nested ? 2 : 1);
      const slow = (JSON.parse(text) as { inputs: { data: unknown[] }[] }).inputs[0].data.flat();
      assert.deepEqual(Array.from(data.values), slow, text);
      assert.ok(Object.is(data.values[0], slow[0]), text);
    }
  });

  it('leaves everything else to the JSON parser, so the plain path decides', () => {
    const cases = [
      '{"inputs":[{"name":"x","data":[true,1]}]}', // booleans
      '{"inputs":[{"name":"x","data":[1,null]}]}',
      '{"inputs":[{"name":"x","data":["1"]}]}',
      '{"inputs":[{"name":"x","data":[1,2]},{"name":"y","data":0}]}', // literal colliding with a placeholder
      '{"inputs":[{"name":"x","data":[1,2],"data":[3]}]}', // duplicate key
      '{"inputs":[{"name":"x","data":[1]}],"parameters":{"data":[5,6]}}', // "data" elsewhere
      '{"inputs":[{"name":"data","data":[1.5]}]}',
      '{"inputs":[{"name":"x\\"data\\":[1]","data":[2]}]}', // "data" inside a string
    ];
    for (const text of cases) {
      const got = read(text) as { inputs: { data: unknown }[]; parameters?: unknown };
      const want = JSON.parse(text) as { inputs: { data: unknown }[]; parameters?: unknown };
      const plain = (d: unknown) => (d instanceof NumericData ? Array.from(d.values) : d);
      assert.deepEqual(
        got.inputs.map((i) => plain(i.data)),
        want.inputs.map((i) => i.data),
        text,
      );
      assert.deepEqual(got.parameters, want.parameters, text);
    }
    for (const bad of [
      '{"inputs":[{"data":[01]}]}',
      '{"inputs":[{"data":[1,]}]}',
      '{"inputs":[{"data":[1 2]}]}',
      '{"inputs":[{"data":[.5]}]}',
      '{"inputs":[{"data":[1.]}]}',
      '{"inputs":[{"data":[1e]}]}',
      '{"inputs":[{"data":[1]]}]}',
      '{"inputs":[{"data":[-]}]}',
      '{"a":"unterminated',
    ]) {
      assert.throws(() => read(bad), SyntaxError, bad);
    }
  });
});
