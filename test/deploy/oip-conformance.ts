// OIP v2 conformance checks over real HTTP, for any lathe server of the fashion CNN (input `image` FP32
// [-1,1,28,28], output `logits` FP32 [-1,10]): run against an in-process lathe serve (the reference) and against
// the container the docker target builds. Not a test file itself.
import assert from 'node:assert/strict';

const image = (shape: number[], v = 0.5) => ({
  name: 'image',
  datatype: 'FP32',
  shape,
  data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(v),
});

export async function checkOipConformance(base: string, model: string): Promise<number> {
  let checks = 0;
  const get = async (path: string) => {
    const r = await fetch(base + path);
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };
  const post = async (path: string, body: unknown, contentType = 'application/json') => {
    const r = await fetch(base + path, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': contentType },
    });
    const text = await r.text();
    let parsed: Record<string, any>;
    try {
      parsed = JSON.parse(text) as Record<string, any>;
    } catch {
      parsed = { raw: text };
    }
    return { status: r.status, body: parsed, headers: r.headers };
  };
  const expect = (cond: boolean, what: string) => {
    assert.ok(cond, what);
    checks++;
  };
  const infer = `/v2/models/${model}/infer`;

  expect((await get('/v2/health/live')).body.live === true, 'server live');
  expect((await get('/v2/health/ready')).body.ready === true, 'server ready');
  const server = await get('/v2');
  expect(
    server.status === 200 && server.body.name === 'lathe' && Array.isArray(server.body.extensions),
    'server metadata: name, version, extensions',
  );
  const meta = await get(`/v2/models/${model}`);
  expect(
    meta.status === 200 && meta.body.name === model && meta.body.platform === 'onnxruntime_onnx',
    'model metadata',
  );
  expect(
    JSON.stringify(meta.body.inputs) === JSON.stringify([{ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] }]),
    'model metadata: inputs',
  );
  expect(
    JSON.stringify(meta.body.outputs) === JSON.stringify([{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }]),
    'model metadata: outputs',
  );
  expect((await get(`/v2/models/${model}/ready`)).status === 200, 'model ready');
  expect((await get(`/v2/models/${model}/versions/1/ready`)).status === 200, 'model version ready');
  expect((await get('/v2/models/nope')).status === 404, 'unknown model metadata: 404');

  const ok = await post(infer, { id: 'conf-1', inputs: [image([2, 1, 28, 28])] });
  expect(ok.status === 200, `infer: 200 (${JSON.stringify(ok.body).slice(0, 200)})`);
  expect(
    ok.body.model_name === model && ok.body.model_version === '1' && ok.body.id === 'conf-1',
    'infer: model_name, model_version, id echoed',
  );
  const out = ok.body.outputs?.[0];
  expect(
    out?.name === 'logits' &&
      out.datatype === 'FP32' &&
      JSON.stringify(out.shape) === '[2,10]' &&
      out.data.length === 20,
    'infer: output name, datatype, shape, data',
  );
  expect(
    out.data.slice(0, 10).every((v: number, i: number) => v === out.data[10 + i]),
    'infer: equal rows give equal outputs',
  );
  const nested = await post(infer, {
    inputs: [{ ...image([1, 1, 28, 28]), data: [[Array.from({ length: 28 }, () => new Array<number>(28).fill(0.5))]] }],
  });
  expect(
    nested.status === 200 && JSON.stringify(nested.body.outputs[0].data) === JSON.stringify(out.data.slice(0, 10)),
    'infer: nested data equals flat data',
  );
  const versioned = await post(`/v2/models/${model}/versions/1/infer`, {
    inputs: [image([1, 1, 28, 28])],
    outputs: [{ name: 'logits' }],
  });
  expect(
    versioned.status === 200 && versioned.body.outputs.length === 1,
    'infer on /versions/1 with requested outputs',
  );

  const bad: [unknown, number, RegExp, string][] = [
    [{ inputs: [image([1, 1, 28, 27])] }, 400, /input 'image' has shape \[1,1,28,27\]/, 'wrong shape'],
    [
      { inputs: [{ ...image([1, 1, 28, 28], 0), datatype: 'INT32' }] },
      400,
      /has datatype INT32, model '.*' expects FP32/,
      'wrong datatype',
    ],
    [{ inputs: [{ ...image([1, 1, 28, 28]), name: 'pixels' }] }, 400, /has no input 'pixels'/, 'unknown input'],
    [{ inputs: [{ ...image([1, 1, 28, 28]), data: [1, 2, 3] }] }, 400, /./, 'element count'],
    [{ inputs: [image([1, 1, 28, 28])], outputs: [{ name: 'probs' }] }, 400, /has no output 'probs'/, 'unknown output'],
    [{}, 400, /inputs/, 'no inputs'],
  ];
  for (const [body, status, message, what] of bad) {
    const r = await post(infer, body);
    expect(
      r.status === status && message.test(String(r.body.error)),
      `${what}: ${status} naming the fault (got ${r.status} ${JSON.stringify(r.body)})`,
    );
  }
  expect(
    (await post('/v2/models/nope/infer', { inputs: [image([1, 1, 28, 28])] })).status === 404,
    'unknown model infer: 404',
  );
  expect(
    (await post(`/v2/models/${model}/versions/9/infer`, { inputs: [image([1, 1, 28, 28])] })).status === 404,
    'unknown version infer: 404',
  );
  expect((await post(infer, '{"inputs": [', 'application/json')).status === 400, 'malformed JSON: 400');
  expect((await post(infer, 'hello', 'text/plain')).status === 415, 'text/plain: 415');
  const r = await fetch(base + infer, {
    method: 'POST',
    body: JSON.stringify({ inputs: [image([1, 1, 28, 28])] }),
    headers: { 'content-type': 'application/json', 'x-request-id': 'trace-42' },
  });
  expect(r.headers.get('x-request-id') === 'trace-42', 'x-request-id echoed');
  await r.arrayBuffer();
  return checks;
}
