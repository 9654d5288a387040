// Real 127.0.0.1 listener: hot reload of a new version under load with zero failed requests,
// and graceful shutdown that answers every accepted request. Bounded in requests and time.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model, repo, startServer } from './helpers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lathe-serve-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] });

it('hot reload to a new version under load: zero failed requests, readiness stays true', async () => {
  mkdirSync(join(dir, 'mlp'));
  cpSync(join(repo, 'mlp', '1'), join(dir, 'mlp', '1'), { recursive: true });
  const s = await startServer({ models: { mlp: model(join(dir, 'mlp'), { versions: 'latest' }) } });
  const url = await s.listen(0, '127.0.0.1');
  const seen: string[] = [];
  const failures: string[] = [];
  let notReady = 0;
  let stop = false;
  const deadline = Date.now() + 20_000;
  const client = async () => {
    while (!stop && seen.length < 5000 && Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/v2/models/mlp/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const j = (await r.json()) as { model_version?: string; error?: string };
        if (r.status !== 200) failures.push(`${r.status} ${j.error}`);
        else seen.push(j.model_version!);
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const readiness = async () => {
    while (!stop && Date.now() < deadline) {
      if ((await fetch(`${url}/v2/health/ready`)).status !== 200) notReady++;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const clients = [...Array.from({ length: 8 }, client), readiness()];
  try {
    while (seen.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    cpSync(join(repo, 'mlp', '2'), join(dir, 'mlp', '2'), { recursive: true });
    assert.deepEqual(await s.repository.reload('mlp'), ['2']);
    const atSwitch = seen.length;
    while (seen.length < atSwitch + 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  } finally {
    stop = true;
    await Promise.all(clients);
    await s.close();
  }
  assert.deepEqual(failures, []);
  assert.equal(notReady, 0);
  assert.ok(seen.includes('1') && seen.includes('2'), `versions seen: ${[...new Set(seen)]}`);
  assert.equal(seen[seen.length - 1], '2');
  assert.deepEqual(s.repository.versions('mlp'), []);
});

it('graceful shutdown answers every accepted request, then refuses connections', async () => {
  const s = await startServer({
    models: { slow: model(join(repo, 'slow'), { batching: { maxBatchSize: 1, maxQueueSize: 64 } }) },
  });
  const url = await s.listen(0, '127.0.0.1');
  const slowBody = (steps: number) =>
    JSON.stringify({
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0.2) },
        { name: 'steps', datatype: 'INT64', shape: [1], data: [steps] },
      ],
    });
  const send = (steps: number) =>
    fetch(`${url}/v2/models/slow/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: slowBody(steps),
    }).then((r) => r.status);
  const batcher = s.repository.get('slow').batcher;
  const n = 12;
  const deadline = Date.now() + 10_000;
  const until = async (cond: () => boolean) => {
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  };
  let statuses: number[];
  try {
    // The first request holds the only instance (~1-2 s), so the others are still queued when shutdown starts.
    const first = send(300_000);
    await until(() => batcher.pending === 1);
    const rest = Array.from({ length: n - 1 }, () => send(2000));
    await until(() => batcher.pending === n);
    assert.equal(batcher.pending, n, 'all requests accepted before shutdown');
    const closing = s.close();
    assert.equal(
      (await fetch(`${url}/v2/health/ready`).then(
        (r) => r.status,
        () => 0,
      )) === 200,
      false,
      'not ready while draining',
    );
    await closing;
    statuses = await Promise.all([first, ...rest]);
  } finally {
    await s.close();
  }
  assert.deepEqual(statuses, new Array(n).fill(200));
  await assert.rejects(fetch(`${url}/v2/health/live`));
});
