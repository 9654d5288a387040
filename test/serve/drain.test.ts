// Startup and shutdown as a load balancer sees them: live while models load, ready only after
// warm-up; on SIGTERM readiness false first, then the listener closes, and no accepted request is lost.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildServer, parseServeConfig } from '../../src/serve/index.js';
import { mlpInput, model, repo } from './helpers.js';

it('live answers while the models load; ready and infer only after warm-up', async () => {
  const s = buildServer({
    config: parseServeConfig({
      server: { logLevel: 'silent', readinessDrainMs: 0 },
      models: { mlp: model(join(repo, 'mlp'), { versions: 'latest' }) },
    }),
  });
  try {
    const url = await s.listen(0, '127.0.0.1');
    assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 400);
    const early = await fetch(`${url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(mlpInput([[1, 2, 3, 4]])),
    });
    assert.equal(early.status, 503);
    assert.ok(Number(early.headers.get('retry-after')) >= 1);
    await s.load();
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    const ok = await fetch(`${url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(mlpInput([[1, 2, 3, 4]])),
    });
    assert.equal(ok.status, 200);
  } finally {
    await s.close();
  }
});

it('SIGTERM under load: readiness false before the listener closes, 0 accepted requests lost', async () => {
  const child = spawn(
    process.execPath,
    [
      'bin/lathe.js',
      'serve',
      join(repo, 'mlp'),
      '--port',
      '0',
      '--drain-delay',
      '400',
      '--threads',
      '1',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  let stop = false;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+);/.exec(out);
        if (m && out.includes('ready')) resolve(m[1]);
      });
      child.on('exit', () => reject(new Error(`lathe serve exited early: ${stderr}`)));
    });
    const body = JSON.stringify(mlpInput([[1, 2, 3, 4]]));
    const statuses = new Map<number, number>();
    const lost: string[] = [];
    let refusedAt = 0;
    let unreadyAt = 0;
    // Bounded load: 8 clients, each sending until the server refuses connections (or 60 s pass).
    const client = async (): Promise<void> => {
      while (!stop && Date.now() < deadline) {
        try {
          const r = await fetch(`${url}/v2/models/mlp/infer`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        } catch (err) {
          const cause = (err as { cause?: { code?: string; syscall?: string } }).cause;
          const code = cause?.code;
          // Never accepted: refused, or reset while still in the kernel's accept backlog when the listener closed
          // ("connect ECONNRESET"). A request on an accepted connection must never fail.
          if (code === 'ECONNREFUSED' || (code === 'ECONNRESET' && cause?.syscall === 'connect')) {
            refusedAt ||= performance.now();
            return;
          }
          lost.push(`${code ?? ''} ${(err as Error).message} ${String((err as { cause?: unknown }).cause)}`);
        }
      }
    };
    const probe = async (): Promise<void> => {
      while (!stop && Date.now() < deadline) {
        const ready = await fetch(`${url}/v2/health/ready`).then(
          (r) => r.status,
          () => -1,
        );
        if (ready !== 200 && !unreadyAt) unreadyAt = performance.now();
        if (ready === -1) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const clients = Array.from({ length: 8 }, client);
    const prober = probe();
    while ((statuses.get(200) ?? 0) < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const termAt = performance.now();
    child.kill('SIGTERM');
    await Promise.all([...clients, prober]);
    stop = true;
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(lost, [], `requests lost: ${lost.length}: ${lost.slice(0, 3).join('; ')}`);
    assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok(
      unreadyAt > termAt && refusedAt > unreadyAt,
      `readiness false at +${(unreadyAt - termAt).toFixed(0)} ms, connections refused at +${(refusedAt - termAt).toFixed(0)} ms`,
    );
    assert.ok(
      refusedAt - termAt >= 350,
      `the listener closed ${(refusedAt - termAt).toFixed(0)} ms after SIGTERM, before the 400 ms drain delay`,
    );
  } finally {
    stop = true;
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
