// The training CLI: bad input gives one clear error and exit code 2; SIGKILL during epoch 2 then --resume gives
// final weights bit-identical to an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cliEntry, runCli } from '../util/cli.js';
import { readSafetensors } from '../../src/nn/safetensors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-cli-train-'));
const config = (name: string, over: Record<string, unknown> = {}) => {
  const cfg = {
    name,
    seed: 3,
    model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [32], dropout: 0.1 } },
    data: { name: 'fashion-mnist-subset', batchSize: 32, limit: 640 },
    optimizer: { name: 'adam', lr: 0.003 },
    trainer: { epochs: 3 },
    output: join(tmp, name),
    ...over,
  };
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
};

test('bad input: unknown model, wrong field type, missing data, corrupt checkpoint → exit 2 and a message naming the field or file', () => {
  let r = runCli(['train', config('bad-model', { model: { name: 'resnet-9000' } })]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /model\.name: unknown model "resnet-9000"/);
  r = runCli(['train', config('bad-type', { trainer: { epochs: 'three' } })]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /trainer\.epochs: .*number/i);
  r = runCli(['train', config('bad-option', { model: { name: 'mlp', options: { hidden: [-3] } } })]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /model\.options\.hidden\.0/);
  r = runCli(['train', config('no-data', { data: { name: 'fashion-mnist-subset', root: join(tmp, 'nowhere') } })]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /data\.root: \S*nowhere does not exist/);
  // a root the user names is the only place looked at, even where the system has the full dataset
  r = runCli(['train', config('no-data-full', { data: { name: 'fashion-mnist', root: join(tmp, 'nowhere') } })]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /data\.root: \S*nowhere does not exist/);
  r = runCli(['train', config('empty-root', { data: { name: 'fashion-mnist', root: tmp } })]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /data\.root: \S+ has no Fashion-MNIST files/);
  assert.ok(!existsSync(join(tmp, 'no-data', 'last.json')), 'no checkpoint left behind');
  r = runCli(['train', join(tmp, 'missing.yaml')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.yaml: config file not found/);
  const bad = join(tmp, 'corrupt');
  runCli(['train', config('corrupt', { trainer: { epochs: 1 } })]);
  const tensorsOf = (name: string): string =>
    join(bad, JSON.parse(readFileSync(join(bad, `${name}.json`), 'utf8')).tensorsFile);
  writeFileSync(tensorsOf('last'), 'garbage');
  r = runCli(['eval', bad]); // falls back to the newest intact checkpoint, and says so
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /checksum mismatch \(corrupt checkpoint\); using \S+\.json \(step \d+\) instead/);
  for (const f of readdirSync(bad).filter((f) => f.endsWith('.json') && f !== 'config.json' && f !== 'summary.json'))
    writeFileSync(tensorsOf(f.slice(0, -5)), 'garbage');
  r = runCli(['eval', bad]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /\.safetensors: checksum mismatch \(corrupt checkpoint\)/);
  r = runCli(['eval', tmp]); // a directory that is not a run
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no last\.json \(not a run directory/);
});

function trainUntilKilled(cfgPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, 'train', cfgPath, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // the epoch-0 line is printed before that epoch's commit: kill once `last` holds the end of epoch 0, during
      // epoch index 1 (the 2nd epoch)
      if (out.includes('"event":"epoch","epoch":0')) {
        const dir = dirname(cfgPath);
        const poll = setInterval(() => {
          try {
            if (JSON.parse(readFileSync(join(dir, 'killed', 'last.json'), 'utf8')).epoch === 1) {
              clearInterval(poll);
              child.kill('SIGKILL');
            }
          } catch {
            // not written yet
          }
        }, 5);
      }
    });
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`not killed: code ${code} ${out}`)),
    );
  });
}

test('SIGKILL during epoch 2, then --resume: final weights bit-identical to an uninterrupted run; same seed → same metrics', async () => {
  const full = runCli(['train', config('full'), '--json']);
  assert.equal(full.status, 0, full.stderr);
  const again = runCli(['train', config('again'), '--json']);
  const epochs = (s: string) =>
    s
      .split('\n')
      .filter((l) => l.includes('"event":"epoch"'))
      .map((l) => {
        const o = JSON.parse(l);
        delete o.seconds;
        return o;
      });
  assert.deepEqual(epochs(again.stdout), epochs(full.stdout));

  const killedCfg = config('killed');
  await trainUntilKilled(killedCfg);
  const killedDir = join(tmp, 'killed');
  assert.equal(JSON.parse(readFileSync(join(killedDir, 'last.json'), 'utf8')).epoch, 1);
  assert.ok(!readdirSync(killedDir).some((f) => f.endsWith('.tmp') && !f.startsWith('.')));
  const resumed = runCli(['train', '--resume', killedDir, '--json']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const lastTensors = (dir: string): string =>
    join(dir, JSON.parse(readFileSync(join(dir, 'last.json'), 'utf8')).tensorsFile);
  const a = readSafetensors(lastTensors(join(tmp, 'full'))).tensors;
  const b = readSafetensors(lastTensors(killedDir)).tensors;
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const k of Object.keys(a))
    assert.deepEqual(
      Buffer.from((b[k].data as Float32Array).buffer),
      Buffer.from((a[k].data as Float32Array).buffer),
      `tensor ${k}`,
    );
});

test('--set overrides config fields (validated like the file); a finished run is never overwritten without --overwrite', () => {
  const cfg = config('overrides', { trainer: { epochs: 3 } });
  let r = runCli([
    'train',
    cfg,
    '--set',
    'trainer.epochs=1',
    '--set',
    'optimizer.lr=1e-3',
    '--set',
    'data.limit=128',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const saved = JSON.parse(readFileSync(join(tmp, 'overrides', 'config.json'), 'utf8'));
  assert.equal(saved.trainer.epochs, 1);
  assert.equal(saved.optimizer.lr, 0.001);
  assert.equal(saved.data.limit, 128);
  r = runCli(['train', cfg, '--set', 'trainer.epochs=1']);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /output: \S+overrides already holds a run \(last\.json\): --resume \S+ continues it, --overwrite replaces it/,
  );
  r = runCli(['train', cfg, '--set', 'trainer.epochs=1', '--set', 'data.limit=64', '--overwrite', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(tmp, 'overrides', 'config.json'), 'utf8')).data.limit, 64);
  r = runCli(['train', cfg, '--set', 'trainer.epochs=many']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /with --set: trainer\.epochs: /);
  r = runCli(['train', cfg, '--set', 'epochs']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--set epochs: expected path\.to\.field=value/);
  r = runCli(['train', cfg, '--set', 'optimizer.lr.x=1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--set optimizer\.lr\.x=1: optimizer\.lr is not an object/);
  // weights alone, by module path, from the finished run
  const st = join(tmp, 'weights.safetensors');
  r = runCli(['export', join(tmp, 'overrides'), '--safetensors', st]);
  assert.equal(r.status, 0, r.stderr);
  const w = readSafetensors(st);
  assert.deepEqual(Object.keys(w.tensors).sort(), [
    'layers.1.bias',
    'layers.1.weight',
    'layers.4.bias',
    'layers.4.weight',
  ]);
  assert.match(w.metadata['lathe.inference'], /"kind":"image"/);
  r = runCli(['export', join(tmp, 'overrides'), '--onnx', join(tmp, 'x.onnx'), '--opset', '16']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--opset: expected an integer from 17 to 21, got 16/);
});
