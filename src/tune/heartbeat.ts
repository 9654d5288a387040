// Heartbeats of running trials. A worker beats every `intervalMs` for each trial it runs; any worker fails (and,
// when asked, re-queues) RUNNING trials whose last beat is older than `graceMs` — so a trial whose process was
// killed is neither lost nor counted twice (its late result, if any, is refused by Storage.finishTrial).
import { hostname } from 'node:os';
import type { Storage } from './storage/storage.js';

export interface HeartbeatOptions {
  /** How often a running trial beats (default 5,000 ms). */
  readonly intervalMs?: number;
  /** A RUNNING trial silent this long is FAILED (default 6 × interval). */
  readonly graceMs?: number;
  /** Re-queue the parameters of a trial failed this way as a new WAITING trial (default false). */
  readonly requeue?: boolean;
}

export interface ResolvedHeartbeat {
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly requeue: boolean;
}

export function resolveHeartbeat(h: HeartbeatOptions | false | undefined, storage: Storage): ResolvedHeartbeat | null {
  if (h === false || (h === undefined && storage.kind === 'memory')) return null;
  const intervalMs = h?.intervalMs ?? 5000;
  if (!(intervalMs > 0)) throw new RangeError(`heartbeat.intervalMs must be > 0, got ${intervalMs}`);
  const graceMs = h?.graceMs ?? intervalMs * 6;
  if (!(graceMs > intervalMs)) throw new RangeError(`heartbeat.graceMs (${graceMs}) must exceed intervalMs (${intervalMs})`);
  return { intervalMs, graceMs, requeue: h?.requeue ?? false };
}

let workerSeq = 0;
/** A worker id unique across machines and processes: host:pid:n. */
export function workerId(): string {
  return `${hostname()}:${process.pid}:${workerSeq++}`;
}

/** Beats for the trials this process runs, from one unref'd timer. */
export class Heartbeat {
  private readonly active = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly storage: Storage, private readonly intervalMs: number) {}

  start(trialId: number): void {
    this.active.add(trialId);
    void this.storage.heartbeat(trialId).catch(() => undefined);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const id of this.active) void this.storage.heartbeat(id).catch(() => undefined);
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  stop(trialId: number): void {
    this.active.delete(trialId);
    if (this.active.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
