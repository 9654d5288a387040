// `npm run bench -- serve [--json] [--duration s] [--connections n] [--rounds n]`: the CNN classifier
// (conv3x3 1→32, ReLU, maxpool2, conv3x3 32→64, ReLU, maxpool2, dense 128, dense 10; 1x28x28 in)
// served by `lathe serve` in a child process on 127.0.0.1, loaded at concurrency 64 by autocannon in
// a second child process (bench/_serve-load.ts), so the CPU each side uses is measured apart: the
// server's per request (event-loop thread and whole process, from /proc) and the load generator's.
// Both request formats: OIP JSON (784 numbers) and the binary tensor data extension (raw bytes).
// Throughput with dynamic batching vs without, vs the bare ORT session in a loop at the server's
// batch size, and p50/p99 latency at a fixed request rate.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { packageRoot } from '../src/util/package-root.js';
import { report } from './_peer.js';
import { images, type LoadResult, type LoadSpec } from './_serve-load.js';

const cli = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const loader = fileURLToPath(new URL('./_serve-load.js', import.meta.url));

function flag(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

/** Samples/s of a bare session run in a loop at each batch size (best of spinning on/off), and its CPU µs per sample. */
async function bareOrt(
  model: string,
  threads: number,
  batches: readonly number[],
  seconds: number,
  data: readonly number[][],
): Promise<Map<number, { rate: number; cpuUs: number }>> {
  const best = new Map<number, { rate: number; cpuUs: number }>();
  for (const spinning of [false, true]) {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
    });
    for (const batch of batches) {
      const x = new Float32Array(batch * 784);
      for (let b = 0; b < batch; b++) x.set(data[b % data.length], b * 784);
      const feeds = { image: new ort.Tensor('float32', x, [batch, 1, 28, 28]) };
      for (let i = 0; i < 5; i++) await session.run(feeds);
      let runs = 0;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      while (performance.now() - t0 < seconds * 1000) {
        await session.run(feeds);
        runs++;
      }
      const cpu = process.cpuUsage(cpu0);
      const rate = (runs * batch) / ((performance.now() - t0) / 1000);
      const cpuUs = (cpu.user + cpu.system) / (runs * batch);
      const prev = best.get(batch);
      best.set(batch, { rate: Math.max(prev?.rate ?? 0, rate), cpuUs: Math.min(prev?.cpuUs ?? Infinity, cpuUs) });
    }
    await session.release();
  }
  return best;
}

/** CPU seconds (user + system) of a process and of its main thread, from /proc; undefined off Linux. */
function cpuOf(pid: number): { process: number; main: number } | undefined {
  const ticks = (path: string): number | undefined => {
    if (!existsSync(path)) return undefined;
    const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  };
  const all = ticks(`/proc/${pid}/stat`);
  const main = ticks(`/proc/${pid}/task/${pid}/stat`);
  return all === undefined || main === undefined ? undefined : { process: all / 100, main: main / 100 };
}

interface Served {
  readonly url: string;
  /** host:port of the gRPC endpoint, when started with --grpc-port. */
  readonly grpc?: string;
  readonly child: ChildProcess;
}

