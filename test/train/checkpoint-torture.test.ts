// Kills `lathe train` (SIGKILL, via LATHE_FAILPOINT) at points all through the checkpoint save sequence — after a
// save's tensors are written but before its manifest commits, right after a commit, and between an epoch's
// callbacks (top-k / best / CSV) and its commit — then resumes (or restarts when nothing was committed yet).
// Every interrupted run must end exactly like the uninterrupted one: final weights bit-identical, the same best
// checkpoint, the same metrics.csv rows, the same checkpoint files and nothing left over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../util/cli.js';
import { readSafetensors } from '../../src/nn/safetensors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lathe-torture-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function config(name: string): string {
  const cfg = {
    name,
    seed: 5,
    model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [16], dropout: 0.1 } },
    data: { name: 'fashion-mnist-subset', batchSize: 32, limit: 320, valFraction: 0.2 },
    optimizer: { name: 'adam', lr: 0.003 },
    trainer: { epochs: 3, checkpointEvery: { steps: 3 } },
    callbacks: { checkpoint: { monitor: 'val_accuracy', saveTopK: 1 } },
    output: join(tmp, name),
  };
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

interface Outcome {
  readonly last: Record<string, string>;
  readonly best: { epoch: number; metrics: unknown; tensors: Record<string, string> };
  readonly csv: string;
  readonly files: string[];
}

const manifest = (dir: string, name: string) =>
  JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as {
    epoch: number;
    metrics: unknown;
    tensorsFile: string;
  };
const tensors = (dir: string, name: string): Record<string, string> => {
  const t = readSafetensors(join(dir, manifest(dir, name).tensorsFile)).tensors;
  return Object.fromEntries(
    Object.keys(t)
      .sort()
      .map((k) => [k, Buffer.from((t[k].data as Float32Array).buffer).toString('base64')]),
  );
};

function outcome(dir: string): Outcome {
  const csv = readFileSync(join(dir, 'metrics.csv'), 'utf8')
    .split('\n')
    .map((l) =>
      l
        .split(',')
        .filter((_, i) => i !== 2)
        .join(','),
    )
    .join('\n'); // without seconds
  const files = readdirSync(dir)
    .map((f) => f.replace(/\.\d+-[0-9a-f]{8}\.safetensors$/, '.<save>.safetensors'))
    .sort();
  const b = manifest(dir, 'best');
  return {
    last: tensors(dir, 'last'),
    best: { epoch: b.epoch, metrics: b.metrics, tensors: tensors(dir, 'best') },
    csv,
    files,
  };
}

test('SIGKILL anywhere in the checkpoint save sequence, then resume: the run ends bit-identical, best included', () => {
  const ref = runCli(['train', config('ref'), '--json']);
  assert.equal(ref.status, 0, ref.stderr);
  const expected = outcome(join(tmp, 'ref'));
  assert.ok(expected.files.includes('best.json') && expected.files.includes('last.json'), expected.files.join(' '));

  const points: [string, number][] = [
    ['checkpoint:tensors-written', 1],
    ['checkpoint:tensors-written', 4],
    ['checkpoint:tensors-written', 7],
    ['checkpoint:committed', 2],
    ['checkpoint:committed', 5],
    ['checkpoint:committed', 9],
    ['trainer:epoch-end-hooks-done', 1],
    ['trainer:epoch-end-hooks-done', 2],
  ];
  for (const [point, n] of points) {
    const name = `${point.replace(/\W/g, '-')}-${n}`;
    const cfg = config(name);
    const dir = join(tmp, name);
    const killed = runCli(['train', cfg, '--json'], { env: { LATHE_FAILPOINT: `${point}:${n}` } });
    assert.equal(
      killed.signal,
      'SIGKILL',
      `${name}: expected the failpoint to kill the run (status ${killed.status}): ${killed.stderr}`,
    );
    const resumed = existsSync(join(dir, 'last.json'))
      ? runCli(['train', '--resume', dir, '--json'])
      : runCli(['train', cfg, '--json']);
    assert.equal(resumed.status, 0, `${name}: ${resumed.stderr}`);
    // a kill never damages a committed checkpoint: no fallback to an older one is ever needed
    assert.doesNotMatch(
      resumed.stdout + resumed.stderr,
      /resume_fallback|CheckpointFallback/,
      `${name}: resumed through a fallback`,
    );
    const got = outcome(dir);
    assert.deepEqual(got.files, expected.files, `${name}: checkpoint files`);
    assert.deepEqual(got.best, expected.best, `${name}: best checkpoint`);
    assert.equal(got.csv, expected.csv, `${name}: metrics.csv`);
    assert.deepEqual(got.last, expected.last, `${name}: final weights`);
  }
});
