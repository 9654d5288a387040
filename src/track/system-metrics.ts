// Process and machine load, sampled on a timer into `sys/*` metrics.
import { cpus, freemem, totalmem } from 'node:os';

/** Returns a sampler: each call gives CPU use of this process since the last call (percent of one core), RSS and machine memory use. */
export function systemSampler(): () => Record<string, number> {
  let lastCpu = process.cpuUsage();
  let lastTime = process.hrtime.bigint();
  const cores = Math.max(1, cpus().length);
  return () => {
    const cpu = process.cpuUsage(lastCpu);
    const now = process.hrtime.bigint();
    const wallUs = Number(now - lastTime) / 1000;
    lastCpu = process.cpuUsage();
    lastTime = now;
    const mem = process.memoryUsage();
    return {
      'sys/cpu_percent': wallUs > 0 ? (100 * (cpu.user + cpu.system)) / wallUs : 0,
      'sys/cpu_cores': cores,
      'sys/rss_mb': mem.rss / 2 ** 20,
      'sys/heap_mb': mem.heapUsed / 2 ** 20,
      'sys/machine_mem_percent': (100 * (totalmem() - freemem())) / totalmem(),
    };
  };
}
