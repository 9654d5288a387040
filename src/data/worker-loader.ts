// Worker entry of DataLoader: rebuilds the dataset from its spec, builds requested batches, transfers buffers.
import { parentPort, workerData } from 'node:worker_threads';
import { buildBatch, loadSource, type SourceSpec } from './loader.js';

const { spec, seed } = workerData as { spec: SourceSpec; seed: number };
const source = loadSource(spec);
source.catch(() => undefined); // reported per request below

parentPort!.on('message', async (m: { id: number; epoch: number; batch: number; indices: Uint32Array }) => {
  try {
    const batch = await buildBatch(await source, m.indices, m.epoch, seed, undefined, m.batch);
    const buffers = new Set(Object.values(batch).map((a) => (a.data as ArrayBufferView).buffer as ArrayBuffer));
    parentPort!.postMessage({ id: m.id, batch }, [...buffers].filter((b) => !(b instanceof SharedArrayBuffer)));
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message });
  }
});
