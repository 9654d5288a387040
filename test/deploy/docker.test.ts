// The Docker image end to end: `lathe deploy --target docker` writes the build context, the real Dockerfile is
// built unchanged on node:20-bookworm-slim (the official image, or the local stand-in that
// scripts/deploy/docker-standin.sh builds from debootstrap + this machine's Node 20 where no registry is
// reachable), and the container runs with --network host on 127.0.0.1, read-only root, as uid 1000. Checked
// against it: health, OIP metadata and errors, inference equal to an in-process lathe serve, the binary
// extension, metrics, Docker's HEALTHCHECK, and a graceful stop under load (SIGTERM: readiness false while
// answering, no accepted request lost, exit code 0). Image size and start-to-ready time are printed.
//
// Skipped, with the reason, when no Docker daemon answers or the base image is missing; LATHE_REQUIRE_DOCKER=1
// (set by .ci/run after it prepared Docker) turns those skips into failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { deploy } from '../../src/deploy/index.js';
import { createServer, parseServeConfig } from '../../src/serve/index.js';
import { CNN, tempDir } from './helpers.js';
import { checkOipConformance } from './oip-conformance.js';

const IMAGE = 'lathe-deploy-test:latest';
const NAME = 'fashion-cnn';

function sh(
  cmd: string,
  args: readonly string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, out: String(e) });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, out });
    });
  });
}

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function whyNotDocker(): Promise<string | undefined> {
  const info = await sh('docker', ['info', '--format', '{{.ServerVersion}}'], 20_000);
  if (info.code !== 0)
    return `no Docker daemon answers (${info.out.trim().split('\n').at(-1)}); run scripts/deploy/docker-standin.sh as root (needs docker.io and debootstrap)`;
  const base = await sh('docker', ['image', 'inspect', 'node:20-bookworm-slim'], 20_000);
  if (base.code !== 0)
    return 'the base image node:20-bookworm-slim is missing and no registry is reachable here; scripts/deploy/docker-standin.sh builds a local stand-in';
  return undefined;
}

const image = (shape: number[], value: (i: number) => number) => ({
  name: 'image',
  datatype: 'FP32',
  shape,
  data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(i)),
});

