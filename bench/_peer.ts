// Runs the PyTorch peer in the same benchmark run, at its best: 1 and 2 threads with OMP_WAIT_POLICY=PASSIVE.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-root.js';

export interface PeerResult {
  readonly samples_per_s: number;
  readonly ms_per_step: number;
  readonly threads: number;
}

export function torchAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Best of the thread settings, or null when PyTorch is not installed. */
export function torchPeer(workload: string, steps: number, reps: number): PeerResult | null {
  if (!torchAvailable()) return null;
  const script = join(packageRoot(), 'bench', 'peers', 'torch_train.py');
  let best: PeerResult | null = null;
  for (const threads of [1, 2]) {
    const r = spawnSync('/usr/bin/python3', [script, workload, String(threads), String(steps), String(reps)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`PyTorch peer failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
    if (!best || res.samples_per_s > best.samples_per_s) best = res;
  }
  return best;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function report(json: boolean, line: Record<string, unknown>, human: string): void {
  console.log(json ? JSON.stringify(line) : human);
}

