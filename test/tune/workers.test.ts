// Reliability: worker processes (child_process.fork) on one SQLite / PostgreSQL study run exactly N trials with no
// duplicates; a worker killed with SIGKILL mid-trial leaves that trial FAILED, re-queued, and the study finishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTuneConfig } from '../../src/tune/config.js';
import { runWorkers } from '../../src/tune/runner.js';
import { tuneWorkerEntry } from '../../src/cli/tune-tracking.js';
import { openStorage } from '../../src/tune/storage/open.js';
import type { FrozenTrial } from '../../src/tune/types.js';
import {
  objectiveFixture,
  pgAvailable,
  tempDir,
  tempPostgres,
  tempSqlite,
  writeConfig,
  type TempStorage,
} from './helpers.js';

const baseConfig = (n: number, extra: Record<string, unknown> = {}) => ({
  study: 'rel',
  direction: 'minimize',
  n_trials: n,
  objective: `${objectiveFixture}#objective`,
  sampler: { type: 'tpe', seed: 1, n_startup_trials: 4, constant_liar: true },
  space: { x: { type: 'float', low: -5, high: 5 }, y: { type: 'float', low: -5, high: 5 } },
  ...extra,
});

async function trialsOf(url: string): Promise<readonly FrozenTrial[]> {
  const s = await openStorage(url);
  try {
    const st = (await s.getStudy('rel'))!;
    return await s.getTrials(st.id);
  } finally {
    await s.close();
  }
}

async function exactlyN(store: TempStorage): Promise<void> {
  const d = tempDir();
  try {
    const path = writeConfig(d.dir, baseConfig(40));
    const exits = await runWorkers(loadTuneConfig(path), path, store.url, 8, { entry: tuneWorkerEntry });
    assert.deepEqual(
      exits.map((e) => e.code),
      Array(8).fill(0),
      exits.map((e) => e.stderr).join('\n'),
    );
    const ts = await trialsOf(store.url);
    assert.equal(ts.length, 40);
    assert.deepEqual(
      ts.map((t) => t.number),
      [...Array(40).keys()],
      'numbers 0..N-1, none twice',
    );
    assert.ok(ts.every((t) => t.state === 'COMPLETE'));
    assert.ok(new Set(ts.map((t) => t.worker!.split(':')[1])).size >= 2, 'several processes ran trials');
  } finally {
    d.cleanup();
    await store.cleanup();
  }
}

test('8 worker processes on one SQLite study run exactly N trials', () => exactlyN(tempSqlite()));

test(
  '8 worker processes on one PostgreSQL study run exactly N trials',
  { skip: (await pgAvailable()) ? false : 'PostgreSQL not reachable' },
  () => exactlyN(tempPostgres()),
);

async function killMidTrial(store: TempStorage): Promise<void> {
  const d = tempDir();
  const marker = join(d.dir, 'hung.pid');
  process.env.LATHE_TUNE_HANG = '5';
  process.env.LATHE_TUNE_HANG_FILE = marker;
  try {
    const path = writeConfig(d.dir, baseConfig(16, { heartbeat: { interval_s: 0.2, grace_s: 3, requeue: true } }));
    const done = runWorkers(loadTuneConfig(path), path, store.url, 3, { entry: tuneWorkerEntry });
    const t0 = Date.now();
    while (!existsSync(marker) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(marker, 'utf8'));
    process.kill(pid, 'SIGKILL');
    const exits = await done;
    assert.equal(exits.find((e) => e.pid === pid)!.signal, 'SIGKILL');
    assert.deepEqual(
      exits.filter((e) => e.pid !== pid).map((e) => e.code),
      [0, 0],
      exits.map((e) => e.stderr).join('\n'),
    );
    const ts = await trialsOf(store.url);
    const killed = ts.find((t) => t.number === 5)!;
    assert.equal(killed.state, 'FAILED');
    assert.equal(killed.systemAttrs.fail_reason, 'heartbeat');
    const copy = ts.find((t) => t.retryOf === 5)!;
    assert.equal(killed.retriedBy, copy.number);
    assert.equal(copy.state, 'COMPLETE', 'the re-queued copy ran');
    assert.deepEqual({ x: copy.params.x, y: copy.params.y }, { x: killed.params.x, y: killed.params.y });
    const counted = ts.filter((t) => t.retriedBy === null);
    assert.equal(counted.length, 16, 'exactly N counted trials');
    assert.ok(counted.every((t) => t.state === 'COMPLETE'));
    assert.equal(new Set(ts.map((t) => t.number)).size, ts.length);
  } finally {
    delete process.env.LATHE_TUNE_HANG;
    delete process.env.LATHE_TUNE_HANG_FILE;
    d.cleanup();
    await store.cleanup();
  }
}

