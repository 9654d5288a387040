// Worker entry of DataLoader: rebuilds the source from its spec, builds requested batches, transfers buffers.
import { parentPort, workerData } from 'node:worker_threads';
import { buildBatch, defaultCollate, loadSource, type SourceSpec } from './loader.js';

const { spec, seed } = workerData as { spec: SourceSpec; seed: number };
const source = loadSource(spec);

parentPort!.on('message', async (m: { id: number; epoch: number; indices: Uint32Array }) => {
  try {
    const batch = await buildBatch(await source, m.indices, m.epoch, seed, defaultCollate);
    const transfer = Object.values(batch).map((a) => (a.data as ArrayBufferView).buffer as ArrayBuffer);
    parentPort!.postMessage({ id: m.id, batch }, transfer);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: (err as Error).message });
  }
});
