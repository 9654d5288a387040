// Per-rank system metrics of a data-parallel job: at each epoch's end every rank contributes its process's CPU use
// over the epoch and its resident memory, gathered through the collective, so that rank 0 (the only rank that
// tracks) logs every rank's load as `sys/rank<r>/cpu_percent` and `sys/rank<r>/rss_mb`.
import type { Collective } from '../distributed/collective.js';

/** Samples this process's load since the previous gather and gathers every rank's. */
export class RankSystemMetrics {
  private cpu = process.cpuUsage();
  private time = performance.now();

  /** Every rank's CPU percent (of one core) since the last call and RSS in MiB; every rank must call it together. */
  async gather(c: Collective): Promise<Record<string, number>> {
    const cpu = process.cpuUsage(this.cpu);
    const now = performance.now();
    const wallUs = (now - this.time) * 1000;
    this.cpu = process.cpuUsage();
    this.time = now;
    const local = Float32Array.of(
      wallUs > 0 ? (100 * (cpu.user + cpu.system)) / wallUs : 0,
      process.memoryUsage().rss / 2 ** 20,
    );
    const all = await c.allGather(local, 'per-rank system metrics');
    const out: Record<string, number> = {};
    for (let r = 0; r < c.worldSize; r++) {
      out[`sys/rank${r}/cpu_percent`] = all[2 * r];
      out[`sys/rank${r}/rss_mb`] = all[2 * r + 1];
    }
    return out;
  }
}