async function startServer(model: string, extra: readonly string[]): Promise<Served> {
  const child = spawn(process.execPath, [cli, 'serve', model, '--port', '0', '--log-level', 'warn', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      // The server listens first and loads its models after; measure only once it says ready.
      const m = /listening on (http:\/\/[^\s;]+)(?: and grpc:\/\/([^\s;]+))?/.exec(out);
      if (m && out.includes('lathe serve: ready')) resolve({ url: m[1], grpc: m[2], child });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

async function stopServer(s: Served): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

async function batchStats(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name: string): number =>
    Number(
      /^(\S+) (\S+)$/m.exec(
        text
          .split('\n')
          .filter((l) => l.startsWith(name))
          .join('\n'),
      )?.[2] ?? 0,
    );
  return { sum: get('lathe_batch_size_sum'), count: get('lathe_batch_size_count') };
}

/** Runs the load generator process against a server; samples the server's CPU over the measured part. */
async function load(
  server: Served,
  spec: LoadSpec,
): Promise<LoadResult & { serverCpu?: { process: number; main: number }; meanBatch: number }> {
  const child = spawn(process.execPath, [loader, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let started = false;
  let before: ReturnType<typeof cpuOf>;
  let batches0 = { sum: 0, count: 0 };
  const measuring = new Promise<void>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!started && out.includes('measuring')) {
        started = true;
        before = cpuOf(server.child.pid!);
        void batchStats(server.url).then((b) => {
          batches0 = b;
          resolve();
        });
      }
    });
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (!started) throw new Error(`load generator exited (${code}) before measuring: ${out}`);
  await measuring;
  const after = cpuOf(server.child.pid!);
  const batches1 = await batchStats(server.url);
  if (code !== 0) throw new Error(`load generator exited with ${code}: ${out}`);
  const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
  const n = batches1.count - batches0.count;
  return {
    ...result,
    serverCpu:
      before && after ? { process: after.process - before.process, main: after.main - before.main } : undefined,
    meanBatch: n > 0 ? (batches1.sum - batches0.sum) / n : 0,
  };
}

interface Mode {
  readonly label: string;
  readonly batched: boolean;
  readonly args: readonly string[];
}

const perReq = (seconds: number | undefined, requests: number): number | null =>
  seconds === undefined || requests === 0 ? null : Math.round((seconds / requests) * 1e6);

async function measure(
  model: string,
  mode: Mode,
  format: LoadSpec['format'],
  connections: number,
  seconds: number,
  extra: readonly string[] = [],
) {
  const s = await startServer(model, [...mode.args, ...extra, ...(format === 'grpc' ? ['--grpc-port', '0'] : [])]);
  try {
    const r = await load(s, { url: s.url, grpc: s.grpc, format, connections, seconds });
    return {
      format,
      batched: mode.batched,
      config: mode.label,
      mode,
      rps: r.rps,
      failures: r.failures,
      ok: r.ok,
      rejected: r.rejected,
      serverCpuS: r.serverCpu?.process,
      meanBatch: r.meanBatch,
      p50: r.p50_ms,
      p99: r.p99_ms,
      // CPU per request: the server's event loop, the whole server (with its ORT threads), the load generator
      mainUs: perReq(r.serverCpu?.main, r.requests),
      serverUs: perReq(r.serverCpu?.process, r.requests),
      loadgenUs: perReq(r.cpu_s, r.requests),
      loadgenCores: Math.round((r.cpu_s / seconds) * 100) / 100,
      serverCores: r.serverCpu ? Math.round((r.serverCpu.process / seconds) * 100) / 100 : null,
    };
  } finally {
    await stopServer(s);
  }
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const seconds = flag(args, 'duration', 4);
  const connections = flag(args, 'connections', 64);
  const model = join(packageRoot(), 'test', 'fixtures', 'serve', 'cnn.onnx');
  const data = images(64);
  const loadStart = Math.round(loadavg()[0] * 100) / 100;
  if (loadStart > cpus().length / 2)
    console.error(
      `serve bench: load average ${loadStart} on ${cpus().length} cores: other work will slow every run; CPU-per-request ratios hold up better than req/s`,
    );

  const mode = (instances: number, threads: number, maxBatch: number): Mode => ({
    label: `${instances}x${threads}`,
    batched: maxBatch > 1,
    args: ['--instances', String(instances), '--threads', String(threads), '--max-batch', String(maxBatch)],
  });
  const batchedModes = [mode(1, 2, 64), mode(1, 1, 64), mode(2, 1, 64)];
  const unbatchedModes = [mode(1, 2, 1), mode(1, 1, 1), mode(2, 1, 1)];
  type Run = Awaited<ReturnType<typeof measure>>;
  // Other work on this machine comes and goes and only ever slows a run down: every configuration runs
  // once per round, rounds interleave them, and each keeps its best run (by req/s) and reports the range.
  const rounds = flag(args, 'rounds', 2);
  const perConfig = new Map<string, Run[]>();
  for (let round = 0; round < rounds; round++) {
    for (const format of ['json', 'binary'] as const) {
      for (const m of [...batchedModes, ...unbatchedModes]) {
        const r = await measure(model, m, format, connections, seconds);
        const key = `${format} ${m.batched} ${m.label}`;
        perConfig.set(key, [...(perConfig.get(key) ?? []), r]);
      }
    }
  }
  const runs: (Run & { rpsRange: [number, number] })[] = [...perConfig.values()].map((rs) => {
    const sorted = [...rs].sort((a, b) => a.rps - b.rps);
    return {
      ...sorted[sorted.length - 1],
      rpsRange: [Math.round(sorted[0].rps), Math.round(sorted[sorted.length - 1].rps)],
    };
  });
  const best = (format: LoadSpec['format'], batched: boolean) =>
    runs.filter((r) => r.format === format && r.batched === batched).reduce((a, b) => (b.rps > a.rps ? b : a));
  const bestB = best('json', true);
  const bestU = best('json', false);
  const binB = best('binary', true);
  const binU = best('binary', false);

  // gRPC (raw_input_contents) in the best batched and unbatched REST configurations.
  const grpcB = await measure(model, bestB.mode, 'grpc', connections, seconds);
  const grpcU = await measure(model, bestU.mode, 'grpc', connections, seconds);

  // Bare ORT, same batch sizes as the servers' mean batches, plus 1, 32 and 64; 1 and 2 intra-op threads; best taken.
  const batchOf = (r: { meanBatch: number }): number => Math.max(1, Math.round(r.meanBatch));
  const sizes = [...new Set([1, 32, 64, batchOf(bestB), batchOf(binB), batchOf(grpcB)])].sort((a, b) => a - b);
  const bare1t = await bareOrt(model, 1, sizes, Math.min(seconds, 1.5), data);
  const bare2t = await bareOrt(model, 2, sizes, Math.min(seconds, 1.5), data);
  const bareAt = (b: number): number => Math.max(bare1t.get(b)!.rate, bare2t.get(b)!.rate);
  /** CPU µs per sample of ORT alone (the cheaper thread setting): the floor of a server's CPU per request. */
  const bareCpuAt = (b: number): number => Math.min(bare1t.get(b)!.cpuUs, bare2t.get(b)!.cpuUs);

  // The cost of a refusal: one instance, batch 1, queue 4, 256 connections, so most requests get a 503
  // (refused in onRequest, before the body is read). Server CPU = ok × (CPU of a 200) + rejected × (CPU of a 503),
  // with the CPU of a 200 from the unbatched run of the same configuration.
  const overloadMode = mode(1, 1, 1);
  const over = await measure(model, overloadMode, 'json', 256, seconds, ['--queue', '4']);
  const base200 = runs.find((r) => r.format === 'json' && !r.batched && r.config === overloadMode.label)!;
  const cpu200 = base200.serverUs ?? 0;
  const cpu503 =
    over.serverCpuS !== undefined && over.rejected > 0
      ? Math.max(0, (over.serverCpuS * 1e6 - over.ok * cpu200) / over.rejected)
      : null;

  // Latency at a fixed request rate: half the batched JSON throughput, in the best batched config.
  const rate = Math.max(10, Math.round(bestB.rps / 2));
  const fixedServer = await startServer(model, bestB.mode.args);
  let fixed: LoadResult;
  try {
    fixed = await load(fixedServer, { url: fixedServer.url, format: 'json', connections, seconds, rate });
  } finally {
    await stopServer(fixedServer);
  }

  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const cpuGain = (format: LoadSpec['format']): number | null => {
    const ratios = batchedModes
      .map((m) => {
        const b = runs.find((r) => r.format === format && r.batched && r.config === m.label);
        const u = runs.find((r) => r.format === format && !r.batched && r.config === m.label);
        return b?.serverUs && u?.serverUs ? u.serverUs / b.serverUs : undefined;
      })
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    return ratios.length ? r2(ratios[Math.floor((ratios.length - 1) / 2)]) : null;
  };
  const line = {
    workload: 'serve-cnn-c64',
    connections,
    rps_batched: Math.round(bestB.rps),
    batched_config: bestB.config,
    mean_batch: Math.round(bestB.meanBatch * 10) / 10,
    rps_unbatched: Math.round(bestU.rps),
    unbatched_config: bestU.config,
    batching_gain: r2(bestB.rps / bestU.rps),
    bare_ort_rps: Math.round(bareAt(batchOf(bestB))),
    bare_ort_batch: batchOf(bestB),
    bare_ort_rps_batch1: Math.round(bareAt(1)),
    bare_ort_gain_64_vs_1: r2(bareAt(64) / bareAt(1)),
    fraction_of_bare_ort: r2(bestB.rps / bareAt(batchOf(bestB))),
    fixed_rate_rps: rate,
    p50_ms: fixed.p50_ms,
    p99_ms: fixed.p99_ms,
    // the binary tensor data extension (raw FP32 bytes in, logits out as bytes)
    rps_batched_binary: Math.round(binB.rps),
    batched_config_binary: binB.config,
    mean_batch_binary: Math.round(binB.meanBatch * 10) / 10,
    rps_unbatched_binary: Math.round(binU.rps),
    batching_gain_binary: r2(binB.rps / binU.rps),
    bare_ort_rps_binary: Math.round(bareAt(batchOf(binB))),
    fraction_of_bare_ort_binary: r2(binB.rps / bareAt(batchOf(binB))),
    // CPU per request (µs) in the best batched runs: server event loop, whole server, load generator
    event_loop_us_per_req: bestB.mainUs,
    server_cpu_us_per_req: bestB.serverUs,
    loadgen_cpu_us_per_req: bestB.loadgenUs,
    loadgen_cpu_cores: bestB.loadgenCores,
    event_loop_us_per_req_binary: binB.mainUs,
    server_cpu_us_per_req_binary: binB.serverUs,
    loadgen_cpu_us_per_req_binary: binB.loadgenUs,
    loadgen_cpu_cores_binary: binB.loadgenCores,
    // CPU efficiency, robust to other load on the machine: ORT's own CPU per sample / the server's CPU per request
    cpu_fraction_of_bare_ort: bestB.serverUs ? r2(bareCpuAt(batchOf(bestB)) / bestB.serverUs) : null,
    cpu_fraction_of_bare_ort_binary: binB.serverUs ? r2(bareCpuAt(batchOf(binB)) / binB.serverUs) : null,
    // the server's own CPU per request: whole server CPU minus ORT's own CPU per sample at the same batch size
    server_cpu_us_per_request: bestB.serverUs !== null ? Math.round(bestB.serverUs - bareCpuAt(batchOf(bestB))) : null,
    server_cpu_us_per_request_binary:
      binB.serverUs !== null ? Math.round(binB.serverUs - bareCpuAt(batchOf(binB))) : null,
    // CPU of a 503 / CPU of a 200 under overload (queue 4, 256 connections, 1 instance, batch 1)
    reject_cost_ratio: cpu503 !== null && cpu200 > 0 ? Math.round((cpu503 / cpu200) * 1000) / 1000 : null,
    reject_cpu_us: cpu503 !== null ? Math.round(cpu503) : null,
    overload_ok_rps: Math.round((over.ok / seconds) * 10) / 10,
    overload_rejected_rps: Math.round(over.rejected / seconds),
    // gRPC ModelInfer with raw_input_contents, same configurations as the best REST runs
    rps_batched_grpc: Math.round(grpcB.rps),
    mean_batch_grpc: Math.round(grpcB.meanBatch * 10) / 10,
    rps_unbatched_grpc: Math.round(grpcU.rps),
    batching_gain_grpc: r2(grpcB.rps / grpcU.rps),
    fraction_of_bare_ort_grpc: r2(grpcB.rps / bareAt(batchOf(grpcB))),
    server_cpu_us_per_request_grpc:
      grpcB.serverUs !== null ? Math.round(grpcB.serverUs - bareCpuAt(batchOf(grpcB))) : null,
    event_loop_us_per_req_grpc: grpcB.mainUs,
    p50_ms_grpc: grpcB.p50,
    p99_ms_grpc: grpcB.p99,
    // the batching gain in server CPU per request (unbatched / batched, same instances x threads; median
    // over those configurations): what req/s would show on idle cores, and steady when other jobs run
    batching_gain_cpu: cpuGain('json'),
    batching_gain_cpu_binary: cpuGain('binary'),
    load_average: [loadStart, r2(loadavg()[0])],
    rounds,
    cores: cpus().length,
    failures: runs.reduce((n, r) => n + r.failures, 0) + fixed.failures + grpcB.failures + grpcU.failures,
    bare_ort: sizes.map((b) => ({
      batch: b,
      threads1: Math.round(bare1t.get(b)!.rate),
      threads2: Math.round(bare2t.get(b)!.rate),
      cpu_us_per_sample: Math.round(bareCpuAt(b)),
    })),
    all: runs.map((r) => ({
      format: r.format,
      batched: r.batched,
      config: r.config,
      rps: Math.round(r.rps),
      rps_range: r.rpsRange,
      mean_batch: Math.round(r.meanBatch * 10) / 10,
      p50_ms: r.p50,
      p99_ms: r.p99,
      event_loop_us: r.mainUs,
      server_us: r.serverUs,
      loadgen_us: r.loadgenUs,
      server_cores: r.serverCores,
      loadgen_cores: r.loadgenCores,
    })),
  };
  report(
    json,
    line,
    [
      `serve-cnn-c64 (${connections} connections, ${seconds}s per run, load generator in its own process, ${line.cores} cores shared, load average ${line.load_average.join(' -> ')})`,
      `  JSON    batched ${line.rps_batched} req/s (${line.batched_config}, mean batch ${line.mean_batch}), unbatched ${line.rps_unbatched} (${line.unbatched_config}) -> gain ${line.batching_gain}x; ${line.fraction_of_bare_ort} of bare ORT at batch ${line.bare_ort_batch} (${line.bare_ort_rps}/s)`,
      `  binary  batched ${line.rps_batched_binary} req/s (${line.batched_config_binary}, mean batch ${line.mean_batch_binary}), unbatched ${line.rps_unbatched_binary} -> gain ${line.batching_gain_binary}x; ${line.fraction_of_bare_ort_binary} of bare ORT (${line.bare_ort_rps_binary}/s)`,
      `  bare ORT samples/s: ${line.bare_ort.map((b) => `b${b.batch} ${b.threads1}/${b.threads2}`).join(', ')} (1/2 threads); batch 64 vs 1: ${line.bare_ort_gain_64_vs_1}x`,
      `  CPU efficiency (ORT's CPU per sample / server CPU per request): JSON ${line.cpu_fraction_of_bare_ort}, binary ${line.cpu_fraction_of_bare_ort_binary}; batching gain in CPU per request: JSON ${line.batching_gain_cpu}x, binary ${line.batching_gain_cpu_binary}x`,
      `  CPU µs/request (event loop / server / load generator): JSON ${line.event_loop_us_per_req}/${line.server_cpu_us_per_req}/${line.loadgen_cpu_us_per_req}, binary ${line.event_loop_us_per_req_binary}/${line.server_cpu_us_per_req_binary}/${line.loadgen_cpu_us_per_req_binary}`,
      `  gRPC    batched ${line.rps_batched_grpc} req/s (mean batch ${line.mean_batch_grpc}), unbatched ${line.rps_unbatched_grpc} -> gain ${line.batching_gain_grpc}x; ${line.fraction_of_bare_ort_grpc} of bare ORT; server overhead ${line.server_cpu_us_per_request_grpc} µs/req`,
      `  server's own CPU per request (server minus ORT): JSON ${line.server_cpu_us_per_request} µs, binary ${line.server_cpu_us_per_request_binary} µs; a 503 costs ${line.reject_cpu_us} µs = ${line.reject_cost_ratio} of a 200 (${line.overload_rejected_rps} refused/s, ${line.overload_ok_rps} ok/s)`,
      `  fixed ${rate} req/s (JSON): p50 ${line.p50_ms} ms, p99 ${line.p99_ms} ms; failures ${line.failures}`,
      ...line.all.map(
        (a) =>
          `    ${a.format.padEnd(6)} ${a.batched ? 'batched  ' : 'unbatched'} ${a.config}: ${a.rps} req/s (${a.rps_range.join('-')}), batch ${a.mean_batch}, p50 ${a.p50_ms} p99 ${a.p99_ms} ms, µs/req loop ${a.event_loop_us} server ${a.server_us} loadgen ${a.loadgen_us}`,
      ),
    ].join('\n'),
  );
}
