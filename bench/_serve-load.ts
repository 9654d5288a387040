// The load generator of `npm run bench -- serve`, run as its own process so that its CPU use is
// measured apart from the server's (both share this machine's cores; the bench reports both).
// argv[2]: JSON LoadSpec. Prints `measuring` after a 1 s warm-up, then one JSON line (LoadResult).
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import * as grpc from '@grpc/grpc-js';
import { inferenceService } from '../src/serve/grpc/proto.js';

export interface LoadSpec {
  readonly url: string;
  /**
   * 'json': OIP JSON with a 784-number `data` array; 'binary': the binary tensor data extension (3136 raw
   * bytes in, logits out as bytes); 'grpc': ModelInfer with raw_input_contents over one HTTP/2 channel.
   */
  readonly format: 'json' | 'binary' | 'grpc';
  /** host:port of the gRPC endpoint (format 'grpc'). */
  readonly grpc?: string;
  readonly connections: number;
  readonly seconds: number;
  /** Fixed overall request rate (req/s); open loop at that rate instead of as fast as possible. */
  readonly rate?: number;
}

export interface LoadResult {
  readonly rps: number;
  readonly requests: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly failures: number;
  /** Answers with a 2xx status (gRPC: OK). */
  readonly ok: number;
  /** Answers with a 503 (gRPC: UNAVAILABLE). */
  readonly rejected: number;
  /** CPU seconds the load generator itself used during the measured run (user + system). */
  readonly cpu_s: number;
}

/** Fashion-MNIST test images scaled to [0,1] with 3 decimals (as a client would send them), or a fixed pattern. */
export function images(n: number): number[][] {
  const path = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
  if (existsSync(path)) {
    const raw = gunzipSync(readFileSync(path));
    return Array.from({ length: n }, (_, k) =>
      Array.from(raw.subarray(16 + k * 784, 16 + (k + 1) * 784), (v) => Math.round((v / 255) * 1000) / 1000),
    );
  }
  return Array.from({ length: n }, (_, k) => Array.from({ length: 784 }, (_, i) => ((i * 7 + k * 13) % 256) / 256));
}

function requests(format: LoadSpec['format']): { headers: Record<string, string>; bodies: (string | Buffer)[] } {
  const data = images(64);
  if (format === 'json') {
    return {
      headers: { 'content-type': 'application/json' },
      bodies: data.map((img) =>
        JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: img }] }),
      ),
    };
  }
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], parameters: { binary_data_size: 784 * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    bodies: data.map((img) => {
      const x = Float32Array.from(img);
      return Buffer.concat([header, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]);
    }),
  };
}

/** Closed-loop gRPC load: `connections` calls in flight at all times for `seconds`. */
async function grpcLoad(spec: LoadSpec, seconds: number): Promise<Omit<LoadResult, 'cpu_s'>> {
  const Ctor = inferenceService();
  const client = new Ctor(spec.grpc!, grpc.credentials.createInsecure());
  const raw = images(64).map((img) => Buffer.from(Float32Array.from(img).buffer));
  const latencies: number[] = [];
  let ok = 0;
  let rejected = 0;
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  const infer = client.ModelInfer.bind(client) as (req: object, cb: (err: grpc.ServiceError | null) => void) => void;
  let k = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const req = {
        model_name: 'cnn',
        inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28] }],
        raw_input_contents: [raw[k++ % raw.length]],
      };
      await new Promise<void>((resolve) => {
        infer(req, (err) => {
          if (!err) ok++;
          else if (err.code === grpc.status.UNAVAILABLE) rejected++;
          else failures++;
          latencies.push(performance.now() - t0);
          resolve();
        });
      });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 100) / 100;
  return {
    rps: latencies.length / elapsed,
    requests: latencies.length,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    failures,
    ok,
    rejected,
  };
}

function load(spec: LoadSpec, seconds: number): Promise<autocannon.Result> {
  const { headers, bodies } = requests(spec.format as 'json' | 'binary');
  return autocannon({
    url: `${spec.url}/v2/models/cnn/infer`,
    method: 'POST',
    headers,
    requests: bodies.map((body) => ({ body: body as string })),
    connections: spec.connections,
    duration: seconds,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as LoadSpec;
  if (spec.format === 'grpc') {
    await grpcLoad(spec, 1);
    console.log('measuring');
    const cpu0 = process.cpuUsage();
    const g = await grpcLoad(spec, spec.seconds);
    const cpu = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ ...g, cpu_s: (cpu.user + cpu.system) / 1e6 } satisfies LoadResult));
    return;
  }
  await load(spec, 1); // warm-up: JIT, connections, batch sizes settle
  console.log('measuring');
  const cpu0 = process.cpuUsage();
  const r = await load(spec, spec.seconds);
  const cpu = process.cpuUsage(cpu0);
  const result: LoadResult = {
    ok: r['2xx'],
    rejected: r.non2xx,
    rps: r.requests.average,
    requests: r.requests.total,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    failures: r.errors + r.non2xx + r.timeouts,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  };
  console.log(JSON.stringify(result));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
