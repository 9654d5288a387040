// Worker entry of DataLoader: rebuilds the dataset from its spec, builds requested batches, transfers buffers.
import { parentPort, workerData } from 'node:worker_threads';
import { buildBatchReport, loadSource, SampleError, type SourceSpec, type WorkerReply } from './loader.js';

const { spec, seed, skipErrors } = workerData as { spec: SourceSpec; seed: number; skipErrors: boolean };
const source = loadSource(spec);
source.catch(() => undefined); // reported per request below

parentPort!.on('message', async (m: { id: number; epoch: number; batch: number; indices: Uint32Array }) => {
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const built = await buildBatchReport(await source, m.indices, m.epoch, seed, { batch: m.batch, skipErrors });
    const buffers = new Set(
      Object.values(built.batch ?? {}).map((a) => (a.data as ArrayBufferView).buffer as ArrayBuffer),
    );
    transfer = [...buffers].filter((b) => !(b instanceof SharedArrayBuffer));
    reply = { id: m.id, built };
  } catch (err) {
    const e = err as Error;
    reply = {
      id: m.id,
      error:
        e instanceof SampleError
          ? { message: e.message, index: e.index, file: e.file }
          : { message: e.message ?? String(err) },
    };
  }
  parentPort!.postMessage(reply, transfer);
});
