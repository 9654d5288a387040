// A worker thread that owns one ONNX Runtime session. ORT's run() blocks its thread, so sessions
// live here and the event loop only routes and batches. Buffers travel by transfer, not copy.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { createSession } from '../runtime/session.js';
import type { FromWorker, ToWorker, WireTensor, WireValueInfo, WorkerInit } from './worker-messages.js';
import type { TypedArray } from './tensor.js';

const init = workerData as WorkerInit;
if (parentPort === null) throw new Error('session-worker runs only as a worker thread, started by lathe serve');
const port = parentPort;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function describe(list: readonly ort.InferenceSession.ValueMetadata[]): WireValueInfo[] {
  return list.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

/** Transferable buffer of a typed array when it owns its whole (non-shared) buffer; else a fresh copy. */
function owned(data: TypedArray): TypedArray {
  const buf = data.buffer;
  if (buf instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buf.byteLength) return data;
  return data.slice() as TypedArray;
}

try {
  // ORT's own error lines (stderr, outside pino) would repeat every failed request; the server logs each
  // failure itself with its request id, so only fatal ones are printed.
  const session = await createSession(init.modelPath, { ...init.session, logSeverity: 4 });
  post({ kind: 'loaded', inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) });
  port.on('message', (msg: ToWorker) => {
    void (async () => {
      try {
        const feeds: Record<string, ort.Tensor> = {};
        for (const t of msg.feeds)
          feeds[t.name] = new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
        const t0 = performance.now();
        const result = await session.run(feeds, msg.fetches as string[]);
        const runMs = performance.now() - t0;
        const outputs: WireTensor[] = [];
        const transfer: ArrayBuffer[] = [];
        for (const name of msg.fetches) {
          const t = result[name];
          const data = owned(t.data as TypedArray);
          outputs.push({ name, type: t.type as WireTensor['type'], dims: [...t.dims], data });
          transfer.push(data.buffer as ArrayBuffer);
        }
        post({ kind: 'result', id: msg.id, outputs, runMs }, transfer);
      } catch (err) {
        post({ kind: 'run-error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
} catch (err) {
  post({ kind: 'load-error', message: err instanceof Error ? err.message : String(err) });
}
