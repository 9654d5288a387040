// The OIP gRPC API (inference.GRPCInferenceService) with a gRPC client, against the same server as REST.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { inferenceService, type LatheServer, type ModelInferRequest } from '../../src/serve/index.js';
import { call, metric, mlpInput, model, repo, startServer } from './helpers.js';

let s: LatheServer;
let client: grpc.Client;
before(async () => {
  s = await startServer({
    models: { mlp: model(join(repo, 'mlp'), { versions: 'latest' }), pair: model(join(repo, 'pair')) },
    experiments: { ab: { variants: [{ model: 'mlp', weight: 1 }] } },
  });
  const port = await s.listenGrpc(0, '127.0.0.1');
  const Ctor = inferenceService();
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
after(async () => {
  client.close();
  await s.close();
});

/** One unary call; rejects with the ServiceError. */
function rpc<T>(method: string, request: object, metadata = new grpc.Metadata()): Promise<T> {
  return new Promise((resolve, reject) => {
    (
      client as unknown as Record<
        string,
        (r: object, m: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: T) => void) => void
      >
    )[method](request, metadata, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

type InferResponse = {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw_output_contents: Buffer[];
  parameters: Record<string, unknown>;
};
const f32 = (b: Buffer): number[] =>
  Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));

describe('gRPC health and metadata', () => {
  it('ServerLive, ServerReady, ServerMetadata, ModelReady, ModelMetadata', async () => {
    assert.deepEqual(await rpc('ServerLive', {}), { live: true });
    assert.deepEqual(await rpc('ServerReady', {}), { ready: true });
    const meta = await rpc<{ name: string; version: string }>('ServerMetadata', {});
    assert.equal(meta.name, 'lathe');
    assert.deepEqual(await rpc('ModelReady', { name: 'mlp', version: '' }), { ready: true });
    const md = await rpc<{
      name: string;
      platform: string;
      inputs: { name: string; datatype: string; shape: number[] }[];
    }>('ModelMetadata', { name: 'pair' });
    assert.equal(md.platform, 'onnxruntime_onnx');
    assert.deepEqual(md.inputs, [
      { name: 'a', datatype: 'FP32', shape: [-1, 3] },
      { name: 'b', datatype: 'INT64', shape: [-1, 3] },
    ]);
    await assert.rejects(
      rpc('ModelReady', { name: 'nope' }),
      (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /nope/.test(e.details),
    );
  });
});

describe('gRPC ModelInfer', () => {
  const rows = [
    [1, 2, 3, 4],
    [0.5, -1, 2, 0],
  ];
  it('answers as REST does, from typed contents and from raw_input_contents', async () => {
    const rest = await call(s, 'POST', '/v2/models/mlp/infer', mlpInput(rows));
    const restProbs = (rest.body.outputs as { data: number[] }[])[0].data;
    const typed = await rpc<InferResponse>('ModelInfer', {
      model_name: 'mlp',
      id: 'g1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: rows.flat() } }],
    } satisfies Partial<ModelInferRequest>);
    assert.equal(typed.model_name, 'mlp');
    assert.equal(typed.model_version, '2');
    assert.equal(typed.id, 'g1');
    assert.deepEqual(
      typed.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
      [{ name: 'probs', datatype: 'FP32', shape: [2, 3] }],
    );
    assert.deepEqual(f32(typed.raw_output_contents[0]), restProbs);
    const raw = await rpc<InferResponse>('ModelInfer', {
      model_name: 'mlp',
      model_version: '2',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4] }],
      raw_input_contents: [Buffer.from(Float32Array.from(rows.flat()).buffer)],
    });
    assert.equal(raw.model_version, '2');
    assert.deepEqual(f32(raw.raw_output_contents[0]), restProbs);
  });

  it('two inputs of two datatypes (FP32 and INT64 contents), one requested output', async () => {
    const r = await rpc<InferResponse>('ModelInfer', {
      model_name: 'pair',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } },
        { name: 'b', datatype: 'INT64', shape: [1, 3], contents: { int64_contents: [4, 5, 6] } },
      ],
      outputs: [{ name: 'prod' }],
    });
    assert.deepEqual(
      r.outputs.map((o) => o.name),
      ['prod'],
    );
    assert.deepEqual(f32(r.raw_output_contents[0]), [4, 10, 18]);
  });

  it('errors map to gRPC codes with the same messages as REST; shares experiments and metrics', async () => {
    const bad = (req: object) => rpc('ModelInfer', req);
    await assert.rejects(
      bad({
        model_name: 'nope',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
      }),
      (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND,
    );
    await assert.rejects(
      bad({
        model_name: 'mlp',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3] } }],
      }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /needs 4/.test(e.details),
    );
    await assert.rejects(
      bad({
        model_name: 'mlp',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [Infinity, 2, 3, 4] } }],
      }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /finite/.test(e.details),
    );
    await assert.rejects(
      bad({
        model_name: 'mlp',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [Buffer.alloc(12)],
      }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /12 bytes/.test(e.details),
    );
    await assert.rejects(
      bad({ model_name: 'mlp', inputs: [] }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT,
    );
    const exp = await rpc<InferResponse>('ModelInfer', {
      model_name: 'ab',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
    });
    assert.equal(exp.model_name, 'mlp');
    assert.ok(JSON.stringify(exp.parameters).includes('"ab"'), JSON.stringify(exp.parameters));
    assert.ok(
      (await metric(s, 'lathe_requests_total', { model: 'mlp', code: '200', protocol: 'grpc' })) >= 3,
      await s.metrics.registry.getSingleMetricAsString('lathe_requests_total'),
    );
    assert.ok(
      (await metric(s, 'lathe_requests_total', { model: '_unknown', code: '404', protocol: 'grpc' })) >= 1,
      await s.metrics.registry.getSingleMetricAsString('lathe_requests_total'),
    );
  });
});

it('lathe serve --grpc-port: the CLI serves both protocols', async () => {
  const child = spawn(
    process.execPath,
    [
      'bin/lathe.js',
      'serve',
      join(repo, 'mlp'),
      '--port',
      '0',
      '--grpc-port',
      '0',
      '--drain-delay',
      '0',
      '--threads',
      '1',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    const target = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /and grpc:\/\/(\S+);/.exec(out);
        if (m && out.includes('ready')) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`lathe serve exited (${code})`)));
    });
    const Ctor = inferenceService();
    const c = new Ctor(target, grpc.credentials.createInsecure());
    try {
      const ready = await new Promise<{ ready: boolean }>((resolve, reject) =>
        (
          c as unknown as Record<string, (r: object, cb: (e: Error | null, v: { ready: boolean }) => void) => void>
        ).ServerReady({}, (e, v) => (e ? reject(e) : resolve(v))),
      );
      assert.deepEqual(ready, { ready: true });
    } finally {
      c.close();
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});
