// Runs the PyTorch peer in the same benchmark run, at its best: 1 and 2 threads with OMP_WAIT_POLICY=PASSIVE.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-root.js';

export interface PeerResult {
  readonly samples_per_s: number;
  readonly ms_per_step: number;
  readonly threads: number;
}

// Which BLAS library the PyTorch process maps after a matmul: Debian's torch links the libblas.so.3 alternative,
// and with only `libblas3` installed that is the unoptimised reference BLAS (a Linear/LSTM step 10× slower), which
// would turn every ratio into a flattering fiction.
const BLAS_PROBE = `import torch
torch.ones(64, 64) @ torch.ones(64, 64)
maps = open('/proc/self/maps').read()
print('openblas' if 'openblas' in maps else 'mkl' if 'libmkl' in maps else 'reference' if 'blas/libblas' in maps else 'unknown')`;

/**
 * Whether PyTorch can be the peer: installed, and linked to an optimised BLAS. With the reference BLAS it throws
 * (install libopenblas0-pthread) rather than report a ratio against a crippled peer.
 */
export function torchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', BLAS_PROBE], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  if (r.stdout.trim() === 'reference')
    throw new Error(
      'PyTorch runs on the reference BLAS (Debian libblas3), far from its best: `apt-get install libopenblas0-pthread` before benchmarking',
    );
  return true;
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
