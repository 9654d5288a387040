// Fault injection for crash tests. With LATHE_FAILPOINT="<name>:<n>" the process SIGKILLs itself the n-th time
// (1-based) it reaches `failpoint(name)`; unset, a failpoint is one comparison. Checkpoint writes mark their steps
// with failpoints so the torture test can kill a run between any two of them (test/train/checkpoint-torture).
let spec: { name: string; n: number } | null | undefined;
const counts = new Map<string, number>();

/**
 * Marks a crash-test point: when LATHE_FAILPOINT is `<name>:<n>`, the process SIGKILLs itself the n-th time it
 * reaches `failpoint(name)`; otherwise it returns at once.
 */
export function failpoint(name: string): void {
  if (spec === undefined) {
    const m = /^([\w:.-]+):(\d+)$/.exec(process.env.LATHE_FAILPOINT ?? '');
    spec = m ? { name: m[1], n: Number(m[2]) } : null;
  }
  if (spec === null || spec.name !== name) return;
  const c = (counts.get(name) ?? 0) + 1;
  counts.set(name, c);
  if (c === spec.n) process.kill(process.pid, 'SIGKILL');
}
