// The layers together from the CLI: train with tracking → register → serve models:/name/version → infer.
import { fingerprintFiles } from '../../src/track/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli } from '../util/cli.js';

test('train --track --register, then serve models:/<name>/<version> and infer over HTTP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lathe-int-'));
  const env = { LATHE_TRACKING_URL: `sqlite://${join(dir, 'track.db')}` };
  const cfg = join(dir, 'cfg.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      name: 'int',
      model: { name: 'mlp', options: { imageShape: [1, 28, 28], hidden: [16] } },
      data: { name: 'fashion-mnist-subset', batchSize: 64, limit: 256 },
      optimizer: { name: 'adam', lr: 0.003 },
      trainer: { epochs: 1 },
      output: join(dir, 'run'),
    }),
  );
  const t = runCli(['train', cfg, '--json', '--register', 'fashion-int'], { env }); // LATHE_TRACKING_URL turns tracking on
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /"uri":"models:\/fashion-int\/1"/);
  assert.match(t.stdout, /"trackedRun":"[0-9a-f]+"/);
  // the run's lineage names the dataset and fingerprints the files it read (the shipped subset)
  const runId = /"trackedRun":"([0-9a-f]+)"/.exec(t.stdout)![1];
  const shown = runCli(['track', 'show', runId, '--json'], { env });
  assert.equal(shown.status, 0, shown.stderr);
  const dataset = (JSON.parse(shown.stdout) as { lineage: { dataset: { name: string; fingerprint: string } } }).lineage
    .dataset;
  assert.equal(dataset.name, 'fashion-mnist-subset');
  assert.match(dataset.fingerprint, /^sha256:[0-9a-f]{64}$/);
  assert.equal(
    dataset.fingerprint,
    fingerprintFiles([new URL('../../../data/fashion-mnist-subset', import.meta.url).pathname]),
  );

  const server = await startCli(['serve', 'models:/fashion-int/1', '--port', '0'], { env });
  const url = server.url;
  try {
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = (await fetch(`${url}/v2/health/ready`)).status === 200;
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ready);
    const metaRes = await fetch(`${url}/v2/models/fashion-int`);
    const meta = (await metaRes.json()) as { inputs: { name: string }[] };
    assert.equal(metaRes.status, 200, JSON.stringify(meta));
    const res = await fetch(`${url}/v2/models/fashion-int/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: meta.inputs[0].name, datatype: 'FP32', shape: [1, 1, 28, 28], data: new Array(784).fill(0) }],
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { outputs: { shape: number[] }[] };
    assert.deepEqual(body.outputs[0].shape, [1, 10]);
  } finally {
    await server.stop();
  }
});
