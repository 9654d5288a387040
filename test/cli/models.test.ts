// `lathe models` lists the zoo with parameter counts; `lathe models show` prints a layer table whose FLOPs come
// from the traced graph (checked here against hand-counted multiply-accumulates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../util/cli.js';

test('lathe models: every registered model with its default parameter count (or the options it needs)', () => {
  const r = runCli(['models', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; params: number | null; needs: string | null });
  const by = Object.fromEntries(rows.map((x) => [x.name, x]));
  assert.equal(by.mlp.params, 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  assert.equal(by.resnet.params, 11_172_810); // ResNet-18, 1 input channel, 10 classes
  assert.match(by['transformer-classifier'].needs ?? '', /vocab/);
  for (const n of ['unet', 'seq2seq', 'gpt', 'mobilenetv2', 'mamba'])
    assert.ok(by[n]?.params, `${n} listed with params`);
});

test('lathe models show: layer table with output shapes, params and graph-counted FLOPs; --input, --config, errors', () => {
  const r = runCli([
    'models',
    'show',
    'mlp',
    '--options',
    '{"hidden":[32],"imageShape":[1,28,28]}',
    '--input',
    '4,1,28,28',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as {
    rows: { path: string; type: string; outputShape: number[]; params: number; macs: number }[];
    totalMacs: number;
    totalFlops: number;
    totalParams: number;
  };
  // two Gemms: 4·784·32 + 4·32·10 multiply-accumulates
  assert.equal(s.totalMacs, 4 * 784 * 32 + 4 * 32 * 10);
  assert.equal(s.totalFlops, 2 * s.totalMacs);
  assert.equal(s.totalParams, 784 * 32 + 32 + 32 * 10 + 10);
  assert.deepEqual(s.rows[0].outputShape, [4, 10]);
  const linears = s.rows.filter((x) => x.type === 'Linear');
  assert.deepEqual(
    linears.map((x) => x.macs),
    [4 * 784 * 32, 4 * 32 * 10],
  );

  // a conv net from a training config: conv MACs = output size · Cin·k·k
  const dir = mkdtempSync(join(tmpdir(), 'lathe-models-'));
  const cfg = join(dir, 'cfg.yaml');
  writeFileSync(
    cfg,
    'model:\n  name: resnet\n  options: { layers: [1], widths: [8], strides: [2], channels: 3, size: 16 }\ndata: { name: fashion-mnist }\n',
  );
  const c = runCli(['models', 'show', '--config', cfg, '--input', '2,3,16,16', '--json']);
  assert.equal(c.status, 0, c.stderr);
  const cs = JSON.parse(c.stdout) as {
    rows: { path: string; outputShape: number[]; macs: number }[];
    totalMacs: number;
  };
  const stem = cs.rows.find((x) => x.path === 'stem.conv')!;
  assert.deepEqual(stem.outputShape, [2, 8, 16, 16]);
  assert.equal(stem.macs, 2 * 8 * 16 * 16 * 3 * 9);
  // the stage starts with stride 2 (`strides`): two 3×3 convs and the 1×1 shortcut at 8×8
  assert.deepEqual(cs.rows.find((x) => x.path === 'blocks.0')!.outputShape, [2, 8, 8, 8]);
  const convs = 2 * 8 * 256 * 3 * 9 + 2 * (2 * 8 * 64 * 8 * 9) + 2 * 8 * 64 * 8;
  assert.equal(cs.totalMacs, convs + 2 * 8 * 10);

  const t = runCli(['models', 'show', 'gpt', '--options', '{"vocab":50,"context":16,"dim":32,"layers":1,"heads":2}']);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /inputs int64\[1, 16\]/);
  assert.match(t.stdout, /blocks\.0\.attn\s+MultiHeadAttention\s+\[1,16,32\]/);
  assert.match(t.stdout, /total params\s+/);

  const bad = runCli(['models', 'show', 'resnet', '--options', '{"layers":"x"}']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /options\.layers/);
  const unknown = runCli(['models', 'show', 'nope']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown model "nope"/);
});
