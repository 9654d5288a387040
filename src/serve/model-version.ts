// One loaded version of a model: its worker pool, batcher, cache and signature.
import { DynamicBatcher, type BatchInfo, type BatchObserver } from './batcher.js';
import { ResponseCache } from './cache.js';
import type { ModelConfig } from './config.js';
import { OIP_DTYPE } from '../graph/dtype.js';
import { InstancePool } from './pool.js';
import { signatureOf } from './signature.js';
import type { WireTensor } from './worker-messages.js';
import { mtimeOf } from './resolver.js';
import { allocateOip, elementCount, type HostTensor, type ModelSignature } from './tensor.js';

export type VersionState = 'loading' | 'ready' | 'draining' | 'unloaded';

export class ModelVersion {
  state: VersionState = 'loading';
  /** Modification time of the file when loaded (a reload picks up a file replaced in place). */
  readonly mtimeMs: number;
  readonly batcher: DynamicBatcher;
  readonly cache: ResponseCache<HostTensor[]> | undefined;

  private constructor(
    readonly name: string,
    readonly version: string,
    readonly path: string,
    readonly config: ModelConfig,
    readonly signature: ModelSignature,
    private readonly pool: InstancePool,
    observer: BatchObserver | undefined,
  ) {
    this.batcher = new DynamicBatcher(`${name}/${version}`, signature, pool, config.batching, observer);
    this.cache = config.cache ? new ResponseCache(config.cache) : undefined;
    this.mtimeMs = mtimeOf(path);
  }

  /** Starts the workers, reads the signature and warms every instance; `state` is 'ready' on return. */
  static async load(
    name: string,
    version: string,
    path: string,
    config: ModelConfig,
    observer?: (v: { name: string; version: string }) => BatchObserver,
  ): Promise<ModelVersion> {
    const pool = await InstancePool.start({
      modelPath: path,
      instances: config.instances,
      intraOpThreads: config.intraOpThreads,
      spinning: config.spinning,
      device: config.device,
      inflight: config.inflight,
    });
    try {
      const sig = signatureOf(pool.io, path);
      const mv = new ModelVersion(name, version, path, config, sig, pool, observer?.({ name, version }));
      await mv.warmUp();
      mv.state = 'ready';
      return mv;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** Seconds each instance has spent in session runs since it started. */
  busySeconds(): number[] {
    return this.pool.busySeconds();
  }

  get maxBatchSize(): number {
    return this.signature.batchable ? this.config.batching.maxBatchSize : 1;
  }

  /** Runs zero-filled inputs on every instance (dynamic dimensions = 1, batch = 1 and the max batch size). */
  private async warmUp(): Promise<void> {
    const sizes = [...new Set([1, this.maxBatchSize])];
    for (let r = 0; r < this.config.warmup.runs; r++) {
      for (const rows of sizes) {
        // Fresh buffers per instance: feeds are transferred to the worker.
        const feeds = (): WireTensor[] =>
          this.signature.inputs.map((s) => {
            const dims = s.shape.map((d, i) => (i === 0 && this.signature.batchable ? rows : d < 0 ? 1 : d));
            return {
              name: s.name,
              type: OIP_DTYPE[s.datatype],
              dims,
              data: allocateOip(s.datatype, elementCount(dims)),
            };
          });
        const fetches = this.signature.outputs.map((o) => o.name);
        try {
          await Promise.all(Array.from({ length: this.pool.size }, () => this.pool.run(feeds(), fetches)));
        } catch (err) {
          throw new Error(`warm-up of ${this.name}/${this.version} (${this.path}) failed: ${(err as Error).message}`);
        }
      }
    }
  }

  /** Queues validated inputs (signature order). */
  infer(inputs: readonly HostTensor[], timeoutMs: number): Promise<{ outputs: HostTensor[]; info: BatchInfo }> {
    return this.batcher.submit(inputs, timeoutMs);
  }

  /** Stops taking work, waits for queued and running requests, then ends the workers. */
  async retire(): Promise<void> {
    this.state = 'draining';
    await this.batcher.drain();
    this.state = 'unloaded';
    await this.pool.close();
  }
}
