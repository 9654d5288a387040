// A small tracking store with runs, metrics, artifacts, models and a study: for server, browser and CLI tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  InMemoryStudySource,
  registerModel,
  startRun,
  type TrackingStore,
  type TrialRecord,
} from '../../src/track/index.js';

export async function seedStore(store: TrackingStore, dir: string): Promise<{ runIds: string[] }> {
  const runIds: string[] = [];
  for (let i = 0; i < 12; i++) {
    const lr = [0.001, 0.003, 0.01, 0.03][i % 4];
    const run = await startRun(store, {
      experiment: i < 8 ? 'fmnist-mlp' : 'fmnist-cnn',
      name: `trial-${i}`,
      params: { lr, batch: 64 * (1 + (i % 2)), optimizer: i % 3 ? 'adam' : 'sgd' },
      seed: i,
      config: { model: 'mlp', lr, seed: i },
      dataset: { name: 'fashion-mnist-subset', fingerprint: `sha256:${'5e'.repeat(32)}` },
      git: false,
      systemMetricsMs: 0,
      handleExit: false,
      tags: { stage: i % 2 ? 'sweep' : 'baseline' },
    });
    for (let s = 0; s < 60; s++) {
      const loss = 2.3 * Math.exp(-s * lr * 8) + 0.2 + 0.02 * Math.sin(s + i);
      run.logMetrics({ 'train/loss': loss, 'val/acc': 1 - loss / 2.6 }, s);
    }
    if (i === 0) {
      const f = join(dir, 'model.onnx');
      writeFileSync(f, 'onnx-bytes');
      await run.logArtifact(f);
      await run.logArtifactBytes('reports/summary.json', new TextEncoder().encode('{"ok":true}'));
    }
    await run.end(i === 5 ? 'failed' : 'finished');
    runIds.push(run.id);
  }
  await registerModel(store, {
    name: 'fmnist-mlp',
    runId: runIds[0],
    onnx: 'model.onnx',
    aliases: ['champion'],
    signature: {
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 784] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
    },
  });
  // the second version reads its signature from the ONNX file, as `lathe registry register` does
  await registerModel(store, {
    name: 'fmnist-mlp',
    runId: runIds[0],
    onnx: 'model.onnx',
    aliases: ['challenger'],
    signatureOf: () => ({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 784] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
    }),
  });
  return { runIds };
}

export function seedStudies(): InMemoryStudySource {
  const trials: TrialRecord[] = [];
  const multi: TrialRecord[] = [];
  let seed = 7;
  const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 40; i++) {
    const lr = 10 ** (-4 + 3 * rand()),
      width = [64, 128, 256][i % 3],
      opt = i % 2 ? 'adam' : 'sgd';
    const loss = Math.abs(Math.log10(lr) + 2.5) * 0.3 + 0.2 + 0.05 * rand() - (opt === 'adam' ? 0.05 : 0);
    trials.push({
      number: i,
      state: i % 9 === 8 ? 'PRUNED' : 'COMPLETE',
      params: { lr, width, optimizer: opt },
      values: i % 9 === 8 ? null : [loss],
      logParams: ['lr'],
      intermediate: Array.from({ length: i % 9 === 8 ? 2 : 5 }, (_, s) => [s, loss + 0.5 / (s + 1)] as const),
      startedAt: 1_700_000_000_000 + i * 60_000,
      completedAt: 1_700_000_000_000 + i * 60_000 + 30_000 + i * 500,
    });
    multi.push({ number: i, state: 'COMPLETE', params: { lr, width }, values: [loss, width * (1 + rand())] });
  }
  return new InMemoryStudySource()
    .add({ id: 'mlp-lr', name: 'mlp-lr', directions: ['minimize'] }, trials)
    .add({ id: 'size-vs-loss', name: 'size-vs-loss', directions: ['minimize', 'minimize'] }, multi);
}
