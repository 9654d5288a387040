// `npm run bench -- serve [--json] [--duration s] [--connections n]`: the CNN classifier
// (conv3x3 1→32, ReLU, maxpool2, conv3x3 32→64, ReLU, maxpool2, dense 128, dense 10; 1x28x28 in)
// served by `lathe serve` in a child process on 127.0.0.1, loaded by autocannon at concurrency 64:
// throughput with dynamic batching vs without, vs the bare ORT session in a loop at the server's
// batch size (the physical limit), and p50/p99 latency at a fixed request rate.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { packageRoot } from '../src/util/package-root.js';
import { report } from './_peer.js';

const cli = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));

function flag(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

/** Test images of Fashion-MNIST scaled to [0,1] (3 decimals, as a client would send them), or a fixed pattern. */
function images(n: number): number[][] {
  const path = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
  if (existsSync(path)) {
    const raw = gunzipSync(readFileSync(path));
    return Array.from({ length: n }, (_, k) => Array.from(raw.subarray(16 + k * 784, 16 + (k + 1) * 784), (v) => Math.round((v / 255) * 1000) / 1000));
  }
  return Array.from({ length: n }, (_, k) => Array.from({ length: 784 }, (_, i) => ((i * 7 + k * 13) % 256) / 256));
}

/** Samples/s of a bare session run in a loop at one batch size (best of spinning on/off). */
async function bareOrt(model: string, batch: number, seconds: number, data: readonly number[][]): Promise<number> {
  let best = 0;
  for (const spinning of [true, false]) {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: 2,
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
    });
    const x = new Float32Array(batch * 784);
    for (let b = 0; b < batch; b++) x.set(data[b % data.length], b * 784);
    const feeds = { image: new ort.Tensor('float32', x, [batch, 1, 28, 28]) };
    for (let i = 0; i < 5; i++) await session.run(feeds);
    let runs = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await session.run(feeds);
      runs++;
    }
    best = Math.max(best, (runs * batch) / ((performance.now() - t0) / 1000));
    await session.release();
  }
  return best;
}

interface Served {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startServer(model: string, extra: readonly string[]): Promise<Served> {
  const child = spawn(process.execPath, [cli, 'serve', model, '--port', '0', '--log-level', 'warn', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

async function stopServer(s: Served): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

async function meanBatch(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name: string): number => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').filter((l) => l.startsWith(name)).join('\n'))?.[2] ?? 0);
  const count = get('lathe_batch_size_count');
  return count > 0 ? get('lathe_batch_size_sum') / count : 0;
}

async function load(url: string, bodies: readonly string[], connections: number, seconds: number, rate?: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/v2/models/cnn/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: bodies.map((body) => ({ body })),
    connections,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
  });
}

interface Mode {
  readonly label: string;
  readonly args: readonly string[];
}

async function measure(model: string, mode: Mode, bodies: readonly string[], connections: number, seconds: number) {
  const s = await startServer(model, mode.args);
  try {
    await load(s.url, bodies, connections, 1); // warm-up (JIT, connections)
    const r = await load(s.url, bodies, connections, seconds);
    const failures = r.errors + r.non2xx + r.timeouts;
    return { rps: r.requests.average, failures, meanBatch: await meanBatch(s.url), p50: r.latency.p50, p99: r.latency.p99 };
  } finally {
    await stopServer(s);
  }
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const seconds = flag(args, 'duration', 6);
  const connections = flag(args, 'connections', 64);
  const model = join(packageRoot(), 'test', 'fixtures', 'serve', 'cnn.onnx');
  const data = images(64);
  const bodies = data.map((img) => JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: img }] }));

  const batchedModes: Mode[] = [
    { label: '1x2', args: ['--instances', '1', '--threads', '2', '--max-batch', '64'] },
    { label: '2x1', args: ['--instances', '2', '--threads', '1', '--max-batch', '64'] },
  ];
  const unbatchedModes: Mode[] = [
    { label: '1x2', args: ['--instances', '1', '--threads', '2', '--max-batch', '1'] },
    { label: '2x1', args: ['--instances', '2', '--threads', '1', '--max-batch', '1'] },
  ];
  const batched = [];
  for (const m of batchedModes) batched.push({ mode: m, ...(await measure(model, m, bodies, connections, seconds)) });
  const unbatched = [];
  for (const m of unbatchedModes) unbatched.push({ mode: m, ...(await measure(model, m, bodies, connections, seconds)) });
  const bestB = batched.reduce((a, b) => (b.rps > a.rps ? b : a));
  const bestU = unbatched.reduce((a, b) => (b.rps > a.rps ? b : a));

  const bareBatch = Math.max(1, Math.round(bestB.meanBatch));
  const bare = await bareOrt(model, bareBatch, Math.min(seconds, 3), data);
  const bare1 = await bareOrt(model, 1, Math.min(seconds, 2), data);

  // Latency at a fixed request rate: half the batched throughput.
  const rate = Math.max(10, Math.round(bestB.rps / 2));
  const s = await startServer(model, bestB.mode.args);
  let fixed: autocannon.Result;
  try {
    await load(s.url, bodies, connections, 1);
    fixed = await load(s.url, bodies, connections, seconds, rate);
  } finally {
    await stopServer(s);
  }

  const line = {
    workload: 'serve-cnn-c64',
    connections,
    rps_batched: Math.round(bestB.rps),
    batched_config: bestB.mode.label,
    mean_batch: Math.round(bestB.meanBatch * 10) / 10,
    rps_unbatched: Math.round(bestU.rps),
    unbatched_config: bestU.mode.label,
    batching_gain: Math.round((bestB.rps / bestU.rps) * 100) / 100,
    bare_ort_rps: Math.round(bare),
    bare_ort_batch: bareBatch,
    bare_ort_rps_batch1: Math.round(bare1),
    fraction_of_bare_ort: Math.round((bestB.rps / bare) * 100) / 100,
    fixed_rate_rps: rate,
    p50_ms: fixed.latency.p50,
    p99_ms: fixed.latency.p99,
    failures: batched.reduce((n, b) => n + b.failures, 0) + unbatched.reduce((n, b) => n + b.failures, 0) + fixed.errors + fixed.non2xx + fixed.timeouts,
    all: [...batched, ...unbatched].map((b) => ({ batched: b.mode.args.includes('64'), config: b.mode.label, rps: Math.round(b.rps), mean_batch: Math.round(b.meanBatch * 10) / 10, p50_ms: b.p50, p99_ms: b.p99 })),
  };
  report(json, line, [
    `serve-cnn-c64 (${connections} connections, ${seconds}s per run)`,
    `  batched   ${line.rps_batched} req/s (${line.batched_config}, mean batch ${line.mean_batch})`,
    `  unbatched ${line.rps_unbatched} req/s (${line.unbatched_config}) -> batching gain ${line.batching_gain}x`,
    `  bare ORT  ${line.bare_ort_rps} samples/s at batch ${bareBatch} (batch 1: ${line.bare_ort_rps_batch1}) -> ${line.fraction_of_bare_ort} of bare`,
    `  fixed ${rate} req/s: p50 ${line.p50_ms} ms, p99 ${line.p99_ms} ms; failures ${line.failures}`,
    ...line.all.map((a) => `    ${a.batched ? 'batched  ' : 'unbatched'} ${a.config}: ${a.rps} req/s, mean batch ${a.mean_batch}, p50 ${a.p50_ms} ms, p99 ${a.p99_ms} ms`),
  ].join('\n'));
}
