// `lathe train --nproc 2` on 127.0.0.1: a SIGKILLed rank makes the other stop with an error naming it (never a hang);
// with --max-restarts 1 the group restarts from the last checkpoint and ends with the weights of an uninterrupted
// run; manual launch flags and the environment are checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliEntry, runCli } from '../util/cli.js';
import { readSafetensors } from '../../src/nn/safetensors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-cli-ddp-'));
const config = (name: string, epochs = 3) => {
  const path = join(tmp, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      name,
      seed: 3,
      model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [32], dropout: 0.1 } },
      data: { name: 'fashion-mnist-subset', batchSize: 16, limit: 640 },
      optimizer: { name: 'adam', lr: 0.003 },
      trainer: { epochs, checkpointEvery: { steps: 4 } },
      output: join(tmp, name),
    }),
  );
  return path;
};

const lastTensors = (dir: string) =>
  readSafetensors(join(dir, JSON.parse(readFileSync(join(dir, 'last.json'), 'utf8')).tensorsFile)).tensors;

/** Runs `lathe train <cfg> --nproc 2 …` and SIGKILLs rank 1 once rank 0 reports its first epoch. */
function runAndKillRank1(
  cfg: string,
  extra: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; killedAt: number; ended: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      cliEntry,
      'train',
      cfg,
      '--nproc',
      '2',
      '--json',
      '--dist-timeout',
      '20',
      ...extra,
    ]);
    let stdout = '';
    let stderr = '';
    let rank1 = 0;
    let killedAt = 0;
    child.stderr.on('data', (b) => (stderr += b));
    createInterface({ input: child.stdout }).on('line', (l) => {
      stdout += `${l}\n`;
      const e = JSON.parse(l) as { event?: string; rank?: number; pid?: number; attempt?: number };
      if (e.event === 'rank_started' && e.rank === 1 && e.attempt === 0) rank1 = e.pid!;
      if (e.event === 'epoch' && !killedAt) {
        killedAt = Date.now();
        process.kill(rank1, 'SIGKILL');
      }
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr, killedAt, ended: Date.now() }));
  });
}

test('SIGKILL of rank 1: rank 0 stops at once with an error naming rank 1, and the launcher names it too', async () => {
  const r = await runAndKillRank1(config('killed'), []);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.killedAt > 0, 'never saw an epoch end');
  assert.match(r.stderr, /\[rank 0\] .*rank 0: .*rank 1 (closed its connection|failed its connection)/);
  assert.match(r.stderr, /lathe: rank 1 was killed by SIGKILL; the group stopped/);
  assert.ok(r.ended - r.killedAt < 15_000, `took ${r.ended - r.killedAt} ms after the kill`);
});

test('--max-restarts 1: a SIGKILLed rank costs a restart from the last checkpoint; final weights equal an uninterrupted run', async () => {
  const full = runCli(['train', config('full'), '--nproc', '2', '--json']);
  assert.equal(full.status, 0, full.stderr);
  const r = await runAndKillRank1(config('restarted'), ['--max-restarts', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /lathe: rank 1 was killed by SIGKILL; restarting all 2 ranks from the last checkpoint \(restart 1 of 1\)/,
  );
  assert.match(r.stdout, /"event":"rank_started","rank":0,"pid":\d+,"attempt":1,"resume":true/);
  const a = lastTensors(join(tmp, 'full'));
  const b = lastTensors(join(tmp, 'restarted'));
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a))
    assert.deepEqual(
      Buffer.from((b[k].data as Float32Array).buffer),
      Buffer.from((a[k].data as Float32Array).buffer),
      `tensor ${k}`,
    );
});

test('manual launch: bad rank flags and environment are refused with the flag or variable named', () => {
  let r = runCli(['train', config('flags'), '--rank', '2', '--world-size', '2', '--master', '127.0.0.1:1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--rank: rank 2 is outside the world of 2/);
  r = runCli(['train', config('flags')], { env: { WORLD_SIZE: '2', JOB_COMPLETION_INDEX: '1' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--master: required with --world-size > 1 \(or set MASTER_ADDR\)/);
  r = runCli(['train', config('flags'), '--nproc', '2', '--rank', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--nproc starts every rank itself/);
});
