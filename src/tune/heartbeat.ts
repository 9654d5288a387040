// Heartbeats of running trials. A worker beats every `intervalMs` for each trial it runs; any worker fails (and,
// when asked, re-queues) RUNNING trials whose last beat is older than `graceMs` — so a trial whose process was
// killed is neither lost nor counted twice (its late result, if any, is refused by Storage.finishTrial).
import { hostname } from 'node:os';
import type { Storage } from './storage/storage.js';

/**
 * Heartbeats of running trials: how often they beat, how long a silent trial lives, and whether its parameters are
 * re-queued when it is failed.
 */
export interface HeartbeatOptions {
  /** How often a running trial beats (default 5,000 ms). */
  readonly intervalMs?: number;
  /** A RUNNING trial silent this long is FAILED (default 6 × interval). */
  readonly graceMs?: number;
  /**
   * Re-queue the parameters of a trial failed this way as a new WAITING trial: `true` or a number is how many times
   * one parameter set may be retried (true: 2), `false` never. Default 2, so a killed worker loses no trial.
   */
  readonly requeue?: boolean | number;
}

/** Times a parameter set is re-queued after its trial's worker died, unless configured otherwise. */
const DEFAULT_MAX_RETRIES = 2;

export interface ResolvedHeartbeat {
  readonly intervalMs: number;
  readonly graceMs: number;
  /** How many times one parameter set may be re-queued (0: never). */
  readonly maxRetries: number;
}

export function resolveHeartbeat(h: HeartbeatOptions | false | undefined, storage: Storage): ResolvedHeartbeat | null {
  if (h === false || (h === undefined && storage.kind === 'memory')) return null;
  const intervalMs = h?.intervalMs ?? 5000;
  if (!(intervalMs > 0)) throw new RangeError(`heartbeat.intervalMs must be > 0, got ${intervalMs}`);
  const graceMs = h?.graceMs ?? intervalMs * 6;
  if (!(graceMs > intervalMs))
    throw new RangeError(`heartbeat.graceMs (${graceMs}) must exceed intervalMs (${intervalMs})`);
  const r = h?.requeue ?? DEFAULT_MAX_RETRIES;
  const maxRetries = r === true ? DEFAULT_MAX_RETRIES : r === false ? 0 : r;
  if (!(Number.isInteger(maxRetries) && maxRetries >= 0))
    throw new RangeError(`heartbeat.requeue must be a boolean or a non-negative integer, got ${r}`);
  return { intervalMs, graceMs, maxRetries };
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

  constructor(
    private readonly storage: Storage,
    private readonly intervalMs: number,
  ) {}

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
