// Model registry: versions from runs, aliases, models:/ URIs, the serve resolver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseModelUri,
  registerModel,
  registryResolver,
  resolveModelUri,
  startRun,
  TrackingError,
} from '../../src/track/index.js';
import { tempSqlite } from './helpers.js';

test('parseModelUri reads alias, version and bare-name forms and rejects malformed ones', () => {
  assert.deepEqual(parseModelUri('models:/fraud@champion'), { name: 'fraud', alias: 'champion' });
  assert.deepEqual(parseModelUri('models:/fraud/3'), { name: 'fraud', version: 3 });
  assert.deepEqual(parseModelUri('models:/fraud'), { name: 'fraud' });
  for (const bad of [
    'models:/',
    'models:fraud',
    'models:/fraud/0',
    'models:/fraud/x',
    'models:/fraud@',
    'models:/a/b/c',
    'model:/x@y',
    'models:/../x',
    'models:/fraud@1bad',
  ]) {
    assert.throws(
      () => parseModelUri(bad),
      (e: unknown) => e instanceof TrackingError && e.status === 400 && e.message.includes(bad),
      bad,
    );
  }
});

test('register versions from a run, move aliases, resolve URIs to ONNX files', async () => {
  const tmp = tempSqlite();
  const store = await tmp.open();
  try {
    const run = await startRun(store, {
      systemMetricsMs: 0,
      handleExit: false,
      git: false,
      params: { lr: 0.1 },
      seed: 1,
    });
    run.logMetric('val/acc', 0.91);
    const f1 = join(tmp.dir, 'model.onnx');
    writeFileSync(f1, 'v1');
    await run.logArtifact(f1);
    await run.end();
    const signature = {
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 784] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
    };
    const v1 = await registerModel(store, {
      name: 'fmnist',
      runId: run.id,
      onnx: 'model.onnx',
      signature,
      aliases: ['champion'],
    });
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.metrics, { 'val/acc': 0.91 });
    assert.equal(v1.lineage?.seed, 1);
    const f2 = join(tmp.dir, 'v2.onnx');
    writeFileSync(f2, 'v2');
    const v2 = await registerModel(store, { name: 'fmnist', onnx: f2, aliases: ['challenger'] });
    assert.equal(v2.version, 2);
    const champ = await resolveModelUri('models:/fmnist@champion', store);
    assert.equal(readFileSync(champ.onnxPath, 'utf8'), 'v1');
    assert.deepEqual(champ.signature, signature);
    assert.equal(readFileSync((await resolveModelUri('models:/fmnist/2', store)).onnxPath, 'utf8'), 'v2');
    assert.equal((await resolveModelUri('models:/fmnist', store)).version, 2);
    await store.setAlias('fmnist', 'champion', 2);
    assert.equal((await resolveModelUri('models:/fmnist@champion', store)).version, 2);
    const resolver = registryResolver(store);
    assert.equal(await resolver.resolve('/tmp/x.onnx'), undefined);
    assert.deepEqual(
      (await resolver.resolve('models:/fmnist@champion'))!.map((v) => v.version),
      ['2'],
    );
    assert.deepEqual(
      (await resolver.resolve('models:/fmnist'))!.map((v) => v.version),
      ['1', '2'],
    );
    await assert.rejects(resolveModelUri('models:/fmnist@staging', store), /no alias 'staging'/);
    await assert.rejects(resolveModelUri('models:/ghost@champion', store), /'ghost' not found/);
    await assert.rejects(resolveModelUri('models:/fmnist/9', store), /no version 9/);
    await assert.rejects(registerModel(store, { name: 'bad name', onnx: f2 }), /model name/);
    await assert.rejects(registerModel(store, { name: 'x', onnx: join(tmp.dir, 'nope.onnx') }), /neither an artifact/);
    await assert.rejects(registerModel(store, { name: 'x', onnx: join(tmp.dir, 'weights.bin') }), /\.onnx/);
  } finally {
    await store.close();
    await tmp.cleanup();
  }
});