test('SIGKILL mid-trial (SQLite): the trial is FAILED and re-queued, the study finishes with N trials', () =>
  killMidTrial(tempSqlite()));

test('SIGKILL mid-trial without requeue (SQLite): the trial is FAILED, not re-run, and counts toward N', async () => {
  const store = tempSqlite();
  const d = tempDir();
  const marker = join(d.dir, 'hung.pid');
  process.env.LATHE_TUNE_HANG = '3';
  process.env.LATHE_TUNE_HANG_FILE = marker;
  try {
    const path = writeConfig(d.dir, baseConfig(10, { heartbeat: { interval_s: 0.2, grace_s: 3, requeue: false } }));
    const done = runWorkers(loadTuneConfig(path), path, store.url, 2, { entry: tuneWorkerEntry });
    const t0 = Date.now();
    while (!existsSync(marker) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(readFileSync(marker, 'utf8'));
    process.kill(pid, 'SIGKILL');
    const exits = await done;
    assert.deepEqual(
      exits.filter((e) => e.pid !== pid).map((e) => e.code),
      [0],
      exits.map((e) => e.stderr).join('\n'),
    );
    const ts = await trialsOf(store.url);
    assert.equal(ts.length, 10, 'the study-wide budget holds: N trials in all');
    const killed = ts.find((t) => t.number === 3)!;
    assert.deepEqual([killed.state, killed.systemAttrs.fail_reason, killed.retriedBy], ['FAILED', 'heartbeat', null]);
    assert.ok(
      ts.every((t) => t.retryOf === null),
      'nothing re-queued',
    );
    assert.equal(ts.filter((t) => t.state === 'COMPLETE').length, 9);
  } finally {
    delete process.env.LATHE_TUNE_HANG;
    delete process.env.LATHE_TUNE_HANG_FILE;
    d.cleanup();
    await store.cleanup();
  }
});

test(
  'SIGKILL mid-trial (PostgreSQL): the trial is FAILED and re-queued, the study finishes with N trials',
  { skip: (await pgAvailable()) ? false : 'PostgreSQL not reachable' },
  () => killMidTrial(tempPostgres()),
);

test('lathe tune --workers 3 with one worker SIGKILLed mid-trial: by default its trial is re-run, the summary is printed, the death is a warning, exit 0', async () => {
  const { spawn } = await import('node:child_process');
  const { cliEntry } = await import('../util/cli.js');
  const store = tempSqlite();
  const d = tempDir();
  const marker = join(d.dir, 'hung.pid');
  try {
    const path = writeConfig(d.dir, baseConfig(12, { heartbeat: { interval_s: 0.2, grace_s: 3 } })); // requeue left at its default
    const child = spawn(
      process.execPath,
      [cliEntry, 'tune', path, '--workers', '3', '--storage', store.url, '--json'],
      {
        env: { ...process.env, LATHE_TUNE_HANG: '4', LATHE_TUNE_HANG_FILE: marker },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t0 = Date.now();
    while (!existsSync(marker) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    process.kill(Number(readFileSync(marker, 'utf8')), 'SIGKILL');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as {
      trials: { complete: number };
      warnings: string[];
    };
    assert.equal(summary.trials.complete, 12, 'all N trials complete (the killed one was re-run)');
    assert.equal(summary.warnings.length, 1);
    assert.match(summary.warnings[0], /killed by SIGKILL/);
    assert.match(stderr, /lathe: warning: worker \d+ \(pid \d+, killed by SIGKILL\)/);
  } finally {
    d.cleanup();
    await store.cleanup();
  }
});
