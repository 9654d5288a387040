// Wall-clock timing for design's latency and step estimates and profile's measured suggestions.

/** The median of `xs` (the upper middle for an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Median milliseconds of `run()` over `reps` calls, after `warmup` unmeasured calls. */
export async function medianMs(run: () => Promise<unknown>, reps: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}