test('docker: the generated image serves the model, healthy and draining on SIGTERM', {
  timeout: 900_000,
}, async (t) => {
  const why = await whyNotDocker();
  if (why) {
    if (process.env.LATHE_REQUIRE_DOCKER === '1') assert.fail(`LATHE_REQUIRE_DOCKER=1 but ${why}`);
    return t.skip(why);
  }
  const out = join(tempDir(), 'image');
  await deploy({ model: CNN, target: 'docker', out, name: NAME });

  const t0 = performance.now();
  const build = await sh('docker', ['build', '--network', 'host', '-t', IMAGE, out], 600_000, {
    ...process.env,
    DOCKER_BUILDKIT: '0',
  });
  const buildS = (performance.now() - t0) / 1000;
  assert.equal(build.code, 0, `docker build failed:\n${build.out.slice(-3000)}`);
  const size = Number((await sh('docker', ['image', 'inspect', '-f', '{{.Size}}', IMAGE])).out.trim());
  const base = Number(
    (await sh('docker', ['image', 'inspect', '-f', '{{.Size}}', 'node:20-bookworm-slim'])).out.trim(),
  );
  const user = (await sh('docker', ['image', 'inspect', '-f', '{{.Config.User}}', IMAGE])).out.trim();
  assert.equal(user, '1000:1000', 'the image runs as the non-root node user');

  const port = await freePort();
  const base_url = `http://127.0.0.1:${port}`;
  const container = `lathe-deploy-test-${process.pid}`;
  await sh('docker', ['rm', '-f', container]);
  const started = performance.now();
  const run = await sh('docker', [
    'run',
    '-d',
    '--name',
    container,
    '--network',
    'host',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '-e',
    `LATHE_HEALTH_URL=${base_url}/v2/health/ready`,
    IMAGE,
    'serve',
    '--config',
    '/app/serve.yaml',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--drain-delay',
    '1500',
  ]);
  assert.equal(run.code, 0, run.out);
  const local = await createServer({
    config: parseServeConfig({
      server: { logLevel: 'silent', readinessDrainMs: 0 },
      models: { [NAME]: { source: CNN, instances: 1, intraOpThreads: 1, warmup: { runs: 1 } } },
    }),
  });
  try {
    let readyMs = -1;
    for (let i = 0; i < 1200 && readyMs < 0; i++) {
      const r = await fetch(`${base_url}/v2/health/ready`).catch(() => undefined);
      if (r?.status === 200) readyMs = performance.now() - started;
      else await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(readyMs > 0, `not ready after 120 s:\n${(await sh('docker', ['logs', container])).out.slice(-2000)}`);
    assert.equal((await fetch(`${base_url}/v2/health/live`)).status, 200);

    // OIP conformance (the checks the reference server passes in consistency.test.ts), then inference equal to
    // the in-process server and the binary extension.
    const conformance = await checkOipConformance(base_url, NAME);
    const meta = (await (await fetch(`${base_url}/v2/models/${NAME}`)).json()) as {
      inputs: { name: string; shape: number[] }[];
    };
    assert.deepEqual(meta.inputs, [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] }]);
    assert.match(JSON.stringify(await (await fetch(`${base_url}/v2`)).json()), /binary_tensor_data/);
    const post = (
      path: string,
      body: unknown,
      headers: Record<string, string> = { 'content-type': 'application/json' },
    ) =>
      fetch(base_url + path, {
        method: 'POST',
        body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
        headers,
      });
    const bad = await post(`/v2/models/${NAME}/infer`, { inputs: [image([1, 1, 28, 27], () => 0)] });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /input 'image' has shape \[1,1,28,27\]/);
    assert.equal((await post('/v2/models/nope/infer', { inputs: [image([1, 1, 28, 28], () => 0)] })).status, 404);
    const req = { inputs: [image([3, 1, 28, 28], (i) => ((i * 7919) % 255) / 255)] };
    const got = (await (await post(`/v2/models/${NAME}/infer`, req)).json()) as {
      outputs: { name: string; shape: number[]; data: number[] }[];
    };
    const want = JSON.parse(
      (await local.app.inject({ method: 'POST', url: `/v2/models/${NAME}/infer`, payload: req })).body,
    ) as typeof got;
    assert.deepEqual(got.outputs[0].shape, [3, 10]);
    got.outputs[0].data.forEach((v, i) =>
      assert.ok(Math.abs(v - want.outputs[0].data[i]) < 1e-5, `logit ${i}: ${v} vs ${want.outputs[0].data[i]}`),
    );
    // Binary tensor data extension: raw FP32 in, raw logits out.
    const header = JSON.stringify({
      inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], parameters: { binary_data_size: 3136 } }],
      parameters: { binary_data_output: true },
    });
    const body = Buffer.concat([Buffer.from(header), Buffer.from(new Float32Array(784).fill(0.25).buffer)]);
    const bin = await post(`/v2/models/${NAME}/infer`, body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(Buffer.byteLength(header)),
    });
    assert.equal(bin.status, 200);
    const hl = Number(bin.headers.get('inference-header-content-length'));
    assert.equal((await bin.arrayBuffer()).byteLength - hl, 40);

    const metrics = await (await fetch(`${base_url}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`lathe_requests_total\\{model="${NAME}",version="1",code="200",protocol="rest"\\} [1-9]`),
    );
    assert.match(metrics, /lathe_queue_depth\{/);

    // Docker's own HEALTHCHECK (every 10 s) turns healthy.
    let health = '';
    for (let i = 0; i < 60 && health !== 'healthy'; i++) {
      health = (await sh('docker', ['inspect', '-f', '{{.State.Health.Status}}', container])).out.trim();
      if (health !== 'healthy') await new Promise((res) => setTimeout(res, 1000));
    }
    assert.equal(health, 'healthy');

    // Graceful stop under load: 4 clients keep sending until the listener closes; every answered request is a 200.
    const statuses: number[] = [];
    let refused = 0;
    let sawUnready = false;
    let stopping = false;
    const client = async () => {
      for (;;) {
        try {
          const r = await post(`/v2/models/${NAME}/infer`, { inputs: [image([1, 1, 28, 28], () => 0.5)] });
          statuses.push(r.status);
          await r.arrayBuffer();
        } catch {
          refused++;
          if (stopping) return;
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    await new Promise((res) => setTimeout(res, 500));
    const stopAt = performance.now();
    stopping = true;
    const stop = sh('docker', ['stop', '-t', '30', container]);
    for (let i = 0; i < 20 && !sawUnready; i++) {
      const r = await fetch(`${base_url}/v2/health/ready`).catch(() => undefined);
      if (r?.status === 400) sawUnready = true;
      else await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal((await stop).code, 0);
    const stopMs = performance.now() - stopAt;
    await Promise.all(clients);
    const exit = (await sh('docker', ['inspect', '-f', '{{.State.ExitCode}}', container])).out.trim();
    assert.ok(sawUnready, 'readiness turned false after SIGTERM while the server still answered');
    assert.ok(statuses.length > 0);
    assert.deepEqual(
      [...new Set(statuses)],
      [200],
      `answered statuses during the stop: ${[...new Set(statuses)].join(',')}`,
    );
    assert.equal(exit, '0', 'lathe serve exits 0 after draining');
    assert.ok(stopMs >= 1400, `the listener stayed open for the drain delay (stopped after ${stopMs.toFixed(0)} ms)`);

    const report = {
      oip_checks: conformance,
      image_bytes: size,
      base_image_bytes: base,
      build_s: +buildS.toFixed(1),
      start_to_ready_ms: Math.round(readyMs),
      stop_ms: Math.round(stopMs),
      requests_during_stop: statuses.length,
      refused_after_close: refused,
    };
    console.log(`docker-deploy: ${JSON.stringify(report)}`);
    if (process.env.LATHE_DEPLOY_REPORT) writeFileSync(process.env.LATHE_DEPLOY_REPORT, JSON.stringify(report) + '\n');
  } finally {
    await local.close();
    await sh('docker', ['rm', '-f', container]);
  }
});
