// Who this process is in a data-parallel job and where the group meets: from flags (--rank, --world-size, --master)
// or, when they are absent, the environment variables that torchrun, Kubeflow's PyTorchJob, JobSet and Indexed Jobs
// set (MASTER_ADDR, MASTER_PORT, RANK or JOB_COMPLETION_INDEX, WORLD_SIZE).
import { UserError } from '../util/errors.js';

/** A rank's place in the group and the rendezvous address (rank 0 listens there). */
export interface RendezvousSpec {
  readonly rank: number;
  readonly worldSize: number;
  readonly masterAddr: string;
  readonly masterPort: number;
}

/** Flags that override the environment; each may be absent. */
export interface RendezvousFlags {
  readonly rank?: string;
  readonly worldSize?: string;
  /** `host:port`. */
  readonly master?: string;
}

const int = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${name}: expected an integer ≥ ${min}, got ${v}`);
  return n;
};

/**
 * The rendezvous spec from flags, else from the environment, or undefined when neither names a world size (a plain
 * single-process run). Inconsistent or partial settings are a UserError naming the flag or variable.
 */
export function resolveRendezvous(
  flags: RendezvousFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RendezvousSpec | undefined {
  const ws = flags.worldSize ?? env.WORLD_SIZE;
  if (ws === undefined) {
    if (flags.rank !== undefined || flags.master !== undefined)
      throw new UserError('--world-size: required with --rank or --master (or set WORLD_SIZE)');
    return undefined;
  }
  const worldSize = int(flags.worldSize !== undefined ? '--world-size' : 'WORLD_SIZE', ws, 1);
  const rankSrc =
    flags.rank !== undefined
      ? (['--rank', flags.rank] as const)
      : env.RANK !== undefined
        ? (['RANK', env.RANK] as const)
        : env.JOB_COMPLETION_INDEX !== undefined
          ? (['JOB_COMPLETION_INDEX', env.JOB_COMPLETION_INDEX] as const)
          : undefined;
  if (!rankSrc) throw new UserError('--rank: required with --world-size (or set RANK or JOB_COMPLETION_INDEX)');
  const rank = int(rankSrc[0], rankSrc[1], 0);
  if (rank >= worldSize) throw new UserError(`${rankSrc[0]}: rank ${rank} is outside the world of ${worldSize}`);
  let host: string | undefined;
  let port: string | undefined;
  let portName = 'MASTER_PORT';
  if (flags.master !== undefined) {
    const m = /^(.+):(\d+)$/.exec(flags.master);
    if (!m) throw new UserError(`--master: expected host:port, got ${flags.master}`);
    [, host, port] = m;
    portName = '--master';
  } else {
    host = env.MASTER_ADDR;
    port = env.MASTER_PORT;
  }
  if (worldSize > 1 && !host) throw new UserError('--master: required with --world-size > 1 (or set MASTER_ADDR)');
  if (worldSize > 1 && !port) throw new UserError('--master: a port is required (or set MASTER_PORT)');
  const masterPort = port ? int(portName, port, 1) : 0;
  if (masterPort > 65535) throw new UserError(`${portName}: port ${masterPort} is above 65535`);
  return { rank, worldSize, masterAddr: host ?? '127.0.0.1', masterPort };
}
